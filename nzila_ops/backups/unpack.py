"""Reading a backup back: storage → SHA-256 → age decryption → decompression → a sink.

One pass, constant memory. Every byte is checked three ways: the SHA-256 of the stored object
against the manifest, age's authentication tag on every 64 KiB chunk (and its end marker, which
catches truncation), and the zstd/gzip checksum of the decompressed stream.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, BinaryIO

from pyrage import x25519

from nzila_ops.backups.age_process import AgeRejected, decrypt_into
from nzila_ops.backups.compression import CORRUPT_DATA_ERRORS, get_codec
from nzila_ops.backups.encryption import identity_fingerprints, load_identities
from nzila_ops.backups.fetch_children import ZstdRejected, unpack_into_file
from nzila_ops.backups.storages import BackupStorage
from nzila_ops.backups.streams import (
    FETCH_CHUNK_SIZE,
    DecompressingWriter,
    HashingReader,
    Writable,
)
from nzila_ops.backups.timing import StageTimes
from nzila_ops.conf import get_config
from nzila_ops.exceptions import ConfigurationError, StorageError, VerificationFailed
from nzila_ops.progress import NULL_PROGRESS, Progress

CORRUPTION_ERRORS = (AgeRejected, ZstdRejected, *CORRUPT_DATA_ERRORS)


def direct_file(sink: Writable) -> BinaryIO | None:
    """The file ``sink`` lets child processes write the dump into directly, if it has one
    (a restore's Loading; not verify_backup's sinks, which read the stream themselves)."""
    opener = getattr(sink, "direct_file", None)
    return opener() if callable(opener) else None


@dataclass(frozen=True)
class UnpackResult:
    stored_size: int
    sha256: str
    raw_size: int
    #: Busy seconds per stage: download, hash, decrypt (only when encrypted), decompress and
    #: write (into the sink). Download and decryption overlap decompression.
    stage_seconds: dict[str, float] = field(default_factory=dict)


def identities_for(manifest: dict[str, Any]) -> list[x25519.Identity]:
    """The configured age identities that can open this backup (none needed if unencrypted).

    Checked before anything is downloaded, so a missing or wrong key is reported at once."""
    encryption = manifest.get("encryption")
    if not encryption:
        return []
    path = get_config()["AGE_IDENTITY_FILE"]
    if not path:
        raise ConfigurationError(
            f"backup {manifest['name']} is encrypted: set NZILA_OPS['AGE_IDENTITY_FILE'] "
            "(NZILA_OPS_AGE_IDENTITY_FILE) to the age identity file"
        )
    identities = load_identities(path)
    wanted = set(encryption.get("recipients", []))
    if wanted and not wanted & identity_fingerprints(identities):
        raise ConfigurationError(
            f"no identity in {path} can decrypt backup {manifest['name']} "
            f"(it was encrypted to {', '.join(sorted(wanted))})"
        )
    return identities


def unpack_backup(
    storage: BackupStorage,
    manifest: dict[str, Any],
    sink: Writable,
    identities: list[x25519.Identity],
    progress: Progress = NULL_PROGRESS,
) -> UnpackResult:
    """Stream the backup's raw dump into ``sink``, verifying it completely.

    Raises VerificationFailed when the object does not match its manifest (a flipped byte,
    truncation, a wrong checksum); the caller discards whatever ``sink`` received."""
    obj = manifest["object"]
    name = manifest["name"]
    codec = get_codec(manifest["compression"]["algorithm"])
    source = _open_version(storage, manifest)
    try:
        times = StageTimes()
        reader = HashingReader(source, times)
        writer = DecompressingWriter(codec.decompressor(), sink, times=times)

        def on_bytes(done: int) -> None:
            progress.advance(done, obj["stored_size"])

        encrypted = bool(manifest.get("encryption"))
        raw_size: int | None = None
        try:
            output = direct_file(sink) if codec.name == "zstd" else None
            if output is not None:
                # Child processes do it all (fetch_children.py), or None where they can't.
                raw_size = unpack_into_file(
                    reader, output, identities if encrypted else None, on_bytes, times
                )
            if raw_size is None and encrypted:
                decrypt_into(reader, writer, identities, on_bytes, times)
            elif raw_size is None:
                while chunk := reader.read(FETCH_CHUNK_SIZE):
                    writer.write(chunk)
                    on_bytes(reader.count)
        except CORRUPTION_ERRORS as exc:
            # Anything else (storage down, disk full, pg_restore died...) propagates as it is.
            reader.drain()
            _check_checksum(name, obj, reader)
            from_age = isinstance(exc, AgeRejected)
            detail = "age authentication failed" if from_age else f"{codec.name} data is corrupt"
            raise VerificationFailed(
                f"backup {name} is corrupt: {detail} (the object was modified or truncated)"
            ) from None
        _check_checksum(name, obj, reader)
        if raw_size is None:  # decompressed here: the stream's end is ours to check
            if not writer.finished():
                raise VerificationFailed(
                    f"backup {name} is truncated: the {codec.name} stream ends early"
                )
            raw_size = writer.count
        if obj.get("raw_size") is not None and raw_size != obj["raw_size"]:
            raise VerificationFailed(
                f"backup {name} decompressed to {raw_size} bytes, the manifest says "
                f"{obj['raw_size']}"
            )
        return UnpackResult(reader.count, reader.hexdigest(), raw_size, times.rounded())
    finally:
        source.close()


def _open_version(storage: BackupStorage, manifest: dict[str, Any]) -> BinaryIO:
    """The object, at the version its manifest records: the locked original even after the key
    was overwritten or delete-marked.

    A copy made by nzila_ops (copies.py) records the version its target gave it, so the copy's
    own locked version is read too. A manifest copied by other means (``aws s3 sync``, a
    directory copied into a bucket) may name a version of the storage it came from, which
    this one does not have: then the current version is read, and the SHA-256 of the manifest
    still decides whether it is the backup."""
    obj = manifest["object"]
    version = obj.get("version_id")
    if not version:
        return storage.open_reader(obj["key"])
    if manifest.get("storage", {}).get("name") == storage.name:
        return storage.open_reader(obj["key"], version)
    try:
        return storage.open_reader(obj["key"], version)
    except StorageError:
        return storage.open_reader(obj["key"])


def _check_checksum(name: str, obj: dict[str, Any], reader: HashingReader) -> None:
    if reader.count != obj["stored_size"]:
        raise VerificationFailed(
            f"backup {name} is {reader.count} bytes in storage, the manifest says "
            f"{obj['stored_size']} (truncated or replaced)"
        )
    if reader.hexdigest() != obj["sha256"]:
        raise VerificationFailed(
            f"backup {name} failed its checksum: sha256 {reader.hexdigest()} in storage, "
            f"{obj['sha256']} in the manifest"
        )
