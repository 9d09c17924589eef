"""A restore's fetch in child processes: decryption, then ``zstd -d`` writing the dump file.

What an operator relies on: the file holds exactly the dump; a corrupt or truncated zstd
stream and a ciphertext that fails authentication are corrupt backups, a full disk is a full
disk (never "corrupt"); where zstd or the decryption child cannot run, nothing has been read
and the fetch happens in this process; no child is left behind.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyrage import encrypt, x25519

from nzila_ops.backups import fetch_children
from nzila_ops.backups.age_process import AgeRejected
from nzila_ops.backups.fetch_children import ZstdRejected, unpack_into_file
from nzila_ops.backups.streams import HashingReader
from nzila_ops.backups.timing import StageTimes
from nzila_ops.exceptions import OpsError
from tests.support.procs import children

pytestmark = pytest.mark.skipif(
    fetch_children.zstd_cli() is None, reason="needs the zstd CLI (make test installs it)"
)

IDENTITY = x25519.Identity.generate()
# Larger than the pipes between the processes (1 MiB each), half of it incompressible.
RAW = os.urandom(3 << 20) + b"nzila " * (600 << 10)


def compressed(raw: bytes = RAW) -> bytes:
    return zstandard.ZstdCompressor(level=3, write_checksum=True).compress(raw)


def encrypted(data: bytes) -> bytes:
    return encrypt(data, [IDENTITY.to_public()])


def run(
    stored: bytes, output: Path | str, identities: list | None = None
) -> tuple[int | None, HashingReader, dict[str, float], list[int]]:
    reader = HashingReader(io.BytesIO(stored))
    times = StageTimes()
    progress: list[int] = []
    with open(output, "wb") as file:
        size = unpack_into_file(reader, file, identities, progress.append, times)
    return size, reader, times.rounded(), progress


def flipped(data: bytes, at: int) -> bytes:
    changed = bytearray(data)
    changed[at] ^= 0x40
    return bytes(changed)


def no_children_left() -> bool:
    return all(child.state != "Z" for child in children()) and not any(
        b"zstd" in child.cmdline or b"pyrage" in child.cmdline for child in children()
    )


@pytest.mark.parametrize("is_encrypted", [True, False], ids=["age + zstd", "zstd"])
def test_the_children_write_exactly_the_dump(tmp_path: Path, is_encrypted: bool) -> None:
    stored = encrypted(compressed()) if is_encrypted else compressed()
    output = tmp_path / "raw.dump"
    size, reader, times, progress = run(stored, output, [IDENTITY] if is_encrypted else None)
    assert size == len(RAW)
    assert output.read_bytes() == RAW
    assert reader.count == len(stored)  # all of it was read, and hashed on the way
    assert progress[-1] == len(stored)
    assert times["decompress"] > 0
    assert ("decrypt" in times) == is_encrypted
    assert no_children_left()


@pytest.mark.parametrize("where", ["flipped", "truncated"])
def test_a_bad_zstd_stream_is_rejected_as_corrupt(tmp_path: Path, where: str) -> None:
    good = compressed()
    # Past the frame header, in the data: only zstd itself can tell (no age, no checksum here).
    bad = flipped(good, len(good) // 2) if where == "flipped" else good[: len(good) * 3 // 4]
    with pytest.raises(ZstdRejected):
        run(bad, tmp_path / "raw.dump")
    assert no_children_left()


def test_a_flipped_byte_in_the_ciphertext_is_rejected_by_age(tmp_path: Path) -> None:
    stored = encrypted(compressed())
    with pytest.raises(AgeRejected):
        run(flipped(stored, len(stored) // 2), tmp_path / "raw.dump", [IDENTITY])
    assert no_children_left()


def test_zstd_data_that_age_authenticated_but_zstd_refuses_blames_zstd(tmp_path: Path) -> None:
    # zstd stops first and breaks age's pipe: age is not the one to blame.
    good = compressed()
    stored = encrypted(flipped(good, 64 << 10))
    with pytest.raises(ZstdRejected):
        run(stored, tmp_path / "raw.dump", [IDENTITY])
    assert no_children_left()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("is_encrypted", [True, False], ids=["age + zstd", "zstd"])
def test_a_full_disk_is_a_full_disk_not_a_corrupt_backup(is_encrypted: bool) -> None:
    stored = encrypted(compressed()) if is_encrypted else compressed()
    with pytest.raises(OpsError, match="zstd -d could not write the dump file") as caught:
        run(stored, "/dev/full", [IDENTITY] if is_encrypted else None)
    assert not isinstance(caught.value, (ZstdRejected, AgeRejected))
    assert no_children_left()


def test_without_the_zstd_cli_nothing_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fetch_children, "zstd_cli", lambda: None)
    size, reader, _, progress = run(compressed(), tmp_path / "raw.dump")
    assert size is None
    assert reader.count == 0 and progress == []  # the caller can still do it all itself


def test_without_a_decryption_child_nothing_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fetch_children, "start_child", lambda identities: None)
    size, reader, _, _ = run(encrypted(compressed()), tmp_path / "raw.dump", [IDENTITY])
    assert size is None and reader.count == 0
    assert no_children_left()


def unrunnable_zstd(bin_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``zstd`` first on PATH that the kernel refuses to start: its interpreter is missing."""
    bin_dir.mkdir()
    (bin_dir / "zstd").write_text("#!/nonexistent/interpreter\n")
    (bin_dir / "zstd").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


