"""Every fault gives one clear line, a non-zero exit, a failed record and no listed backup."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from django.core.management import CommandError, call_command
from django.db import connections

from nzila_ops.backups.catalog import list_backups
from nzila_ops.models import BackupRecord
from tests.backups.helpers import stored_files
from tests.support import pg
from tests.support.host import example_env, manage
from tests.support.s3 import FaultyProxy, free_port, moto_server_process

pytestmark = pytest.mark.postgres


def backup_fails(*args: str, code: int = 1) -> CommandError:
    """Exit status 1 for a failure, 2 for a wrong setting or argument (exceptions.py)."""
    with pytest.raises(CommandError) as caught:
        call_command("backup_database", *args)
    message = str(caught.value)
    assert "\n" not in message and message.strip(), message
    assert caught.value.returncode == code, message
    return caught.value


def assert_nothing_left(backup_dir: Path | None = None) -> None:
    assert list_backups() == []
    if backup_dir is not None:
        assert stored_files(backup_dir) == []


def only_failed_record() -> BackupRecord:
    record = BackupRecord.objects.get()
    assert record.status == "failed" and record.finished_at is not None and record.error
    return record


def test_unknown_alias_is_refused_before_anything_happens(ops_settings: Any, db: Any) -> None:
    error = backup_fails("--database", "nope", code=2)
    assert "unknown database alias 'nope'" in str(error) and error.returncode == 2
    assert not BackupRecord.objects.exists()


def test_unknown_type_is_refused_before_anything_happens(ops_settings: Any, db: Any) -> None:
    error = backup_fails("--type", "yearly", code=2)
    assert "unknown backup type 'yearly'" in str(error) and error.returncode == 2
    assert not BackupRecord.objects.exists()


def test_missing_pg_dump_is_named(
    ops_settings: Any, seeded_postgres: dict, backup_dir: Path
) -> None:
    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "PG_DUMP": "/nowhere/pg_dump"}
    error = backup_fails()
    assert "/nowhere/pg_dump not found" in str(error) and "postgresql-client" in str(error)
    assert "not found" in only_failed_record().error
    assert_nothing_left(backup_dir)


def test_pg_dump_older_than_the_server_is_refused(
    ops_settings: Any, seeded_postgres: dict, backup_dir: Path, tmp_path: Path
) -> None:
    # Stands in for an old postgresql-client package: it only answers --version.
    old = tmp_path / "pg_dump"
    old.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 12.22'\n")
    old.chmod(0o755)
    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "PG_DUMP": str(old)}
    error = backup_fails()
    assert "pg_dump 12.22 is older than the server (PostgreSQL 15." in str(error)
    only_failed_record()
    assert_nothing_left(backup_dir)


def test_pg_dump_failing_mid_way_is_named_and_leaves_nothing(
    ops_settings: Any, seeded_postgres: dict, backup_dir: Path, tmp_path: Path
) -> None:
    # Stands in for a pg_dump that dies part-way (a role without SELECT on a table, say): it
    # answers --version like the real one, writes some output, then reports an error.
    real = shutil.which("pg_dump")
    failing = tmp_path / "pg_dump"
    failing.write_text(
        "#!/bin/sh\n"
        f'[ "$1" = "--version" ] && exec {real} --version\n'
        "head -c 100000 /dev/urandom\n"
        'echo "pg_dump: error: query failed: ERROR:  permission denied for table secrets" >&2\n'
        "exit 1\n"
    )
    failing.chmod(0o755)
    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "PG_DUMP": str(failing)}
    error = backup_fails()
    assert str(error) == (
        "pg_dump failed: query failed: ERROR: permission denied for table secrets"
    )
    assert "permission denied" in only_failed_record().error
    assert_nothing_left(backup_dir)


@pytest.fixture
def dead_alias(settings: Any) -> Iterator[str]:
    settings.DATABASES["deadpg"] = {
        **connections["default"].settings_dict,
        "PORT": str(free_port()),
        "NAME": "gone",
    }
    yield "deadpg"
    del settings.DATABASES["deadpg"]
    del connections["deadpg"]


def test_unreachable_database_fails_cleanly(
    ops_settings: Any, transactional_db: Any, dead_alias: str, backup_dir: Path
) -> None:
    error = backup_fails("--database", dead_alias)
    assert f"cannot connect to database '{dead_alias}'" in str(error)
    assert "refused" in str(error).lower()
    assert only_failed_record().database_alias == dead_alias
    assert_nothing_left(backup_dir)


def test_invalid_age_recipient_is_refused(
    ops_settings: Any, seeded_postgres: dict, backup_dir: Path
) -> None:
    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "AGE_RECIPIENTS": ["age1notakey"]}
    error = backup_fails(code=2)
    assert "invalid age recipient 'age1notakey'" in str(error) and error.returncode == 2
    only_failed_record()
    assert_nothing_left(backup_dir)


def test_missing_bucket_is_named_first(
    ops_settings: Any, seeded_postgres: dict, aws_env: str, caplog: pytest.LogCaptureFixture
) -> None:
    ops_settings.NZILA_OPS = {
        **ops_settings.NZILA_OPS,
        "STORAGES": {"default": "s3://no-such-bucket/x"},
    }
    with caplog.at_level("WARNING", logger="nzila_ops.backups"):
        error = backup_fails()
    assert "S3 bucket 'no-such-bucket' does not exist" in str(error)
    assert "does not exist" in only_failed_record().error
    # The cause is the first thing logged; nothing was written, so no cleanup to fail.
    assert [r.getMessage() for r in caplog.records if r.name == "nzila_ops.backups"] == [
        "backup of default failed: S3 bucket 'no-such-bucket' does not exist"
    ]


def test_missing_aws_credentials_are_named(
    ops_settings: Any, seeded_postgres: dict, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance role to find either
    ops_settings.NZILA_OPS = {
        **ops_settings.NZILA_OPS,
        "STORAGES": {"default": f"s3://backups/x?endpoint_url={moto_endpoint}&region=us-east-1"},
    }
    error = backup_fails()
    assert str(error) == "no AWS credentials found (set AWS_ACCESS_KEY_ID or use a role)"
    only_failed_record()


def test_access_denied_to_the_bucket_is_named(
    ops_settings: Any, seeded_postgres: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    # A moto server that enforces IAM: its root credentials can create a bucket; unknown keys
    # are denied, as with a revoked key in production.
    with moto_server_process(INITIAL_NO_AUTH_ACTION_COUNT="1") as endpoint:
        admin = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
            aws_secret_access_key="x",
        )
        admin.create_bucket(Bucket="locked")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREVOKEDKEY000000")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "revoked")
        ops_settings.NZILA_OPS = {
            **ops_settings.NZILA_OPS,
            "STORAGES": {
                "default": f"s3://locked/backups?endpoint_url={endpoint}&region=us-east-1"
            },
        }
        error = backup_fails()
    assert "access denied to S3 bucket 'locked'" in str(error)
    only_failed_record()


def test_storage_failing_mid_upload_leaves_no_object(
    ops_settings: Any, seeded_postgres: dict, s3_bucket: str, s3_client: Any, aws_env: str
) -> None:
    pg.add_incompressible_rows(16)
    proxy = FaultyProxy(urlparse(aws_env).port)
    ops_settings.NZILA_OPS = {
        **ops_settings.NZILA_OPS,
        "STORAGES": {
            "default": f"s3://{s3_bucket}/p?endpoint_url={proxy.url}&part_size_mb=5&max_attempts=1"
        },
    }

    class BreakNetworkAfter6MB:
        def phase(self, name: str) -> None:
            pass

        def advance(self, done: int, total: int | None = None) -> None:
            if done > 6 << 20 and not proxy.resets and not proxy.armed.is_set():
                proxy.fail_next()

        def finish(self) -> None:
            pass

    from nzila_ops.backups.service import run_backup
    from nzila_ops.exceptions import StorageError

    try:
        with pytest.raises(StorageError) as caught:
            run_backup("default", progress=BreakNetworkAfter6MB())  # type: ignore[arg-type]
    finally:
        proxy.close()
    assert proxy.resets == 1
    assert f"bucket {s3_bucket!r}" in str(caught.value)
    only_failed_record()
    assert s3_client.list_objects_v2(Bucket=s3_bucket).get("KeyCount") == 0
    assert s3_client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "tiny"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {result.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


def test_local_disk_full_fails_cleanly_and_removes_the_partial_file(
    ops_settings: Any, seeded_postgres: dict, tiny_disk: Path
) -> None:
    pg.add_incompressible_rows(4)
    ops_settings.NZILA_OPS = {
        **ops_settings.NZILA_OPS,
        "STORAGES": {"default": f"file://{tiny_disk}"},
    }
    error = backup_fails()
    assert "local disk full" in str(error)
    only_failed_record()
    assert_nothing_left(tiny_disk)


def test_a_command_failure_is_one_line_on_stderr_with_exit_status(tmp_path: Path) -> None:
    env = example_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        NZILA_OPS_BACKUP_STORAGE=f"file://{tmp_path / 'backups'}",
    )
    result = manage(env, "backup_database", "--database", "replica", "--skip-checks")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "CommandError: unknown database alias 'replica' (configured: default)"
    )
    assert result.stdout == ""
