"""S3 Object Lock for backup storages: the lock each write carries, extending it, deleting
under it, checking that the bucket can lock at all, and the storage check's probe.

A write cannot know how long retention will keep its backup (whether it becomes a month's
keeper is decided later), so it is locked for the shortest time the plan ever keeps anything:
``RETENTION.MIN_AGE_MINUTES`` plus the storage's margin. Each retention run then extends the
lock of every object it keeps to the date its plan keeps it, plus the margin
(retention.plan_retention's ``keep_until``). Locks are only ever lengthened.

Object Lock needs a versioned bucket: an overwrite adds a version and a delete without a
version adds a delete marker, while the locked version stays. So deletes here name versions
(s3:DeleteObjectVersion, which S3 refuses for a locked version), and manifests record the
version their object was written as, for restores.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from nzila_ops.backups.storages.s3_errors import storage_error
from nzila_ops.exceptions import ConfigurationError, ObjectLocked, StorageError

if TYPE_CHECKING:
    from nzila_ops.backups.storages.s3 import S3Storage

logger = logging.getLogger("nzila_ops.backups")

LOCK_MODES = {"governance": "GOVERNANCE", "compliance": "COMPLIANCE"}
# A day: longer than the interval of the retention runs that extend locks (hourly by default),
# with room for a missed run or two before a kept object's lock could lapse.
DEFAULT_LOCK_MARGIN_DAYS = 1


def parse_lock_options(
    name: str, object_lock: str | None, lock_margin_days: float | str | None
) -> tuple[str | None, timedelta]:
    """(mode, margin) from the storage options ``object_lock`` and ``lock_margin_days``."""
    mode = None
    if object_lock not in (None, ""):
        mode = LOCK_MODES.get(str(object_lock).lower())
        if mode is None:
            raise ConfigurationError(
                f"backup storage {name!r}: object_lock must be governance or compliance, "
                f"not {object_lock!r}"
            )
    if lock_margin_days is None:
        return mode, timedelta(days=DEFAULT_LOCK_MARGIN_DAYS if mode else 0)
    if mode is None:
        raise ConfigurationError(f"backup storage {name!r}: lock_margin_days needs object_lock")
    try:
        days = float(lock_margin_days)
    except ValueError:
        days = -1.0
    if not 0 <= days <= 36500:
        raise ConfigurationError(
            f"backup storage {name!r}: lock_margin_days must be a number of days >= 0, "
            f"not {lock_margin_days!r}"
        )
    return mode, timedelta(days=days)


def min_age(storage_name: str) -> timedelta:
    """RETENTION.MIN_AGE_MINUTES as it applies to this storage (STORAGE_RETENTION overrides)."""
    from nzila_ops.conf import get_config

    config = get_config()
    minutes = config["RETENTION"]["MIN_AGE_MINUTES"]
    override = config.get("STORAGE_RETENTION", {}).get(storage_name, {})
    return timedelta(minutes=override.get("MIN_AGE_MINUTES", minutes))


def write_arguments(storage: S3Storage) -> dict[str, Any]:
    """The lock a new object is written with: until the plan's shortest keep, plus the margin."""
    if storage.object_lock_mode is None:
        return {}
    until = datetime.now(UTC) + min_age(storage.name) + storage.lock_margin
    return {"ObjectLockMode": storage.object_lock_mode, "ObjectLockRetainUntilDate": until}


def _version(version_id: str | None) -> dict[str, str]:
    return {"VersionId": version_id} if version_id else {}


def _head(storage: S3Storage, full_key: str, version_id: str | None) -> dict[str, Any] | None:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return storage.client.head_object(
            Bucket=storage.bucket, Key=full_key, **_version(version_id)
        )
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code in ("404", "NoSuchKey", "NotFound", "NoSuchVersion"):
            return None
        if code in ("400", "InvalidArgument") and version_id:
            return None  # S3's answer to a version id of another bucket's form
        raise storage_error(exc, storage.bucket, "reading the lock of an object") from None
    except BotoCoreError as exc:
        raise storage_error(exc, storage.bucket, "reading the lock of an object") from None


