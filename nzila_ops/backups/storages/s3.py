"""Backups in S3 (or any S3-compatible service), streamed with multipart upload (s3_writer.py).

Credentials come from boto3's usual chain (AWS_ACCESS_KEY_ID, instance roles, ...) and the
endpoint from ``endpoint_url`` or AWS_ENDPOINT_URL. Transient errors (throttling, 5xx, dropped
connections) are retried by botocore's standard retry mode; each part is held in memory while it
uploads, so a retried part is re-sent from memory and the stream itself never rewinds.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

from nzila_ops.backups.storages import s3_clients, s3_lock
from nzila_ops.backups.storages.base import BackupStorage, ObjectWriter, check_key
from nzila_ops.backups.storages.s3_errors import storage_error
from nzila_ops.backups.storages.s3_reader import ResumingReader
from nzila_ops.backups.storages.s3_writer import PARTS_IN_FLIGHT, MultipartWriter
from nzila_ops.exceptions import ConfigurationError, StorageError

MIB = 1 << 20
# S3's smallest part is 5 MiB (all but the last) and there are at most 10,000 parts: 8 MiB parts
# reach 78 GiB; raise part_size_mb for larger databases.
DEFAULT_PART_SIZE_MB = 8
# An incomplete multipart upload older than this was left by a backup that died (no backup runs
# for a day). Younger ones may be a live backup's, on this host or another, and are left alone.
ABANDONED_UPLOAD_AGE = timedelta(days=1)
SSE_MODES = ("AES256", "aws:kms")
#: The storage check's probe objects (check()); never a backup or manifest name.
PROBE_PREFIX = ".nzila-check-"


def is_abandoned_upload(initiated: datetime, now: datetime) -> bool:
    """S3 cannot say whether the writer of an upload is alive: only its age can. (moto, the
    test server, reports every upload as started in 2010, so tests check this rule here.)"""
    return now - initiated > ABANDONED_UPLOAD_AGE


class S3Storage(BackupStorage):
    def __init__(
        self,
        name: str,
        bucket: str | None = None,
        prefix: str = "",
        region: str | None = None,
        endpoint_url: str | None = None,
        sse: str | None = None,
        kms_key_id: str | None = None,
        storage_class: str | None = None,
        part_size_mb: int | str = DEFAULT_PART_SIZE_MB,
        max_attempts: int | str = 5,
        connect_timeout: float | str = 10,
        read_timeout: float | str = 60,
        object_lock: str | None = None,
        lock_margin_days: float | str | None = None,
        profile: str | None = None,
    ) -> None:
        super().__init__(name)
        if not bucket:
            raise ConfigurationError(f"backup storage {name!r} needs a 'bucket'")
        if sse is not None and sse not in SSE_MODES:
            raise ConfigurationError(
                f"backup storage {name!r}: sse must be one of {', '.join(SSE_MODES)}, not {sse!r}"
            )
        if kms_key_id and sse != "aws:kms":
            raise ConfigurationError(f"backup storage {name!r}: kms_key_id needs sse=aws:kms")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.region = region
        self.endpoint_url = endpoint_url
        self.sse = sse
        self.kms_key_id = kms_key_id
        self.storage_class = storage_class
        self.part_size = max(5, int(part_size_mb)) * MIB
        self.max_attempts = int(max_attempts)
        self.connect_timeout = float(connect_timeout)
        self.read_timeout = float(read_timeout)
        self.profile = profile or None
        self.object_lock_mode, self.lock_margin = s3_lock.parse_lock_options(
            name, object_lock, lock_margin_days
        )
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            try:
                from botocore.config import Config
                from botocore.exceptions import ProfileNotFound
            except ImportError:
                raise ConfigurationError(
                    "S3 storage needs boto3: pip install 'nzila-ops[s3]'"
                ) from None
            config = Config(
                retries={"total_max_attempts": self.max_attempts, "mode": "standard"},
                connect_timeout=self.connect_timeout,
                read_timeout=self.read_timeout,
                max_pool_connections=PARTS_IN_FLIGHT + 2,
            )
            try:
                # A profile gives a storage credentials of its own (a copy target in another
                # account); without one, boto3's usual chain.
                self._client = s3_clients.make_client(
                    profile=self.profile,
                    region=self.region,
                    endpoint_url=self.endpoint_url,
                    config=config,
                )
            except ProfileNotFound:
                raise ConfigurationError(
                    f"backup storage {self.name!r}: no AWS profile {self.profile!r} in the AWS "
                    "config or credentials files"
                ) from None
        return self._client

    def _call(self, action: str, function: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return function(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise storage_error(exc, self.bucket, action) from None

    def _full_key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put_arguments(self) -> dict[str, str]:
        """Encryption and storage class of every object (the lock is added per write)."""
        arguments = {}
        if self.sse:
            arguments["ServerSideEncryption"] = self.sse
        if self.kms_key_id:
            arguments["SSEKMSKeyId"] = self.kms_key_id
        if self.storage_class:
            arguments["StorageClass"] = self.storage_class
        return arguments

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def check(self) -> None:
        """Prove that these credentials can write, read and delete here now: a probe object is
        put, read back and deleted (by its version, under object lock). The probe carries no
        lock, so it goes away unless the bucket has a default retention rule (which
        check_immutability reports)."""
        s3_lock.probe(self, self._full_key(f"{PROBE_PREFIX}{uuid.uuid4().hex}"))

    def check_immutability(self) -> None:
        s3_lock.check_bucket_lock(self)

    def open_writer(self, key: str) -> ObjectWriter:
        return MultipartWriter(self, self._full_key(key))

    def open_reader(self, key: str, version_id: str | None = None) -> BinaryIO:
        reader = ResumingReader(self, self._full_key(key), version_id)
        return reader  # type: ignore[return-value]

    def write_bytes(self, key: str, data: bytes) -> None:
        self._call(
            "writing",
            self.client.put_object,
            Bucket=self.bucket,
            Key=self._full_key(key),
            Body=data,
            **self.put_arguments(),
            **s3_lock.write_arguments(self),
        )

    def lock_until(self, key: str, version_id: str | None = None) -> datetime | None:
        """Without ``version_id``: of the version first written, as read_bytes reads it."""
        if self.object_lock_mode is None:
            return None
        full_key = self._full_key(key)
        version_id = version_id or s3_lock.first_version(self, key, full_key)
        lock = s3_lock.read_lock(self, full_key, version_id)
        return lock[1] if lock else None

    def extend_lock(self, key: str, until: datetime, version_id: str | None = None) -> None:
        """Without ``version_id``: of the version first written (a manifest's genuine one,
        not a later overwrite)."""
        if self.object_lock_mode is None:
            return
        full_key = self._full_key(key)
        version_id = version_id or s3_lock.first_version(self, key, full_key)
        s3_lock.extend_lock(self, full_key, until, version_id)

    def read_bytes(self, key: str) -> bytes:
        """The object; under object lock, as first written (a manifest overwritten since is
        read as nzila_ops wrote it: s3_lock.first_version)."""
        version = None
        if self.object_lock_mode is not None:
            version = s3_lock.first_version(self, key, self._full_key(key))
        with self.open_reader(key, version) as body:
            return body.read()

    def _head(self, key: str) -> dict[str, Any] | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._full_key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise storage_error(exc, self.bucket, "reading") from None
        except BotoCoreError as exc:  # endpoint down, timeouts: not an absent object
            raise storage_error(exc, self.bucket, "reading") from None

    def exists(self, key: str) -> bool:
        return self._head(key) is not None

    def size(self, key: str) -> int:
        head = self._head(key)
        if head is None:
            raise StorageError(f"no object {key} in {self.describe()}")
        return int(head["ContentLength"])

    def delete(self, key: str) -> None:
        if self.object_lock_mode is not None:
            s3_lock.delete_versions(self, key, self._full_key(key))
            return
        self._call(
            "deleting", self.client.delete_object, Bucket=self.bucket, Key=self._full_key(key)
        )

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        root = f"{self.prefix}/" if self.prefix else ""
        paginator = self.client.get_paginator("list_objects_v2")
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=root + prefix):
                for item in page.get("Contents", []):
                    yield item["Key"][len(root) :]
        except (ClientError, BotoCoreError) as exc:
            raise storage_error(exc, self.bucket, "listing") from None

    def sweep_abandoned_writes(self) -> list[str]:
        """Abort the incomplete multipart uploads under this storage's prefix that were started
        over a day ago: the parts of a backup whose process died, or whose abort could not reach
        S3. (The bucket's lifecycle rule is the backstop for other prefixes; docs/backups.md.)"""
        from botocore.exceptions import BotoCoreError, ClientError

        if not self.prefix:
            # The whole bucket may hold other applications' uploads: not ours to abort.
            return []
        root = f"{self.prefix}/"
        now = datetime.now(UTC)
        removed = []
        paginator = self.client.get_paginator("list_multipart_uploads")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=root):
                for upload in page.get("Uploads", []):
                    if not is_abandoned_upload(upload["Initiated"], now):
                        continue
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    removed.append(
                        f"the incomplete upload of {upload['Key'][len(root) :]} started "
                        f"{upload['Initiated']:%Y-%m-%d %H:%M} UTC by a backup that died"
                    )
        except (ClientError, BotoCoreError) as exc:
            raise storage_error(exc, self.bucket, "sweeping incomplete uploads in") from None
        return removed
