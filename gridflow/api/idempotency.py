"""Idempotency keys: a retried POST names the same matter (or event), never a second one.

With an ``Idempotency-Key`` header the ids are computed, not drawn: the matter id of a report
is ``m-`` + uuid5(app, key), the id of an event ``ik-`` + uuid5(app, matter, key). So the
mapping survives a restart of the API — it is arithmetic — and the pipeline, which drops a
repeated event id, is the last line of defence. A digest of what the request asked for (the
event's type and payload, not its time) tells a true retry (same answer again) from a reuse
of the key for something else (409)."""
from __future__ import annotations

import hashlib
import uuid
from typing import Any

from events import codec
from gridflow.api.errors import ApiError

NAMESPACE = uuid.UUID("a7d3f0c2-5b1e-5f4a-9c6d-2e8b7a1f0d39")
KEY_MAX = 255
KEYED_PREFIX = "ik-"


def check_key(value: str | None) -> str | None:
    if value is None:
        return None
    if not 1 <= len(value) <= KEY_MAX or not all(" " < c <= "~" for c in value):
        raise ApiError(400, f"Idempotency-Key: expected 1-{KEY_MAX} printable ASCII characters without spaces")
    return value


def matter_id(app: str, key: str) -> str:
    return "m-" + uuid.uuid5(NAMESPACE, f"report\n{app}\n{key}").hex


def report_event_id(matter: str) -> str:
    return KEYED_PREFIX + uuid.uuid5(NAMESPACE, f"reported\n{matter}").hex


def event_id(app: str, matter: str, key: str) -> str:
    return KEYED_PREFIX + uuid.uuid5(NAMESPACE, f"event\n{app}\n{matter}\n{key}").hex


def is_keyed(event_id_: str) -> bool:
    return event_id_.startswith(KEYED_PREFIX)


def content_digest(type_name: str, data: dict[str, Any]) -> bytes:
    """8 bytes naming what an event says. ``resolved.level`` is left out: the pipeline fills
    it in, so the log's copy may carry it when the request did not."""
    items = sorted((k, v) for k, v in data.items() if v is not None and not (type_name == "resolved" and k == "level"))
    return hashlib.sha256(codec.pack([type_name, items])).digest()[:8]


def id_digest(event_id_: str) -> bytes:
    return hashlib.sha256(event_id_.encode("utf-8")).digest()[:8]
