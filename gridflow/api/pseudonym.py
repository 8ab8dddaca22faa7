"""Reporters' pseudonyms: a keyed hash of who they are, never who they are.

The reporter id of a matter filed over HTTP is ``r-`` and the first 20 hex digits (80 bits)
of HMAC-SHA256(server secret, the strongest contact given): an e-mail address (lower-cased),
else a phone number (its digits), else the app's account id or device id (scoped by the
app). Names identify nobody reliably and are dropped. Without the secret nobody can tell
whose pseudonym it is — not even by hashing every phone number — and the same resident gets
the same pseudonym on every report, so follow-up works without a name."""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Contact:
    email: str | None = None
    phone: str | None = None
    account_id: str | None = None
    device_id: str | None = None

    def basis(self, app: str) -> str:
        if self.email:
            return "email:" + self.email.strip().lower()
        if self.phone and any(c.isdigit() for c in self.phone):
            return "phone:" + "".join(c for c in self.phone if c.isdigit())
        if self.account_id:
            return f"account:{app}:{self.account_id.strip()}"
        if self.device_id:
            return f"device:{app}:{self.device_id.strip()}"
        return f"anonymous:{app}"


def reporter_id(secret: bytes, contact: Contact, app: str) -> str:
    mac = hmac.new(secret, contact.basis(app).encode("utf-8"), hashlib.sha256).hexdigest()
    return "r-" + mac[:20]


def load_secret(value: str, path: str) -> bytes:
    """``GRIDFLOW_API_SECRET`` when set; else the file at ``path``, created with 32 random bytes
    (mode 600) the first time, so pseudonyms stay the same across restarts."""
    if value:
        return value.encode("utf-8")
    file = Path(path)
    if not file.exists():
        file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        log.warning("api: created a new pseudonym secret in %s; keep it (pseudonyms depend on it)", file)
    secret = file.read_text(encoding="utf-8").strip()
    if len(secret) < 16:
        raise ValueError(f"{file}: the pseudonym secret is shorter than 16 characters")
    return secret.encode("utf-8")
