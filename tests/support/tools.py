"""Run the standard tools an operator would use by hand: age, zstd, gzip, pg_restore."""

from __future__ import annotations

import subprocess
from pathlib import Path


def run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=True, capture_output=True, **kwargs)  # type: ignore[call-overload]


def decrypt_and_decompress(stored: Path, identity_file: Path | None, compression: str) -> Path:
    """What the docs tell an operator to do: age -d, then zstd -d (or gzip -d)."""
    current = stored
    if identity_file is not None:
        decrypted = stored.with_name(stored.name + ".decrypted")
        run(["age", "-d", "-i", str(identity_file), "-o", str(decrypted), str(current)])
        current = decrypted
    raw = stored.with_name(stored.name + ".raw")
    if compression == "zstd":
        run(["zstd", "-d", "-q", "-f", str(current), "-o", str(raw)])
    else:
        with raw.open("wb") as out:
            subprocess.run(["gzip", "-d", "-c", str(current)], check=True, stdout=out)
    return raw


def pg_restore_list(dump: Path) -> str:
    return run(["pg_restore", "--list", str(dump)], text=True).stdout
