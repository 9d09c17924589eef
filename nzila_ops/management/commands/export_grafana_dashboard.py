"""manage.py export_grafana_dashboard [--output FILE] — the shipped Grafana dashboard JSON."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from nzila_ops.exceptions import InvalidArgument
from nzila_ops.management.base import OpsCommand
from nzila_ops.observability.grafana import dashboard_json


def write_whole(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` all at once: a temporary file beside it, then a rename, so a
    provisioning Grafana never loads half a dashboard and a failure leaves nothing behind."""
    try:
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise InvalidArgument(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        # mkstemp makes the file 0600; a dashboard is read by Grafana's own user.
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except OSError as exc:
        Path(temp).unlink(missing_ok=True)
        raise InvalidArgument(f"cannot write {path}: {exc.strerror or exc}") from None


class Command(OpsCommand):
    help = "Print the Grafana dashboard for /ops/metrics (or write it to --output FILE)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--output", metavar="FILE", help="write to FILE instead of stdout")

    def run(self, **options: Any) -> None:
        text = dashboard_json()
        if options["output"] is None:
            self.stdout.write(text, ending="")
            return
        output = options["output"]
        if not output or "\x00" in output:
            raise InvalidArgument(f"--output {output!r} is not a file path")
        path = Path(output)
        if path.is_dir():
            raise InvalidArgument(f"cannot write {path}: it is a directory")
        write_whole(path, text)
        self.stdout.write(f"wrote the Grafana dashboard to {path}")
