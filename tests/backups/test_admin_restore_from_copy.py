"""The restore page offers the backup's copies, and restores from one when the primary storage
has lost the backup (as ``restore_database --storage``)."""

from __future__ import annotations

import shutil
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from nzila_ops.models import BackupCopy, RestoreRecord
from tests.backups.admin_restore_support import (
    ADDRESS,
    client_for,
    restore_url,
    take_backup,
)
from tests.backups.helpers import APP_TABLES
from tests.support import pg

pytestmark = pytest.mark.postgres


@pytest.mark.slow
def test_a_backup_lost_from_the_primary_is_restored_from_its_copy(
    ops_settings: Any,
    backup_dir: Path,
    second: Path,
    redis_cache: str,
    seeded_postgres: dict,
    live_db: str,
    operator: Any,
) -> None:
    client = client_for(operator)
    record = take_backup()
    assert BackupCopy.objects.get(backup=record).status == "succeeded"
    before = pg.snapshot(live_db, APP_TABLES)
    call_command("seed_demo", vehicles=330, stdout=StringIO())
    shutil.rmtree(backup_dir / "default")  # the primary lost it

    page = client.get(restore_url(record)).content.decode()
    assert 'id="ops-restore-problem"' in page and 'id="ops-restore-form"' not in page
    assert 'href="?storage=secondary"' in page
    page = client.get(restore_url(record), {"storage": "secondary"}).content.decode()
    assert 'id="ops-restore-form"' in page and "from storage &#x27;secondary&#x27;" in page

    response = client.post(restore_url(record), {"confirm": "RESTORE", "storage": "secondary"})

    assert response.status_code == 303
    assert pg.snapshot(live_db, APP_TABLES) == before
    audit = RestoreRecord.objects.get(backup_name=record.name)
    assert audit.result == "succeeded" and audit.verification["storage"] == "secondary"
    assert audit.requested_from == ADDRESS


def test_a_restore_from_a_copy_refused_by_the_worker_is_kept_in_that_copy(
    ops_settings: Any, backup_dir: Path, second: Path, redis_cache: str, transactional_db: Any
) -> None:
    """The primary may be the storage that is down: the refusal's history document goes to the
    storage the restore was asked from, and the row says which."""
    from nzila_ops.backups import restore_progress as progress_store
    from nzila_ops.backups.admin_restore_service import run_admin_restore
    from nzila_ops.exceptions import OpsError

    request_id = progress_store.new_request_id()
    assert progress_store.claim_restore("default", request_id) is None
    gone = "default-20261129T000000Z-manual-abcd"

    with pytest.raises(OpsError, match="no backup named"):
        run_admin_restore(request_id, "default", gone, "secondary", "olga", ADDRESS)

    audit = RestoreRecord.objects.get()
    assert (audit.result, audit.verification) == ("failed", {"storage": "secondary"})
    assert len(list((second / "_history" / "restores").glob("*.json"))) == 1
    assert not (backup_dir / "_history").exists()
