"""Validation of the copy settings: COPY_STORAGES, COPY_TASK_RETRIES, COPY_RETRY_SECONDS and
STORAGE_RETENTION (docs/backups.md, "Copies to a second storage").

Imported by nzila_ops.conf, so it imports nothing that reads settings.
"""

from __future__ import annotations

import os
from itertools import combinations
from typing import Any

from nzila_ops.exceptions import ConfigurationError
from nzila_ops.storage_urls import FILESYSTEM_STORAGE, S3_STORAGE

#: Backoff of a failed copy is doubled per attempt up to this many seconds.
MAX_RETRY_SECONDS = 3600
RETENTION_KEYS = ("HOURLY", "DAILY", "WEEKLY", "MONTHLY", "MIN_AGE_MINUTES")
#: Upper bounds of the RETENTION entries: a keep-until date computed from them (object lock,
#: retention_locks.keep_until) must stay a real date; larger values crashed retention runs.
RETENTION_LIMITS = {
    "HOURLY": 24 * 366,
    "DAILY": 3660,
    "WEEKLY": 520,
    "MONTHLY": 120,
    "MIN_AGE_MINUTES": 366 * 24 * 60,
}


def check_retention_limits(where: str, entries: dict[str, Any]) -> None:
    """Raise ConfigurationError (one line) if an entry of a RETENTION dict passes its bound."""
    for key, value in entries.items():
        limit = RETENTION_LIMITS.get(key)
        if limit is not None and isinstance(value, int) and value > limit:
            raise ConfigurationError(
                f"NZILA_OPS[{where}] {key} is {value}: at most {limit} (keep backups longer "
                "than 10 years with the storage's own lifecycle rules)"
            )


def _number(config: dict[str, Any], key: str, low: float, high: float, integer: bool) -> None:
    value = config[key]
    kinds = int if integer else int | float
    if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
        kind = "an integer" if integer else "a number"
        raise ConfigurationError(f"NZILA_OPS[{key!r}] must be {kind} from {low} to {high}")


def _location(spec: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """(where the storage's namespace lives, its path inside it), normalised; None for a
    backend whose location is unknown here."""
    options = spec["OPTIONS"]
    if spec["BACKEND"] == FILESYSTEM_STORAGE and isinstance(options.get("location"), str):
        # realpath: "D/", "D/." and a symlink to D are D.
        path = os.path.realpath(os.path.expanduser(options["location"]))
        return ("file",), tuple(part for part in path.split(os.sep) if part)
    if spec["BACKEND"] == S3_STORAGE and isinstance(options.get("bucket"), str):
        endpoint = str(options.get("endpoint_url") or "").rstrip("/").lower()
        prefix = str(options.get("prefix") or "")
        # The region is left out: a bucket name is one bucket whatever region a client names.
        return ("s3", endpoint, options["bucket"]), tuple(p for p in prefix.split("/") if p)
    return None


def _refuse_overlaps(storages: dict[str, Any], names: list[str]) -> None:
    """A copy target at the primary's or another target's location (the same, or one inside
    the other) protects nothing, and its retention would delete the other's backups."""
    places = {name: _location(storages[name]) for name in names}
    for first, second in combinations(names, 2):
        a, b = places[first], places[second]
        if a is None or b is None or a[0] != b[0]:
            continue
        shorter = min(len(a[1]), len(b[1]))
        if a[1][:shorter] == b[1][:shorter]:
            raise ConfigurationError(
                f"NZILA_OPS['STORAGES'][{second!r}] is at the location of {first!r} (the same "
                "place, or one inside the other): a copy target must be another place"
            )


def validate(config: dict[str, Any]) -> None:
    """Raise ConfigurationError (one line) unless the copy settings make sense together with
    STORAGES (already normalised) and BACKUP_STORAGE."""
    storages, primary = config["STORAGES"], config["BACKUP_STORAGE"]
    targets = config["COPY_STORAGES"]
    if isinstance(targets, str):  # "secondary,dr" from an environment variable
        targets = [name.strip() for name in targets.split(",") if name.strip()]
    if not isinstance(targets, list | tuple):
        raise ConfigurationError("NZILA_OPS['COPY_STORAGES'] must be a list of storage names")
    for name in targets:
        if not isinstance(name, str) or name not in storages:
            known = ", ".join(sorted(storages)) or "none configured"
            raise ConfigurationError(
                f"NZILA_OPS['COPY_STORAGES'] names {name!r}, which is not in "
                f"NZILA_OPS['STORAGES'] ({known})"
            )
        if name == primary:
            raise ConfigurationError(
                f"NZILA_OPS['COPY_STORAGES'] names {name!r}, the BACKUP_STORAGE itself: a copy "
                "must go to another storage"
            )
    if len(set(targets)) != len(targets):
        raise ConfigurationError("NZILA_OPS['COPY_STORAGES'] names a storage twice")
    config["COPY_STORAGES"] = list(targets)
    _refuse_overlaps(storages, [primary, *targets] if primary in storages else list(targets))
    _number(config, "COPY_TASK_RETRIES", 0, 100, integer=True)
    _number(config, "COPY_RETRY_SECONDS", 1, MAX_RETRY_SECONDS, integer=False)
    policies = config["STORAGE_RETENTION"]
    if not isinstance(policies, dict):
        raise ConfigurationError(
            "NZILA_OPS['STORAGE_RETENTION'] must be a dict of storage name -> RETENTION entries"
        )
    for name, policy in policies.items():
        if name not in storages:
            raise ConfigurationError(
                f"NZILA_OPS['STORAGE_RETENTION'] names {name!r}, which is not in "
                "NZILA_OPS['STORAGES']"
            )
        if not isinstance(policy, dict):
            raise ConfigurationError(f"NZILA_OPS['STORAGE_RETENTION'][{name!r}] must be a dict")
        unknown = sorted(str(key) for key in set(policy) - set(RETENTION_KEYS))
        bad = sorted(
            str(key)
            for key, value in policy.items()
            if isinstance(value, bool) or not isinstance(value, int) or value < 0
        )
        if unknown or bad:
            raise ConfigurationError(
                f"NZILA_OPS['STORAGE_RETENTION'][{name!r}] has invalid entries "
                f"{unknown or bad}: use {', '.join(RETENTION_KEYS)} with non-negative integers"
            )
        check_retention_limits(f"'STORAGE_RETENTION'][{name!r}", policy)
