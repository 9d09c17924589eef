"""How S3's failures become one StorageError line each, and which of them are worth a retry."""

from __future__ import annotations

from nzila_ops.exceptions import StorageError

TRANSIENT_CODES = {
    "RequestTimeout",
    "RequestTimeTooSkewed",
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "InternalError",
    "ServiceUnavailable",
}


def storage_error(exc: Exception, bucket: str, action: str) -> StorageError:
    """One line an operator can act on for a boto3/botocore failure, marked transient when a
    retry may succeed (throttling, 5xx, a dropped connection)."""
    from botocore.exceptions import (
        ClientError,
        ConnectionError,
        EndpointConnectionError,
        HTTPClientError,
        NoCredentialsError,
        ReadTimeoutError,
    )

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in ("NoSuchBucket", "404") and action != "reading":
            return StorageError(f"S3 bucket {bucket!r} does not exist")
        if code in ("NoSuchKey", "404"):
            return StorageError(f"S3 object not found while {action} in bucket {bucket!r}")
        if code in ("PreconditionFailed", "412"):
            return StorageError(
                f"the object changed in S3 bucket {bucket!r} while {action} (its ETag no longer "
                "matches): start again"
            )
        if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return StorageError(f"access denied to S3 bucket {bucket!r} while {action} ({code})")
        message = error.get("Message") or code
        if code == "InvalidRequest" and "objectlock" in message.lower().replace(" ", ""):
            # A write carrying a lock (object_lock=) to a bucket created without Object Lock.
            return StorageError(
                f"S3 bucket {bucket!r} has no Object Lock configuration: objects cannot be "
                "written locked (object_lock= in the storage's URL). See docs/backups.md, "
                "'Immutable backups (S3 Object Lock)'"
            )
        transient = code in TRANSIENT_CODES or status >= 500
        return StorageError(
            f"S3 error while {action} in bucket {bucket!r}: {message}", transient=transient
        )
    if isinstance(exc, NoCredentialsError):
        return StorageError("no AWS credentials found (set AWS_ACCESS_KEY_ID or use a role)")
    if isinstance(exc, EndpointConnectionError | ConnectionError):
        return StorageError(f"cannot reach S3 while {action} in bucket {bucket!r}", transient=True)
    if isinstance(exc, ReadTimeoutError):
        return StorageError(
            f"S3 did not answer in time while {action} in bucket {bucket!r}", transient=True
        )
    if isinstance(exc, HTTPClientError):
        # The connection dropped mid-request (reset, closed): worth another try.
        return StorageError(
            f"the connection to S3 failed while {action} in bucket {bucket!r}", transient=True
        )
    return StorageError(f"S3 failure while {action} in bucket {bucket!r}: {exc}")
