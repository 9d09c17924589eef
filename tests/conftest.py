from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from pyrage import x25519

from tests.backups.helpers import table_counts
from tests.support import pg
from tests.support.host import host_project  # noqa: F401  (a fixture)
from tests.support.s3 import free_port


@pytest.fixture(autouse=True)
def _drop_blob_tables() -> Iterator[None]:
    yield
    pg.drop_blobs()


@pytest.fixture(scope="session")
def age_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """(identity file, public recipient), as age-keygen would write them."""
    identity = x25519.Identity.generate()
    path = tmp_path_factory.mktemp("age") / "identity.txt"
    path.write_text(f"# public key: {identity.to_public()}\n{identity}\n")
    path.chmod(0o600)
    return path, str(identity.to_public())


@pytest.fixture
def backup_dir(tmp_path: Path) -> Path:
    (tmp_path / "backups").mkdir()
    return tmp_path / "backups"


@pytest.fixture
def ops_settings(settings: Any, backup_dir: Path, age_key: tuple[Path, str]) -> Any:
    """Local-filesystem storage in a fresh directory, encryption to the test key.

    Tests change a key with ``settings.NZILA_OPS = {**settings.NZILA_OPS, ...}`` so that Django
    sends setting_changed and the cached config is rebuilt."""
    identity_file, recipient = age_key
    settings.NZILA_OPS = {
        "STORAGES": {"default": f"file://{backup_dir}"},
        "AGE_RECIPIENTS": [recipient],
        "AGE_IDENTITY_FILE": str(identity_file),
    }
    return settings


@pytest.fixture
def seeded_postgres(transactional_db: Any) -> dict[str, int]:
    """Committed rows in the PostgreSQL test database, visible to pg_dump."""
    call_command("seed_demo", vehicles=300, database="default", stdout=StringIO())
    return table_counts("default")


@pytest.fixture
def seeded_sqlite(transactional_db: Any, django_db_blocker: Any) -> dict[str, int]:
    call_command("seed_demo", vehicles=200, database="sqlite", stdout=StringIO())
    return table_counts("sqlite")


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's S3 server in this process, spoken to over real HTTP by boto3."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, moto_endpoint: str) -> str:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    return moto_endpoint


@pytest.fixture
def s3_bucket(aws_env: str, request: pytest.FixtureRequest) -> str:
    import uuid

    import boto3

    name = f"nzila-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=aws_env, region_name="us-east-1").create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_client(aws_env: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=aws_env, region_name="us-east-1")
