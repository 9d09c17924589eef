"""manage.py export_grafana_dashboard [--output FILE] — the shipped Grafana dashboard JSON."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from nzila_ops.exceptions import InvalidArgument
from nzila_ops.management.base import OpsCommand
from nzila_ops.observability.grafana import dashboard_json


def shown(path: str) -> str:
    """A path as the operator typed it, on one line (a name may hold a newline or worse)."""
    return path if path.isprintable() else repr(path)


def write_whole(path: str, text: str) -> None:
    """Write ``text`` to the file ``path`` all at once: a temporary file beside it, then a
    rename, so a provisioning Grafana never loads half a dashboard and a failure leaves the old
    file as it was and nothing else behind.

    The rename replaces what is at the path, so only a regular file (or a new name) is taken: a
    directory, a device (``/dev/full`` would be replaced by a file as root) or a socket is
    refused, and a symbolic link is followed, so the link itself stays."""
    target = Path(os.path.realpath(path))
    # os.path's tests, not Path's: they answer False for a name too long to look up.
    if os.path.lexists(target) and not os.path.isfile(target):
        kind = "a directory" if os.path.isdir(target) else "not a regular file"
        raise InvalidArgument(f"cannot write {shown(path)}: it is {kind}")
    try:
        fd, temp = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name[:64]}.", suffix=".tmp"
        )
    except OSError as exc:
        raise InvalidArgument(f"cannot write {shown(path)}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        # mkstemp makes the file 0600; a dashboard is read by Grafana's own user.
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    except OSError as exc:
        Path(temp).unlink(missing_ok=True)
        raise InvalidArgument(f"cannot write {shown(path)}: {exc.strerror or exc}") from None


class Command(OpsCommand):
    help = "Print the Grafana dashboard for /ops/metrics (or write it to --output FILE)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--output", metavar="FILE", help="write to FILE instead of stdout")

    def run(self, **options: Any) -> None:
        text = dashboard_json()
        output = options["output"]
        if output is None:
            self.stdout.write(text, ending="")
            return
        # A name that ends in a separator, ".", or "..", names a directory whatever exists.
        if not output or "\x00" in output or os.path.basename(output) in ("", ".", ".."):
            raise InvalidArgument(f"--output {output!r} is not a file name")
        write_whole(output, text)
        self.stdout.write(f"wrote the Grafana dashboard to {shown(output)}")
