"""POST /matters/{id}/events: an app's later events (accepted, dispatched, resolved, ...) as
JSON, checked exactly as the SDK and ``gridflow publish`` check them.

The body is the wire map of docs/events.md without the envelope the API fills in itself:
``{"type": "accepted", "data": {...}}``, with ``at`` (epoch ms or ISO-8601 with an offset;
default now) and ``v`` (default the type's current version) optional. The matter comes from
the path, the producer from the key, the event id from the Idempotency-Key (or a fresh uuid4)."""
from __future__ import annotations

from events import codec
from events.errors import ValidationError
from events.types import REGISTRY, UPSTREAM_TYPES, Event
from events.validation import from_wire
from gridflow.api.errors import ApiError, bad, from_validation
from gridflow.api.forms import parse_json
from gridflow.sdk.factory import check_upstream, check_upstream_type, now_ms
from gridflow.sdk.jsonl import parse_iso

SERVER_FIELDS = ("id", "matter", "producer")
ALLOWED = ("type", "v", "at", "data")
POSTABLE = tuple(t for t in UPSTREAM_TYPES if t not in ("reported", "watermark"))


def read(raw: bytes, *, matter_id: str, producer: str, event_id: str, now: int | None = None) -> Event:
    body = parse_json(raw)
    for name in SERVER_FIELDS:
        if name in body:
            raise bad(name, "no value: the API sets it (the matter from the path, the producer from the key, "
                            "the event id from the Idempotency-Key header)")
    extra = sorted(set(body) - set(ALLOWED))
    if extra:
        raise bad(extra[0][:64], "one of the fields " + ", ".join(ALLOWED))
    type_name = body.get("type")
    try:
        check_upstream_type(type_name)  # the SDK's message for a derived type
    except ValidationError as exc:
        raise from_validation(exc) from None
    if type_name in ("reported", "watermark"):
        raise ApiError(400, f"type: expected one of {', '.join(POSTABLE)}, got {type_name!r} "
                            "(a matter is reported with POST /requests; watermarks are for simulations)")
    cls = REGISTRY.get(type_name) if isinstance(type_name, str) else None
    at = body.get("at")
    try:
        if isinstance(at, str):
            at = parse_iso(at)
        if at is None:
            at = now_ms() if now is None else now
        wire = {"id": event_id, "matter": matter_id, "producer": producer, "type": type_name,
                "v": body.get("v", cls.VERSION if cls else 1), "at": at, "data": body.get("data", {})}
        event = check_upstream(from_wire(wire, codec.UPCASTERS))
        codec.encode_bounded(event)
    except ValidationError as exc:
        raise from_validation(exc) from None
    return event
