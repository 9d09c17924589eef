"""This test process's children as any user of the machine sees them in /proc (`ps e`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Child:
    state: str  # "Z": exited, not reaped
    comm: str
    cmdline: bytes  # empty for a zombie
    environ: bytes


def children() -> list[Child]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm, rest = (entry / "stat").read_text().rsplit(")", 1)
            state, parent = rest.split()[:2]
            child = Child(
                state=state,
                comm=comm.split("(", 1)[1],
                cmdline=(entry / "cmdline").read_bytes(),
                environ=(entry / "environ").read_bytes(),
            )
        except (OSError, ValueError, IndexError):
            continue  # exited meanwhile
        if int(parent) == os.getpid():
            found.append(child)
    return found
