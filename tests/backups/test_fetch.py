"""The fetch phase shared by restores, drills and verify_backup.

age decryption runs in a child process beside decompression. What an operator relies on: the
private key never shows in that process's command line or environment; a failing destination
stops it; a download cut mid-way resumes where it stopped, and one that keeps failing is a
storage failure (never "corrupt"), with the live database untouched.
"""

from __future__ import annotations

import errno
import os
import sys
from io import BytesIO, StringIO
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from django.core.management import CommandError, call_command
from django.db import connections

from nzila_ops.backups.age_process import AgeRejected, decrypt_into
from nzila_ops.backups.manifest import resolve_backup
from nzila_ops.backups.storages import get_storage
from nzila_ops.backups.streams import HashingReader
from nzila_ops.backups.unpack import identities_for, unpack_backup
from nzila_ops.exceptions import StorageError
from tests.backups.helpers import APP_TABLES, only_manifest
from tests.support import pg
from tests.support.procs import children
from tests.support.s3 import FaultyProxy

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes in /proc"),
]


def decryption_processes() -> list[tuple[bytes, bytes]]:
    """(command line, environment) of this process's children that run pyrage, and of any
    child that exited without being reaped (a zombie's command line is empty)."""
    return [
        (child.cmdline, child.environ)
        for child in children()
        if b"pyrage" in child.cmdline or child.state == "Z"
    ]


def fetch(sink: Any) -> Any:
    storage = get_storage()
    manifest = resolve_backup(storage, "default", None, True)
    return unpack_backup(storage, manifest, sink, identities_for(manifest))


@pytest.fixture
def stored(ops_settings: Any, seeded_postgres: dict, backup_dir: Path) -> dict:
    # Larger than the pipes and buffers between the processes (about 3 MiB), so the child is
    # still decrypting when the first plaintext arrives.
    pg.add_incompressible_rows(6)
    call_command("backup_database", stdout=StringIO())
    return only_manifest(backup_dir)


class WatchingSink:
    """Counts what it is given; at the first write, notes the decryption processes running."""

    def __init__(self) -> None:
        self.seen: list[tuple[bytes, bytes]] = []
        self.count = 0

    def write(self, data: bytes) -> int:
        if not self.count:
            self.seen = decryption_processes()
        self.count += len(data)
        return len(data)


def test_the_private_key_reaches_the_decryption_process_through_a_pipe_only(
    stored: dict, age_key: tuple[Path, str]
) -> None:
    secret = age_key[0].read_text().split()[-1].encode()
    assert secret.startswith(b"AGE-SECRET-KEY-1")
    sink = WatchingSink()
    result = fetch(sink)
    assert sink.count == result.raw_size == stored["object"]["raw_size"]
    assert sink.seen, "no decryption process was seen while the backup was decrypted"
    for cmdline, environ in sink.seen:
        assert secret not in cmdline and secret not in environ
    assert decryption_processes() == []  # exited and reaped


