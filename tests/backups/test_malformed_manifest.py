"""One malformed manifest (no finished_at, a naive one, a name that is not its key's, ...) is
skipped with a warning, and said so by list_backups, instead of crashing retention for every
storage after it; and one storage failing does not stop retention in the others: the command
exits 1 naming it."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from nzila_ops.backups.manifest import iter_manifests, manifest_key
from nzila_ops.backups.retention import enforce_retention_all
from nzila_ops.backups.storages import get_storage
from tests.backups.copies_support import add_file_storage, land_backup
from tests.support.s3 import free_port

pytestmark = pytest.mark.django_db(transaction=True)

NAME = "default-20261101T100000Z-hourly-beef"


def broken(manifest: dict[str, Any], fault: str) -> dict[str, Any]:
    bad = json.loads(json.dumps(manifest))
    bad["name"] = NAME
    bad["object"]["key"] = f"default/{NAME}.pgdump.zst.age"
    if fault == "no finished_at":
        del bad["finished_at"]
    elif fault == "naive finished_at":
        bad["finished_at"] = "2026-11-01T10:00:00"
    elif fault == "finished_at not a date":
        bad["finished_at"] = "yesterday"
    elif fault == "name not its key's":
        bad["name"] = "default-20261101T100000Z-hourly-dead"
    elif fault == "no database_alias":
        del bad["database_alias"]
    elif fault == "no object":
        del bad["object"]
    elif fault == "no object key":
        del bad["object"]["key"]
    elif fault == "stored_size a string":
        bad["object"]["stored_size"] = "12"
    elif fault == "sha256 not hex":
        bad["object"]["sha256"] = "x" * 64
    elif fault == "not a dict":
        return ["nzila-ops-backup"]  # type: ignore[return-value]
    return bad


FAULTS = [
    "no finished_at",
    "naive finished_at",
    "finished_at not a date",
    "name not its key's",
    "no database_alias",
    "no object",
    "no object key",
    "stored_size a string",
    "sha256 not hex",
    "not a dict",
]


def plant(storage_name: str | None, manifest: dict[str, Any], fault: str) -> str:
    storage = get_storage(storage_name)
    key = manifest_key("default", NAME)
    storage.write_bytes(key, json.dumps(broken(manifest, fault)).encode())
    return key


@pytest.fixture
def second(ops_settings: Any, tmp_path: Path) -> Any:
    """Here (unlike tests/backups/conftest.py's) the copy target is named ``second``, retention
    deletes at any age, and the fixture returns the settings."""
    add_file_storage(ops_settings, tmp_path, alias="second", RETENTION={"MIN_AGE_MINUTES": 0})
    return ops_settings


@pytest.mark.parametrize("fault", FAULTS)
def test_a_malformed_manifest_is_skipped_with_a_warning_and_retention_goes_on(
    second: Any, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    good = land_backup(size=1024)
    key = plant(None, good, fault)

    runs = enforce_retention_all()

    assert [(r.storage, r.error) for r in runs] == [("default", ""), ("second", "")]
    assert [d.name for d in runs[0].decisions] == [good["name"]]
    assert f"skipping {key}" in caplog.text
    assert [m["name"] for m in iter_manifests(get_storage())] == [good["name"]]


def test_list_backups_says_a_manifest_was_skipped(second: Any) -> None:
    good = land_backup(size=1024)
    key = plant(None, good, "naive finished_at")
    out, err = StringIO(), StringIO()

    call_command("list_backups", stdout=out, stderr=err)

    assert good["name"] in out.getvalue()
    assert f"skipped 1 manifest that is not valid: {key} (" in err.getvalue()
    assert "finished_at" in err.getvalue()


def test_one_storage_failing_does_not_stop_retention_in_the_others(
    second: Any, aws_env: str
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    second.NZILA_OPS = {
        **second.NZILA_OPS,
        "STORAGES": {
            **second.NZILA_OPS["STORAGES"],
            "dead": f"s3://b/p?endpoint_url={dead}&max_attempts=1&connect_timeout=1",
        },
        "COPY_STORAGES": ["dead", "second"],
    }
    land_backup(size=1024)
    out = StringIO()

    with pytest.raises(CommandError) as caught:
        call_command("enforce_retention", stdout=out)

    assert "retention failed in storage dead" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert "database default in storage second:" in out.getvalue()
    assert "database default in storage dead: FAILED" in out.getvalue()