def _current(
    storage: S3Storage, full_key: str, version_id: str | None
) -> tuple[dict[str, Any] | None, str | None]:
    """(HEAD of the object, the version it is) for ``version_id``, or for the key's current
    version when this bucket has no such version: a manifest copied here by other means than
    nzila_ops (``aws s3 sync``) names a version of the bucket it came from."""
    head = _head(storage, full_key, version_id)
    if head is None and version_id:
        logger.warning(
            "storage %s: %s has no version %s (a manifest copied from another bucket?): "
            "using its current version",
            storage.name,
            full_key,
            version_id,
        )
        return _head(storage, full_key, None), None
    return head, version_id


def _lock_of(head: dict[str, Any] | None) -> tuple[str, datetime] | None:
    if head is None:
        return None
    until = head.get("ObjectLockRetainUntilDate")
    mode = head.get("ObjectLockMode")
    if until is None or mode is None:
        return None
    return mode, until.astimezone(UTC)


def read_lock(
    storage: S3Storage, full_key: str, version_id: str | None = None
) -> tuple[str, datetime] | None:
    """(mode, retain-until) of the object, or None when it is not locked or not there.

    Read from HEAD, which carries the lock for callers allowed s3:GetObjectRetention (moto, the
    test server, does not implement GetObjectRetention itself)."""
    return _lock_of(_current(storage, full_key, version_id)[0])


def extend_lock(
    storage: S3Storage, full_key: str, until: datetime, version_id: str | None = None
) -> None:
    """Lengthen the object's lock to ``until``; a longer lock already there is left alone
    (shortening needs s3:BypassGovernanceRetention, which the app must not hold)."""
    if storage.object_lock_mode is None:
        return
    head, version_id = _current(storage, full_key, version_id)
    current = _lock_of(head)
    if current is not None and current[1] >= until:
        return
    # An object keeps its mode: compliance cannot become governance, and the mode it was
    # written with is what the operator chose then.
    mode = current[0] if current is not None else storage.object_lock_mode
    storage._call(
        "extending the lock of an object",
        storage.client.put_object_retention,
        Bucket=storage.bucket,
        Key=full_key,
        Retention={"Mode": mode, "RetainUntilDate": until.astimezone(UTC)},
        **_version(version_id),
    )


def _versions(storage: S3Storage, full_key: str) -> Iterator[str]:
    """Every version id of exactly ``full_key``, delete markers included."""
    paginator = storage.client.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=storage.bucket, Prefix=full_key):
        for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
            if item["Key"] == full_key:
                yield item["VersionId"]


