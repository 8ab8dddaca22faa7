"""How `gridflow deadletters` prints: rows of the list, the table, one dead letter in full,
and the progress of a scan."""
from __future__ import annotations

import base64
import io
import json
import sys
import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from gridflow.deadletters.letters import Letter, Refused, plan

COLUMNS = ("ref", "at", "stage", "code", "matter", "type", "event_id", "source", "redriven", "message")


class Progress:
    """Records read, on stderr, as the shared progress line (``gridflow.console.Progress``):
    redrawn in place on a terminal, a line every 5 s in a log; nothing for a scan shorter than
    a second."""

    def __init__(self, stream=None) -> None:
        from gridflow.console import Progress as Line

        self.line = Line(stream, after=1.0, clear=True)

    def show(self, read: int, total: int) -> None:
        self.line.show("deadletters:", None, f"read {read:,} of {total:,} records ({read / max(total, 1):.0%})")

    def end(self) -> None:
        self.line.end()


def when(ms: int, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).astimezone(zone).isoformat(timespec="milliseconds")


def row(letter, marks: dict, zone: ZoneInfo) -> dict:
    return {"ref": letter.ref, "at": when(letter.at, zone), "stage": letter.stage, "code": letter.code,
            "matter": letter.matter, "type": letter.type, "event_id": letter.original_id or "",
            "source": f"{letter.source_topic}[{letter.source_partition}]@{letter.source_offset}",
            "redriven": letter.ref in marks, "message": letter.message}


def table(rows: list[dict], limit: int, total: int, width: int | None = None) -> str:
    """The shared table (``gridflow.output.table``), the message cut to what the terminal leaves."""
    from gridflow.output import table as columns

    names = ("ref", "at", "stage", "code", "matter", "type", "redriven", "message")
    shown = [[str(r[n]) for n in names]
             for r in ({**r, "at": r["at"][:19].replace("T", " "), "redriven": "yes" if r["redriven"] else ""}
                       for r in rows[:limit])]
    text = columns(names, shown, cut=[len(names) - 1], width=width) + "\n"
    if total > limit:
        text += f"(first {limit} shown: --limit, or --format csv for all)\n"
    return text


def jsonable(value):
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return repr(bytes(value))
    return value


def redrive_note(letter, marks: dict) -> str:
    mark = marks.get(letter.ref)
    if mark:
        return (f"done {datetime.fromtimestamp(mark['at'] / 1000, timezone.utc).isoformat(timespec='seconds')}, "
                f"{mark['how']} (event {mark['event_id']}, intake partition {mark['intake_partition']} offset "
                f"{mark['intake_offset']})")
    try:
        plan(letter)
        return "possible with the original bytes (`gridflow deadletters redrive " + letter.ref + "`)"
    except Refused as exc:
        return str(exc)


def show_text(letter: Letter, marks: dict, zone: ZoneInfo, topic: str) -> str:
    """One dead letter in full, for a person: its fields, then the original decoded."""
    fields = [("dead letter", f"{letter.ref} on {topic}"), ("at", when(letter.at, zone)), ("stage", letter.stage),
              ("code", letter.code), ("reason", letter.message),
              ("source", f"{letter.source_topic} partition {letter.source_partition} offset {letter.source_offset}"),
              ("key", letter.key.decode("utf-8", "replace")), ("matter", letter.matter),
              ("type", letter.type or "-"), ("event id", letter.original_id or "-"),
              ("re-drive", redrive_note(letter, marks))]
    lines = [f"{name:<12}{value}" for name, value in fields]
    if letter.wire is not None:
        lines += [f"original    {len(letter.original):,} bytes of msgpack:",
                  json.dumps(jsonable(letter.wire), ensure_ascii=False, indent=2)]
    else:
        excerpt = letter.original[:512]
        more = f" (first {len(excerpt)} shown)" if len(letter.original) > len(excerpt) else ""
        lines.append(f"original    {len(letter.original):,} bytes, not msgpack{more}: {excerpt!r}")
    return "\n".join(lines)


def show_json(letter: Letter, marks: dict, zone: ZoneInfo) -> dict:
    """One dead letter in full, for a program: the list's columns, the source, the original
    (its bytes in base64, and decoded when it is msgpack)."""
    return row(letter, marks, zone) | {
        "reason": f"{letter.code}: {letter.message}", "key": letter.key.decode("utf-8", "replace"),
        "source_topic": letter.source_topic, "source_partition": letter.source_partition,
        "source_offset": letter.source_offset, "redrive": redrive_note(letter, marks),
        "original_bytes": len(letter.original), "original_base64": base64.b64encode(letter.original).decode(),
        "original": jsonable(letter.wire) if letter.wire is not None else None}
