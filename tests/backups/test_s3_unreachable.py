"""An S3 endpoint that is down (nothing listening) or hangs (accepts, never answers): every
method of the storage contract fails with one StorageError line marked transient, never a raw
botocore exception, and a command says so in one line."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from nzila_ops.backups.storages.s3 import S3Storage
from nzila_ops.exceptions import StorageError
from tests.support.s3 import free_port


def _write_object(storage: S3Storage) -> None:
    writer = storage.open_writer("db/a.bin")
    writer.write(b"x" * 100)
    writer.commit()


def _write_parts(storage: S3Storage) -> None:
    writer = storage.open_writer("db/b.bin")
    writer.write(b"x" * (6 << 20))  # one whole part: a multipart upload
    writer.commit()


CONTRACT: dict[str, Callable[[S3Storage], Any]] = {
    "check": lambda s: s.check(),
    "check_immutability": lambda s: s.check_immutability(),
    "open_writer+commit": _write_object,
    "open_writer multipart": _write_parts,
    "open_reader": lambda s: s.open_reader("db/a.bin"),
    "write_bytes": lambda s: s.write_bytes("db/m.json", b"{}"),
    "read_bytes": lambda s: s.read_bytes("db/m.json"),
    "exists": lambda s: s.exists("db/m.json"),
    "size": lambda s: s.size("db/m.json"),
    "delete": lambda s: s.delete("db/m.json"),
    "lock_until": lambda s: s.lock_until("db/m.json"),
    "extend_lock": lambda s: s.extend_lock("db/m.json", datetime.now(UTC) + timedelta(days=1)),
    "list_keys": lambda s: list(s.list_keys()),
    "sweep_abandoned_writes": lambda s: s.sweep_abandoned_writes(),
}


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def closed_port() -> str:
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def silent_port() -> Iterator[str]:
    """Accepts connections (the kernel's backlog) and never answers: a hung endpoint."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def storage_at(endpoint: str, lock: bool) -> S3Storage:
    return S3Storage(
        "secondary",
        bucket="nzila-gone",
        prefix="dr",
        region="eu-west-1",
        endpoint_url=endpoint,
        max_attempts=1,
        connect_timeout=1,
        read_timeout=0.5,
        object_lock="governance" if lock else None,
    )


def assert_one_transient_line(call: Callable[[S3Storage], Any], storage: S3Storage) -> str:
    with pytest.raises(StorageError) as raised:
        call(storage)
    message = str(raised.value)
    assert "\n" not in message
    assert "nzila-gone" in message, message
    assert raised.value.transient, message
    return message


@pytest.mark.parametrize("lock", [False, True], ids=["plain", "object-lock"])
@pytest.mark.parametrize("method", sorted(CONTRACT))
def test_every_method_on_a_closed_port_is_one_transient_storage_error(
    credentials: None, closed_port: str, method: str, lock: bool
) -> None:
    storage = storage_at(closed_port, lock)
    if not lock and method in ("check_immutability", "lock_until", "extend_lock"):
        # Without object lock these make no request: nothing to fail.
        assert CONTRACT[method](storage) is None
        return
    assert "cannot reach S3" in assert_one_transient_line(CONTRACT[method], storage)


@pytest.mark.parametrize("method", ["exists", "size", "read_bytes", "list_keys", "write_bytes"])
def test_a_hung_endpoint_times_out_as_one_transient_storage_error(
    credentials: None, silent_port: str, method: str
) -> None:
    message = assert_one_transient_line(CONTRACT[method], storage_at(silent_port, lock=True))
    assert "did not answer in time" in message


@pytest.mark.django_db
def test_list_backups_of_an_unreachable_storage_is_one_line(
    credentials: None, closed_port: str, ops_settings: Any
) -> None:
    ops_settings.NZILA_OPS = {
        **ops_settings.NZILA_OPS,
        "STORAGES": {
            **ops_settings.NZILA_OPS["STORAGES"],
            "secondary": (
                f"s3://nzila-gone/dr?region=eu-west-1&endpoint_url={closed_port}"
                "&max_attempts=1&connect_timeout=1"
            ),
        },
    }
    with pytest.raises(CommandError) as raised:
        call_command("list_backups", "--storage", "secondary", stdout=StringIO())
    assert raised.value.returncode == 1
    assert str(raised.value).startswith("cannot reach S3 while ")
    assert "\n" not in str(raised.value)