def test_under_an_embedding_server_decryption_runs_in_this_process(
    stored: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Under uWSGI, sys.executable is the server's binary, which cannot run `python -c`.
    monkeypatch.setattr(sys, "executable", "/usr/bin/uwsgi")
    sink = WatchingSink()
    result = fetch(sink)
    assert sink.count == result.raw_size == stored["object"]["raw_size"]
    assert sink.seen == []


@pytest.mark.parametrize("in_child", [True, False], ids=["child process", "this process"])
def test_a_flipped_byte_is_rejected_by_age(
    stored: dict, backup_dir: Path, monkeypatch: pytest.MonkeyPatch, in_child: bool
) -> None:
    if not in_child:
        monkeypatch.setattr(sys, "executable", "/usr/bin/uwsgi")
    data = bytearray((backup_dir / stored["object"]["key"]).read_bytes())
    data[len(data) // 2] ^= 0x01
    sink = WatchingSink()
    with pytest.raises(AgeRejected):
        decrypt_into(HashingReader(BytesIO(bytes(data))), sink, identities_for(stored))
    assert 0 < sink.count < stored["object"]["stored_size"]  # the chunks before it came through
    assert bool(sink.seen) == in_child
    assert decryption_processes() == []


def test_a_failing_destination_stops_the_decryption_process(stored: dict) -> None:
    class FullDisk:
        def write(self, data: bytes) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError) as caught:
        fetch(FullDisk())
    assert caught.value.errno == errno.ENOSPC  # reported as itself, not as a corrupt backup
    assert decryption_processes() == []


@pytest.fixture
def s3_through_proxy(ops_settings: Any, seeded_postgres: dict, s3_bucket: str, aws_env: str) -> Any:
    """A backup in S3 of 24 MiB, reached through a proxy that can cut a download.

    Large enough that a cut at three quarters comes after anything a test does at the first
    write: the pipes and socket buffers between storage and sink hold no more than ~12 MiB."""
    pg.add_incompressible_rows(24)
    proxy = FaultyProxy(urlparse(aws_env).port)
    url = f"s3://{s3_bucket}/p?endpoint_url={proxy.url}"
    ops_settings.NZILA_OPS = {**ops_settings.NZILA_OPS, "STORAGES": {"default": url}}
    call_command("backup_database", stdout=StringIO())
    storage = get_storage()
    proxy.stored_size = resolve_backup(storage, "default", None, True)["object"]["stored_size"]
    proxy.settings = ops_settings
    yield proxy
    proxy.close()


def with_max_attempts(proxy: Any, attempts: int) -> None:
    settings = proxy.settings
    url = settings.NZILA_OPS["STORAGES"]["default"] + f"&max_attempts={attempts}"
    settings.NZILA_OPS = {**settings.NZILA_OPS, "STORAGES": {"default": url}}


def test_a_download_cut_mid_way_resumes_where_it_stopped(s3_through_proxy: Any) -> None:
    proxy = s3_through_proxy
    assert proxy.stored_size > 24 << 20
    # Two cuts, a third of the object apart: each resume brings data, so two attempts in a row
    # are never used up, however many glitches a long download meets.
    with_max_attempts(proxy, 2)
    proxy.fail_next(download_after=proxy.stored_size // 3, times=2)
    result = fetch(WatchingSink())  # raises unless the SHA-256 of the whole object matches
    assert proxy.resets == 2
    assert result.stored_size == proxy.stored_size


def test_an_object_replaced_during_a_download_is_not_spliced_in(
    s3_through_proxy: Any, s3_client: Any, s3_bucket: str
) -> None:
    proxy = s3_through_proxy
    manifest = resolve_backup(get_storage(), "default", None, True)
    key = f"p/{manifest['object']['key']}"

    class ReplacingSink(WatchingSink):
        def write(self, data: bytes) -> int:
            if not self.count:
                s3_client.put_object(Bucket=s3_bucket, Key=key, Body=os.urandom(1 << 20))
            return super().write(data)

    proxy.fail_next(download_after=proxy.stored_size * 3 // 4)
    with pytest.raises(StorageError) as caught:
        fetch(ReplacingSink())
    assert proxy.resets == 1
    assert "the object changed in S3 bucket" in str(caught.value)
    assert decryption_processes() == []


def test_a_download_that_keeps_failing_is_a_storage_failure(s3_through_proxy: Any) -> None:
    proxy = s3_through_proxy
    with_max_attempts(proxy, 1)
    url = proxy.settings.NZILA_OPS["STORAGES"]["default"]
    live = connections["default"].settings_dict["NAME"]
    before = pg.snapshot(live, APP_TABLES)
    proxy.fail_next(download_after=proxy.stored_size // 2)

    with pytest.raises(CommandError) as caught:
        call_command("restore_database", "--latest", "--no-input", stdout=StringIO())

    message = str(caught.value)
    assert proxy.resets == 1
    assert f"the download from S3 bucket {urlparse(url).netloc!r} failed after" in message
    assert "corrupt" not in message and "\n" not in message
    assert pg.snapshot(live, APP_TABLES) == before
    assert pg.databases_like(f"{live}_") == []
