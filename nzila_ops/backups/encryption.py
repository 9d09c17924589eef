"""age encryption (https://age-encryption.org/v1) to X25519 recipients, through pyrage.

An app host holds only public recipients (``age1...``): it can write backups but not read them.
The private identity (``AGE-SECRET-KEY-1...``) is needed only to restore or verify. Files are
standard age files: ``age -d -i key.txt`` decrypts them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from pyrage import x25519

from nzila_ops.exceptions import ConfigurationError

ENCRYPTION_FORMAT = "age-v1"


def recipient_fingerprint(recipient: str) -> str:
    """A short stable id for a public key, stored in manifests to match identities later."""
    return "sha256:" + hashlib.sha256(recipient.strip().encode()).hexdigest()[:16]


def parse_recipients(values: Iterable[str]) -> list[x25519.Recipient]:
    recipients = []
    for value in values:
        value = value.strip()
        try:
            recipients.append(x25519.Recipient.from_str(value))
        except Exception:
            shown = value if len(value) <= 24 else value[:20] + "..."
            raise ConfigurationError(
                f"invalid age recipient {shown!r}: expected an X25519 public key starting 'age1'"
            ) from None
    return recipients


def load_identities(path: str | Path) -> list[x25519.Identity]:
    """Read an age identity file (as written by ``age-keygen``): one key a line, # comments."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigurationError(f"cannot read age identity file {path}: {exc.strerror}") from None
    identities = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            identities.append(x25519.Identity.from_str(line))
        except Exception:
            # Never echo the line: it is a secret key (or a mangled one).
            raise ConfigurationError(
                f"age identity file {path}, line {number}: not an AGE-SECRET-KEY-1 identity"
            ) from None
    if not identities:
        raise ConfigurationError(f"age identity file {path} holds no identity")
    return identities


def identity_fingerprints(identities: Iterable[x25519.Identity]) -> set[str]:
    return {recipient_fingerprint(str(identity.to_public())) for identity in identities}