def delete_versions(storage: S3Storage, key: str, full_key: str) -> None:
    """Delete every version of ``key`` (a delete without a version would only add a delete
    marker, hiding the object and freeing nothing). Raises ObjectLocked, naming the latest
    retain-until date, when a lock keeps any version; the unlocked ones are gone."""
    from botocore.exceptions import BotoCoreError, ClientError

    locked: list[datetime] = []
    try:
        for version_id in list(_versions(storage, full_key)):
            try:
                storage.client.delete_object(
                    Bucket=storage.bucket, Key=full_key, VersionId=version_id
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in ("AccessDenied", "403"):
                    raise
                lock = read_lock(storage, full_key, version_id)
                if lock is None:
                    raise  # denied by a policy, not a lock: the access-denied error says so
                locked.append(lock[1])
    except (ClientError, BotoCoreError) as exc:
        raise storage_error(exc, storage.bucket, "deleting") from None
    if locked:
        raise ObjectLocked(key, max(locked))


def check_bucket_lock(storage: S3Storage) -> None:
    """StorageError unless the bucket has Object Lock enabled and no default retention rule."""
    from botocore.exceptions import BotoCoreError, ClientError

    if storage.object_lock_mode is None:
        return
    try:
        config = storage.client.get_object_lock_configuration(Bucket=storage.bucket)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code != "ObjectLockConfigurationNotFoundError":
            raise storage_error(exc, storage.bucket, "reading the object lock of") from None
        config = {}
    except BotoCoreError as exc:
        raise storage_error(exc, storage.bucket, "reading the object lock of") from None
    lock = config.get("ObjectLockConfiguration", {})
    if lock.get("ObjectLockEnabled") != "Enabled":
        raise StorageError(
            f"S3 bucket {storage.bucket!r} has no Object Lock configuration, but storage "
            f"{storage.name!r} asks for object_lock={storage.object_lock_mode.lower()}: its "
            "backups could be deleted. Object Lock is enabled when a bucket is created "
            "(docs/backups.md, 'Immutable backups')"
        )
    if lock.get("Rule", {}).get("DefaultRetention"):
        raise StorageError(
            f"S3 bucket {storage.bucket!r} has a default retention rule: it locks every object, "
            "including the storage check's probe, which then stays behind. Remove the rule; "
            "nzila_ops locks each backup and manifest itself (docs/backups.md)"
        )


def probe(storage: S3Storage, full_key: str) -> None:
    """Put, read back and delete a small unlocked object: StorageError unless all three work
    with these credentials. Under object lock the delete names the probe's version (a delete
    marker would leave it behind); a bucket default retention rule locks even the probe, which
    is then left until that date, said in the log (check_bucket_lock reports the rule)."""
    from botocore.exceptions import BotoCoreError, ClientError

    token = uuid.uuid4().hex.encode()
    written = storage._call(
        "checking (writing a probe object)",
        storage.client.put_object,
        Bucket=storage.bucket,
        Key=full_key,
        Body=token,
        **storage.put_arguments(),
    )
    version = _version(written.get("VersionId")) if storage.object_lock_mode else {}
    body = storage._call(
        "checking (reading the probe object back)",
        storage.client.get_object,
        Bucket=storage.bucket,
        Key=full_key,
        **version,
    )["Body"]
    with body:
        if body.read() != token:
            raise StorageError(
                f"S3 bucket {storage.bucket!r} returned something else than the probe object "
                "just written: a cache or proxy in the way?"
            )
    try:
        storage.client.delete_object(Bucket=storage.bucket, Key=full_key, **version)
    except ClientError as exc:
        lock = read_lock(storage, full_key, version.get("VersionId"))
        if lock is None:
            raise storage_error(
                exc, storage.bucket, "checking (deleting the probe object)"
            ) from None
        logger.warning(
            "storage %s: the check's probe %s is kept until %s by the bucket's default "
            "retention rule; remove the rule (docs/backups.md)",
            storage.name,
            full_key,
            f"{lock[1]:%Y-%m-%d %H:%M} UTC",
        )
    except BotoCoreError as exc:
        raise storage_error(exc, storage.bucket, "checking (deleting the probe object)") from None


def first_version(storage: S3Storage, key: str, full_key: str) -> str | None:
    """The version ``key`` was first written as (None: there is none).

    nzila_ops writes manifests and history documents once; a later version is an overwrite by
    someone else (credentials stolen from the app can put objects, not delete locked ones), so
    reading the first one keeps a forged manifest from steering a restore. S3 lists a key's
    versions newest first."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        paginator = storage.client.get_paginator("list_object_versions")
        versions = [
            item["VersionId"]
            for page in paginator.paginate(Bucket=storage.bucket, Prefix=full_key)
            for item in page.get("Versions", [])
            if item["Key"] == full_key
        ]
    except (ClientError, BotoCoreError) as exc:
        raise storage_error(exc, storage.bucket, "listing the versions of an object") from None
    if len(versions) <= 1:
        # One version: read by its id, which also finds it behind a delete marker.
        return versions[0] if versions else None
    logger.warning(
        "storage %s: %s was overwritten %d time(s) since it was written: reading the version "
        "first written (%s)",
        storage.name,
        key,
        len(versions) - 1,
        versions[-1],
    )
    return versions[-1]
