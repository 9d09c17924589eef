"""list_backups shows each backup's copies (from the catalog: copies of the primary's backups)
only when listing the primary; a listing of a copy target has no COPIES column, which would
describe another storage's backups."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from nzila_ops.backups.copies import copy_backup
from tests.backups.copies_support import land_backup

pytestmark = pytest.mark.django_db


@pytest.fixture
def copied(ops_settings: Any, tmp_path: Path) -> dict[str, Any]:
    (tmp_path / "second").mkdir()
    ops_settings.NZILA_OPS = {
        **ops_settings.NZILA_OPS,
        "STORAGES": {
            **ops_settings.NZILA_OPS["STORAGES"],
            "secondary": f"file://{tmp_path}/second",
        },
        "COPY_STORAGES": ["secondary"],
    }
    manifest = land_backup(size=1 << 16)
    assert copy_backup(manifest["name"], "secondary").result == "copied"
    return manifest


def listing(*arguments: str) -> str:
    out = StringIO()
    call_command("list_backups", *arguments, stdout=out)
    return out.getvalue()


def test_the_primary_s_listing_shows_the_copies(copied: dict[str, Any]) -> None:
    header, row = listing().splitlines()
    assert header.endswith("  COPIES")
    assert row.startswith(copied["name"]) and row.endswith("  secondary:succeeded")
    assert listing("--storage", "default").splitlines()[0].endswith("  COPIES")


def test_a_copy_target_s_listing_has_no_copies_column(copied: dict[str, Any]) -> None:
    header, row = listing("--storage", "secondary").splitlines()
    assert header.endswith("ENC") and "COPIES" not in header
    assert row.startswith(copied["name"]) and row.endswith(
        "  no"
    )  # ENC last: the landed backup is unencrypted
    (backup,) = json.loads(listing("--storage", "secondary", "--json"))
    assert backup["name"] == copied["name"] and "copies" not in backup
