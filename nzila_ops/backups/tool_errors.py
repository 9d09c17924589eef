"""The one line an operator sees when a command-line tool we run fails (pg_dump, pg_restore,
age, zstd): the cause, not what the tool printed after it."""

from __future__ import annotations

import re
from typing import Any


def tool_error(stderr: Any, returncode: int, tool: str) -> str:
    """One line from a failed tool's stderr (a file): its first error, without the tool's own
    prefix; later lines are usually consequences of the first, or boilerplate (age always
    ends with "report unexpected or unhelpful errors at ...")."""
    stderr.seek(0)
    lines = [line.strip() for line in stderr.read().decode(errors="replace").splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return f"exit status {returncode}"
    errors = [line for line in lines if "error" in line.lower()]
    return re.sub(rf"^{re.escape(tool)}:\s*(error:\s*)?", "", (errors or lines)[0])
