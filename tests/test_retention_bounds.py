"""Retention settings are bounded: a value whose keep-until date lies past year 9999 (datetime's
limit) is refused as a setting, instead of crashing a retention run after its deletions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from nzila_ops.backups.retention import BackupInfo, Policy, plan_retention
from nzila_ops.backups.retention_locks import keep_until
from nzila_ops.conf import get_config
from nzila_ops.exceptions import ConfigurationError

STORAGES = {"default": "file:///tmp/nzila-bounds"}
LIMITS = {"HOURLY": 24 * 366, "DAILY": 3660, "WEEKLY": 520, "MONTHLY": 120}


@pytest.mark.parametrize(("key", "limit"), sorted(LIMITS.items()))
@pytest.mark.parametrize("where", ["RETENTION", "STORAGE_RETENTION"])
def test_a_retention_value_past_its_bound_is_one_configuration_error(
    settings: Any, key: str, limit: int, where: str
) -> None:
    entries = {key: limit + 1}
    settings.NZILA_OPS = (
        {"RETENTION": entries}
        if where == "RETENTION"
        else {"STORAGES": STORAGES, "STORAGE_RETENTION": {"default": entries}}
    )
    with pytest.raises(ConfigurationError, match=rf"{key}.*{limit}") as caught:
        get_config()
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("where", ["RETENTION", "STORAGE_RETENTION"])
def test_the_largest_allowed_values_are_accepted_and_keep_until_stays_finite(
    settings: Any, where: str
) -> None:
    settings.NZILA_OPS = (
        {"RETENTION": LIMITS}
        if where == "RETENTION"
        else {"STORAGES": STORAGES, "STORAGE_RETENTION": {"default": LIMITS}}
    )
    get_config()
    policy = Policy.from_settings("default")
    now = datetime(2026, 11, 29, 12, tzinfo=UTC)
    backups = [BackupInfo(f"b{i}", datetime(2026, 11 - i, 1, 3, tzinfo=UTC)) for i in range(3)]
    for decision in plan_retention(backups, now, policy):
        until = keep_until(decision, now, policy)
        assert until is not None and until.year < 2040