@pytest.mark.parametrize("is_encrypted", [True, False], ids=["age + zstd", "zstd"])
def test_a_zstd_that_cannot_start_reads_nothing_and_leaves_no_child(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, is_encrypted: bool
) -> None:
    unrunnable_zstd(tmp_path / "bin", monkeypatch)
    stored = encrypted(compressed()) if is_encrypted else compressed()
    size, reader, _, progress = run(
        stored, tmp_path / "raw.dump", [IDENTITY] if is_encrypted else None
    )
    assert size is None
    assert reader.count == 0 and progress == []  # the caller can still do it all itself
    assert no_children_left()


def test_a_source_that_fails_mid_way_raises_its_own_error(tmp_path: Path) -> None:
    class Cut(io.BytesIO):
        def read(self, size: int = -1) -> bytes:
            if self.tell() > (1 << 20):
                raise ConnectionResetError("connection reset by peer")
            return super().read(size)

    reader = HashingReader(Cut(encrypted(compressed())))
    with open(tmp_path / "raw.dump", "wb") as file, pytest.raises(ConnectionResetError):
        unpack_into_file(reader, file, [IDENTITY], lambda n: None, StageTimes())
    assert no_children_left()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(stored=st.binary(max_size=4096), is_encrypted=st.booleans())
def test_whatever_storage_returns_is_refused_or_read_never_a_crash(
    tmp_path: Path, stored: bytes, is_encrypted: bool
) -> None:
    try:
        size, *_ = run(stored, tmp_path / "raw.dump", [IDENTITY] if is_encrypted else None)
    except (ZstdRejected, AgeRejected):
        pass
    else:  # only what zstd accepts whole: nothing at all, or a valid stream by chance
        assert size == (tmp_path / "raw.dump").stat().st_size
    assert no_children_left()


def test_a_decryption_child_that_dies_is_a_failed_process_not_a_corrupt_backup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_start = fetch_children.start_child

    def killed_at_once(identities: list) -> object:
        child = real_start(identities)
        child.process.kill()  # the OOM killer, an operator's kill -9
        return child

    monkeypatch.setattr(fetch_children, "start_child", killed_at_once)
    with pytest.raises(OpsError, match=r"^the age decryption process failed: exit status -9$"):
        run(encrypted(compressed()), tmp_path / "raw.dump", [IDENTITY])
    assert no_children_left()
