"""Deterministic ids: a derived event's id is computed from its cause, so a retry or a
replay produces the same id and every consumer can drop the duplicate."""
from __future__ import annotations

import uuid

NAMESPACE = uuid.UUID("6f1c2a4e-9b7d-5c3e-8a21-4d0f6b9e7c10")


def derived_id(matter_id: str, kind: str, *parts: object) -> str:
    """e.g. ``derived_id(m, "escalated", "grid", 1)`` — same inputs, same id, forever."""
    name = "|".join([matter_id, kind, *(str(p) for p in parts)])
    return str(uuid.uuid5(NAMESPACE, name))
