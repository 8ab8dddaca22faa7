"""JSON-lines files of wire maps (``{id, matter, type, v, at, producer, data}``), one event a line.

For convenience ``at`` may be an ISO-8601 string with an offset (``2026-03-02T09:30:00+08:00``
or ``...Z``); it becomes UTC epoch milliseconds. Anything else is the wire contract as is.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterator

from events import EventError, ValidationError, codec
from events.types import Event, ms
from events.validation import from_wire
from gridflow.sdk.factory import check_upstream, check_upstream_type


@dataclass(frozen=True)
class LineResult:
    line: int
    event: Event | None
    error: str | None


def parse_line(text: str) -> Event:
    """One JSON line -> a validated upstream event; raises ``ValidationError`` naming the field."""
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError("line", "a JSON object", f"invalid JSON ({exc.msg} at column {exc.colno})") from None
    if isinstance(record, dict):
        check_upstream_type(record.get("type"))
        if isinstance(record.get("at"), str):
            record["at"] = parse_iso(record["at"])
    return check_upstream(from_wire(record, codec.UPCASTERS))


def parse_iso(text: str) -> int:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError("at", "UTC epoch milliseconds or an ISO-8601 time with an offset", text) from None
    if when.tzinfo is None:
        raise ValidationError("at", "an ISO-8601 time with an offset (e.g. +08:00 or Z)", text)
    return ms(when)


def read_jsonl(path: str | Path) -> Iterator[LineResult]:
    """Every non-blank line of the file, parsed: an event or the reason it was refused."""
    with Path(path).open(encoding="utf-8") as fh:
        for number, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            try:
                yield LineResult(number, parse_line(text), None)
            except EventError as exc:
                yield LineResult(number, None, str(exc))
