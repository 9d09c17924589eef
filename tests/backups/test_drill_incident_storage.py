"""A failed drill of a storage other than the primary tells the operator how to drill that
storage again: its incident's next step carries ``--storage``."""

from __future__ import annotations

from typing import Any

import pytest

from nzila_ops.backups.drills import run_drill
from nzila_ops.models import Incident

pytestmark = pytest.mark.postgres


def test_a_failed_drill_of_a_copy_names_its_storage_in_the_next_step(
    two_storages: Any, transactional_db: Any
) -> None:
    assert run_drill("default", storage="secondary").result == "failed"  # nothing there
    incident = Incident.objects.get(component="drill:default@secondary")
    assert incident.title == "DR drill of 'default' from storage 'secondary' FAILED"
    detail = incident.events.get(kind="opened").detail
    next_step = detail.split("Next step: ", 1)[1]
    assert "`python manage.py run_dr_drill --storage secondary --database default`" in next_step
    assert "`python manage.py verify_backup --latest --storage secondary`" in next_step


def test_a_failed_drill_of_the_primary_says_no_storage(ops_settings: Any, transactional_db: Any):
    assert run_drill("default").result == "failed"
    incident = Incident.objects.get(component="drill:default")
    assert incident.title == "DR drill of 'default' FAILED"
    detail = incident.events.get(kind="opened").detail
    assert "`python manage.py run_dr_drill --database default`" in detail
    assert "--storage" not in detail
