"""The S3 storage's writer: a multipart upload fed as a stream, parts uploaded as they fill.

Each part is held in memory while it uploads, so a retried part is re-sent from memory and the
stream itself never rewinds; at most PARTS_IN_FLIGHT + 1 parts are held whatever the object's size.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from nzila_ops.backups.storages import s3_lock
from nzila_ops.backups.storages.base import ObjectWriter

if TYPE_CHECKING:
    from nzila_ops.backups.storages.s3 import S3Storage

PARTS_IN_FLIGHT = 2
#: Each part carries its CRC32 (botocore computes it anyway) and the upload is declared CRC32
#: when it starts, as boto3's own transfers (``aws s3 cp``) do: S3 then keeps a composite CRC32
#: of the object, checked part by part. An upload that declares none leaves the server to
#: work out a whole-object checksum at completion instead (moto: CRC64NVME, a second copy of
#: the object in memory; bench/bench_copy.py measured it as most of the copy's gap to boto3's).
#: Like boto3's transfers, only under botocore's default ``request_checksum_calculation``
#: (``when_supported``): ``when_required`` (AWS_REQUEST_CHECKSUM_CALCULATION, for S3-compatible
#: services without these checksums) sends none.
CHECKSUM_ALGORITHM = "CRC32"


class MultipartWriter(ObjectWriter):
    """Uploads parts as they fill, up to PARTS_IN_FLIGHT at once in background threads."""

    def __init__(self, storage: S3Storage, key: str) -> None:
        self._storage = storage
        self._key = key
        self.preferred_write_size = storage.part_size  # a whole part goes up as it is
        # The part being filled, and how much of it is: parts are filled in place and handed to
        # botocore as they are (no copy); a part's buffer is used again once it is uploaded, so
        # a writer holds at most PARTS_IN_FLIGHT + 1 parts whatever the object's size.
        self._buffer = bytearray()
        self._filled = 0
        self._free: list[bytearray] = []
        self._parts: list[Future[dict[str, Any]]] = []
        self._slots = threading.Semaphore(PARTS_IN_FLIGHT)
        self._pool = ThreadPoolExecutor(max_workers=PARTS_IN_FLIGHT, thread_name_prefix="nzila-s3")
        self._upload_id: str | None = None
        self._lock: dict[str, Any] = {}
        self._checksum: dict[str, str] = {}

    def _start(self) -> None:
        self._lock = s3_lock.write_arguments(self._storage)
        calculation = getattr(
            self._storage.client.meta.config, "request_checksum_calculation", "when_supported"
        )
        if calculation == "when_supported":
            self._checksum = {"ChecksumAlgorithm": CHECKSUM_ALGORITHM}
        response = self._storage._call(
            "writing",
            self._storage.client.create_multipart_upload,
            Bucket=self._storage.bucket,
            Key=self._key,
            **self._checksum,
            **self._storage.put_arguments(),
            **self._lock,
        )
        self._upload_id = response["UploadId"]

    def _upload(self, number: int, body: bytearray) -> dict[str, Any]:
        try:
            response = self._storage._call(
                "writing",
                self._storage.client.upload_part,
                Bucket=self._storage.bucket,
                Key=self._key,
                UploadId=self._upload_id,
                PartNumber=number,
                Body=body,
                **self._checksum,
            )
            part = {"PartNumber": number, "ETag": response["ETag"]}
            # Completing an upload declared CRC32 names each part's checksum (S3 requires it).
            if checksum := response.get("ChecksumCRC32"):
                part["ChecksumCRC32"] = checksum
            return part
        finally:
            if isinstance(body, bytearray) and len(body) == self._storage.part_size:
                self._free.append(body)  # list.append is atomic: no lock needed
            self._slots.release()

    def _send_part(self, body: bytearray) -> None:
        if self._upload_id is None:
            self._start()
        # Fail fast: a part that already failed makes the rest pointless.
        for done in self._parts:
            if done.done() and done.exception():
                raise done.exception()  # type: ignore[misc]
        self._slots.acquire()
        self._parts.append(self._pool.submit(self._upload, len(self._parts) + 1, body))

    def write(self, data: bytes) -> int:
        part_size = self._storage.part_size
        # A write of exactly one part (a copy reads the part size at a time) goes up as it is:
        # no copy into a buffer of ours. Immutable bytes only, so the caller cannot change it
        # while it uploads (nor is it reused afterwards: _upload frees bytearrays alone).
        if not self._filled and isinstance(data, bytes) and len(data) == part_size:
            self._send_part(data)
            return part_size
        view = memoryview(data)
        while view:
            if not self._buffer:
                self._buffer = self._free.pop() if self._free else bytearray(part_size)
            n = min(part_size - self._filled, len(view))
            self._buffer[self._filled : self._filled + n] = view[:n]
            self._filled += n
            view = view[n:]
            if self._filled == part_size:
                body, self._buffer, self._filled = self._buffer, bytearray(), 0
                self._send_part(body)
        return len(data)

    def _rest(self) -> bytearray:
        """The part being filled, cut to what it holds (the last part, or a small object)."""
        body, self._buffer = self._buffer, bytearray()
        del body[self._filled :]
        self._filled = 0
        return body

    def commit(self) -> None:
        storage = self._storage
        try:
            if self._upload_id is None:
                # Small object: one PUT.
                response = storage._call(
                    "writing",
                    storage.client.put_object,
                    Bucket=storage.bucket,
                    Key=self._key,
                    Body=self._rest(),
                    **storage.put_arguments(),
                    **s3_lock.write_arguments(storage),
                )
                self.version_id = response.get("VersionId")
                return
            if self._filled:
                self._send_part(self._rest())
            parts = [future.result() for future in self._parts]
            response = storage._call(
                "writing",
                storage.client.complete_multipart_upload,
                Bucket=storage.bucket,
                Key=self._key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": parts},
            )
            self.version_id = response.get("VersionId")
            if self._lock:
                # S3 locks the object with the upload's own lock headers; services that drop
                # them on multipart uploads (moto does) get the same lock set afterwards.
                s3_lock.extend_lock(
                    storage, self._key, self._lock["ObjectLockRetainUntilDate"], self.version_id
                )
        except BaseException:
            self.abort()
            raise
        finally:
            self._pool.shutdown(wait=True)

    def abort(self) -> None:
        self._buffer, self._filled, self._free = bytearray(), 0, []
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._upload_id is not None:
            # If even the abort fails, the bucket's lifecycle rule for incomplete multipart
            # uploads is the backstop (docs/backups.md); the parts are never listed as a backup.
            with suppress(Exception):
                self._storage.client.abort_multipart_upload(
                    Bucket=self._storage.bucket, Key=self._key, UploadId=self._upload_id
                )
            self._upload_id = None
