"""Reading an S3 object as a stream that survives dropped connections."""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING, Any

from nzila_ops.exceptions import StorageError

if TYPE_CHECKING:
    from nzila_ops.backups.storages.s3 import S3Storage


class ResumingReader:
    """An object's body that survives a dropped connection mid-download.

    botocore retries a request, not a body that fails half-way (a reset, a timeout, fewer bytes
    than Content-Length); a restore of tens of GB must not start over for one network glitch.
    The download resumes at the byte it reached, with a Range request pinned to the object's
    ETag (If-Match), so a replaced object cannot be spliced in. After ``max_attempts`` failed
    reads in a row (a read that brings data starts the count again) the failure is a
    StorageError that says so."""

    def __init__(self, storage: S3Storage, key: str, version_id: str | None = None) -> None:
        from botocore.exceptions import BotoCoreError

        self._read_errors = (BotoCoreError, OSError)  # resolved once: read() runs per chunk
        self._storage, self._key = storage, key
        self._version = {"VersionId": version_id} if version_id else {}
        response = self._get()
        self._etag = response["ETag"]
        self._body = response["Body"]
        self._offset = 0
        self._failures = 0

    def _get(self, **extra: str) -> Any:
        storage = self._storage
        return storage._call(
            "reading",
            storage.client.get_object,
            Bucket=storage.bucket,
            Key=self._key,
            **self._version,
            **extra,
        )

    def read(self, size: int = -1) -> bytes:
        while True:
            try:
                data = self._body.read(size if size >= 0 else None)
            except self._read_errors as exc:
                self._failures += 1
                with suppress(Exception):
                    self._body.close()
                if self._failures >= self._storage.max_attempts:
                    raise StorageError(
                        f"the download from S3 bucket {self._storage.bucket!r} failed after "
                        f"{self._offset} bytes, {self._failures} times in a row: {exc}",
                        transient=True,
                    ) from None
                range_ = f"bytes={self._offset}-"
                self._body = self._get(Range=range_, IfMatch=self._etag)["Body"]
                continue
            if data:
                self._failures = 0
            self._offset += len(data)
            return data

    def close(self) -> None:
        self._body.close()

    def __enter__(self) -> ResumingReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
