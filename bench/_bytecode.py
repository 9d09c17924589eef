"""Bytecode for the code under test, as a deployed install has it.

``pip install`` compiles every module it installs, so a host project's ``manage.py`` reads
``.pyc`` files. Here nzila_ops is an editable install and the environment may set
``PYTHONDONTWRITEBYTECODE=1`` (this workplace does): every timed command would then compile
nzila_ops and the example project from source again, 50-80 ms of start-up a deployment never
pays. Compiling once, untimed, before the runs (``compileall`` writes the files whatever that
variable says; Python still reads them) makes the bench time what an operator runs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def compile_bytecode(repo: Path) -> None:
    """Best effort: a tree that cannot be compiled is timed as it is."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "compileall",
            "-q",
            str(repo / "nzila_ops"),
            str(repo / "example_project"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
