"""Print the demo's age public key, creating the identity file first if it does not exist.

Production keys are made with `age-keygen -o key.txt`; this is only so `make demo` needs nothing
installed but Python packages.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pyrage import x25519

path = Path(sys.argv[1])
if not path.exists():
    path.parent.mkdir(parents=True, exist_ok=True)
    identity = x25519.Identity.generate()
    path.touch(mode=0o600)
    path.write_text(f"# public key: {identity.to_public()}\n{identity}\n")
secret = next(line for line in path.read_text().splitlines() if line.startswith("AGE-SECRET-KEY"))
print(x25519.Identity.from_str(secret).to_public())
