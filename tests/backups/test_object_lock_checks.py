"""check --deploy: the app's credentials write, read and delete in every storage (E008), and a
storage asking for object lock has a bucket that locks (E009). Plain checks, which run before
every manage.py command, never talk to the storages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.checks import run_checks

from tests.support.s3 import free_port

pytestmark = pytest.mark.s3


def found(deploy: bool = True) -> list[tuple[str, str]]:
    ids = ("nzila_ops.E008", "nzila_ops.E009")
    return [(m.id, m.msg) for m in run_checks(include_deployment_checks=deploy) if m.id in ids]


def test_a_locked_bucket_and_working_credentials_pass(
    settings: Any, lock_bucket: str, s3_client: Any
) -> None:
    settings.NZILA_OPS = {"STORAGES": {"default": f"s3://{lock_bucket}/p?object_lock=governance"}}
    assert found() == []
    assert s3_client.list_object_versions(Bucket=lock_bucket).get("Versions", []) == []


def test_a_bucket_without_object_lock_is_e009_on_deploy_only(settings: Any, s3_bucket: str) -> None:
    settings.NZILA_OPS = {"STORAGES": {"default": f"s3://{s3_bucket}/p?object_lock=compliance"}}
    ((check_id, message),) = found()
    assert check_id == "nzila_ops.E009"
    assert f"'{s3_bucket}' has no Object Lock configuration" in message
    assert "object_lock=compliance" in message
    assert found(deploy=False) == []


def test_a_storage_the_credentials_cannot_reach_is_e008_naming_the_copy_target(
    settings: Any, tmp_path: Path, aws_env: str
) -> None:
    # Nothing listens there: what a wrong endpoint or a blocked network looks like. The plain
    # checks would hang on it if they talked to storages; they do not.
    dead = f"http://127.0.0.1:{free_port()}"
    settings.NZILA_OPS = {
        "STORAGES": {
            "default": f"file://{tmp_path}",
            "offsite": f"s3://b/p?endpoint_url={dead}&max_attempts=1&connect_timeout=1",
        },
        "COPY_STORAGES": ["offsite"],
    }
    assert found(deploy=False) == []
    ((check_id, message),) = found()
    assert check_id == "nzila_ops.E008"
    assert message.startswith("backup storage 'offsite' (s3://b/p): the app's credentials cannot")
    assert "cannot reach S3" in message
