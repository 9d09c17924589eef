"""Shared steps of backup tests: find the stored object, damage it, turn it back into a dump by
hand, count the example project's rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.tools import decrypt_and_decompress


def only_manifest(backup_dir: Path, alias: str = "default") -> dict[str, Any]:
    manifests = sorted((backup_dir / alias).glob("*.manifest.json"))
    assert len(manifests) == 1, manifests
    return json.loads(manifests[0].read_text())


def stored_files(backup_dir: Path) -> list[str]:
    """Every file under the storage directory, hidden temporaries included."""
    if not backup_dir.exists():
        return []
    return sorted(
        p.relative_to(backup_dir).as_posix() for p in backup_dir.rglob("*") if p.is_file()
    )


def recover_by_hand(backup_dir: Path, manifest: dict[str, Any], identity: Path | None) -> Path:
    stored = backup_dir / manifest["object"]["key"]
    return decrypt_and_decompress(stored, identity, manifest["compression"]["algorithm"])


#: The example project's tables whose contents restores must bring back.
APP_TABLES = ["vehicles_vehicle", "deals_deal", "payments_payment"]


def flip_byte(path: Path, offset: int) -> None:
    """Invert one byte of a stored object (a negative offset counts from the end)."""
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def table_counts(alias: str) -> dict[str, int]:
    from deals.models import Deal
    from payments.models import Payment
    from vehicles.models import Vehicle

    return {
        model._meta.db_table: model.objects.using(alias).count()
        for model in (Vehicle, Deal, Payment)
    }
