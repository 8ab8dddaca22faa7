"""Deterministic ids: a derived event's id is computed from its cause, so a retry or a
replay produces the same id and every consumer can drop the duplicate."""
from __future__ import annotations

import hashlib
import uuid

NAMESPACE = uuid.UUID("6f1c2a4e-9b7d-5c3e-8a21-4d0f6b9e7c10")
_PREFIX = NAMESPACE.bytes


def derived_id(matter_id: str, kind: str, *parts: object) -> str:
    """e.g. ``derived_id(m, "escalated", "grid", 1)`` — same inputs, same id, forever.

    Exactly ``str(uuid.uuid5(NAMESPACE, "|".join(...)))``, computed without building UUID
    objects: the state machine mints one or two of these per event.
    """
    name = "|".join([matter_id, kind, *(str(p) for p in parts)])
    h = bytearray(hashlib.sha1(_PREFIX + name.encode("utf-8")).digest()[:16])
    h[6] = (h[6] & 0x0F) | 0x50  # version 5
    h[8] = (h[8] & 0x3F) | 0x80  # RFC 4122 variant
    x = h.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"
