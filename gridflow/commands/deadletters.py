"""gridflow deadletters: list and filter the dead-letter topic, show one decoded, and re-drive
records after a fix, never twice (docs/operations.md, "Dead letters").

Exit codes: 0 done; 1 a dead letter not found, or one refused for a re-drive (the line says why);
2 bad arguments; 3 Kafka unreachable or the topic missing."""
from __future__ import annotations

import argparse
import csv
import io
import json
import shutil
import sys
import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

STAGES = ("intake", "matters", "projector")
FORMATS = ("table", "csv", "json", "jsonl")
COLUMNS = ("ref", "at", "stage", "code", "matter", "type", "event_id", "source", "redriven", "message")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = sub.add_parser("list", help="dead letters, filtered, as a table, CSV, JSON or JSON lines",
                             description="Dead letters on <prefix>.matters.deadletter, oldest first per partition.")
    _filters(listing)
    listing.add_argument("--format", choices=FORMATS, default="table",
                         help="table (for people), csv, json (one list) or jsonl (one object a line)")
    listing.add_argument("--limit", type=int, default=100, help="rows to print in the table (default 100)")
    show = sub.add_parser("show", help="one dead letter decoded: reason, source, original bytes",
                          description="Dead letters named by their ref (<partition>:<offset>, as `list` shows).")
    show.add_argument("refs", nargs="+", metavar="REF", help="<partition>:<offset> on the dead-letter topic")
    show.add_argument("--format", choices=("table", "json"), default="table")
    show.add_argument("--tz", default="Asia/Shanghai", help="time zone of the times shown")
    redrive = sub.add_parser("redrive", help="send dead letters to the intake again after a fix, once each",
                             description="Send the original bytes (or, with --file, a corrected event under a new "
                                         "id) of each selected dead letter to the intake; a dead letter already "
                                         "re-driven is skipped.")
    redrive.add_argument("refs", nargs="*", metavar="REF", help="<partition>:<offset>; or select with the filters")
    _filters(redrive)
    redrive.add_argument("--file", metavar="FILE",
                         help="a corrected event (one JSON object as in docs/events.md) with a new event id, sent "
                              "instead of the original of the one selected dead letter")
    redrive.add_argument("--dry-run", action="store_true", help="say what would be sent; send nothing")


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stage", action="append", choices=STAGES, default=[], help="only this stage (repeatable)")
    parser.add_argument("--code", action="append", default=[], metavar="CODE",
                        help="only this reason code, e.g. invalid, unknown_matter (repeatable)")
    parser.add_argument("--matter", action="append", default=[], metavar="ID", help="only this matter (repeatable)")
    parser.add_argument("--from", dest="since", metavar="WHEN",
                        help="dead-lettered at or after: 2026-03-16 or 2026-03-16T09:00 (in --tz unless an offset "
                             "is given)")
    parser.add_argument("--to", dest="until", metavar="WHEN", help="dead-lettered before (exclusive)")
    parser.add_argument("--tz", default="Asia/Shanghai", help="time zone of --from/--to and of the times shown")


class Usage(ValueError):
    pass


def run(args: argparse.Namespace, settings) -> int:
    from kafka.errors import KafkaError

    from deploy.process import StackError
    from gridflow.deadletters.topic import TopicMissing

    try:
        zone = _zone(args.tz)
        if args.action == "list":
            return _list(args, settings, zone)
        if args.action == "show":
            return _show(args, settings, zone)
        return _redrive(args, settings, zone)
    except Usage as exc:
        return _error(str(exc), 2)
    except LookupError as exc:
        return _error(str(exc), 1)
    except (KafkaError, TopicMissing, TimeoutError, StackError) as exc:
        return _error(f"Kafka at {settings.kafka_bootstrap}: {exc}" if isinstance(exc, KafkaError) else str(exc), 3)


def _error(message: str, code: int) -> int:
    print(f"gridflow deadletters: {message}", file=sys.stderr)
    return code


# --- selecting ------------------------------------------------------------------------------

def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Usage(f"--tz: unknown time zone {name!r} (an IANA name such as Asia/Shanghai or UTC)") from None


def _epoch_ms(text: str | None, zone: ZoneInfo, flag: str) -> int | None:
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise Usage(f"{flag}: expected a date like 2026-03-16 or 2026-03-16T09:00, got {text!r}") from None
    return int((when if when.tzinfo else when.replace(tzinfo=zone)).timestamp() * 1000)


def _filter(args, zone):
    from gridflow.deadletters.letters import Filter

    return Filter(stages=tuple(args.stage), codes=tuple(args.code), matters=tuple(args.matter),
                  since=_epoch_ms(args.since, zone, "--from"), until=_epoch_ms(args.until, zone, "--to"))


class Scanning:
    """A scan of the topic with its progress on stderr: iterate it for the letters, then
    ``counts`` says how many were read."""

    def __init__(self, settings, filt) -> None:
        from gridflow.deadletters.topic import Counts

        self.settings, self.filt, self.counts = settings, filt, Counts()

    def __iter__(self):
        from gridflow.deadletters.topic import scan

        progress = Progress()
        try:
            yield from scan(self.settings, self.filt, progress.show, self.counts)
        finally:
            progress.end()
        if self.counts.unreadable:
            print(f"gridflow deadletters: {self.counts.unreadable} record(s) on {self.settings.topics.deadletter} "
                  "are not dead letters; left out", file=sys.stderr)


class Progress:
    """Records read, on stderr: redrawn in place on a terminal, a line every 5 s in a log;
    nothing for a scan shorter than a second."""

    def __init__(self, stream=sys.stderr) -> None:
        self.stream, self.tty = stream, stream.isatty()
        self.started = self.last = time.monotonic()
        self.drawn = False

    def show(self, read: int, total: int) -> None:
        now = time.monotonic()
        if now - self.started < 1 or now - self.last < (0.2 if self.tty else 5):
            return
        self.last = now
        line = f"deadletters: read {read:,} of {total:,} records ({read / max(total, 1):.0%})"
        self.stream.write(f"\r{line}\x1b[K" if self.tty else line + "\n")
        self.stream.flush()
        self.drawn = self.tty

    def end(self) -> None:
        if self.drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


# --- list -----------------------------------------------------------------------------------

def _when(ms: int, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).astimezone(zone).isoformat(timespec="milliseconds")


def _row(letter, marks: dict, zone: ZoneInfo) -> dict:
    return {"ref": letter.ref, "at": _when(letter.at, zone), "stage": letter.stage, "code": letter.code,
            "matter": letter.matter, "type": letter.type, "event_id": letter.original_id or "",
            "source": f"{letter.source_topic}[{letter.source_partition}]@{letter.source_offset}",
            "redriven": letter.ref in marks, "message": letter.message}


def _list(args, settings, zone) -> int:
    from gridflow.deadletters.topic import markers

    marks = markers(settings)
    scanning = Scanning(settings, _filter(args, zone))
    rows = (_row(letter, marks, zone) for letter in scanning)
    out = sys.stdout
    if args.format == "json":  # one list, written as it is read
        out.write("[")
        for i, row in enumerate(rows):
            out.write(("," if i else "") + "\n" + json.dumps(row, ensure_ascii=False))
        out.write("\n]\n")
    elif args.format == "jsonl":
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    elif args.format == "csv":
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({**r, "redriven": "true" if r["redriven"] else "false"} for r in rows)
    else:
        shown, redriven = [], 0
        for row in rows:  # the table's rows are kept; the others only counted
            redriven += row["redriven"]
            if len(shown) <= args.limit:
                shown.append(row)
        n = scanning.counts.matched
        out.write(_table(shown, args.limit, n) if shown else "")
        out.write(f"({n} dead letter{'s' if n != 1 else ''} of {scanning.counts.read:,} read on "
                  f"{settings.topics.deadletter}; {redriven} re-driven)\n")
    return 0


def _table(rows: list[dict], limit: int, total: int) -> str:
    """Aligned columns; the message cut to what the terminal leaves."""
    names = ("ref", "at", "stage", "code", "matter", "type", "redriven", "message")
    shown = [{**r, "at": r["at"][:19].replace("T", " "), "redriven": "yes" if r["redriven"] else ""}
             for r in rows[:limit]]
    widths = {n: max([len(n)] + [len(str(r[n])) for r in shown]) for n in names[:-1]}
    room = max(20, shutil.get_terminal_size((160, 24)).columns - sum(widths.values()) - 2 * len(widths))
    buf = io.StringIO()
    buf.write("  ".join(n.ljust(widths.get(n, 0)) for n in names).rstrip() + "\n")
    for r in shown:
        message = r["message"] if len(r["message"]) <= room else r["message"][:room - 1] + "…"
        buf.write("  ".join([str(r[n]).ljust(widths[n]) for n in names[:-1]] + [message]).rstrip() + "\n")
    if total > limit:
        buf.write(f"(first {limit} shown: --limit, or --format csv for all)\n")
    return buf.getvalue()


# --- show -----------------------------------------------------------------------------------

def _refs(texts: list[str]) -> list[tuple[int, int]]:
    from gridflow.deadletters.letters import parse_ref

    try:
        return [parse_ref(t) for t in texts]
    except ValueError as exc:
        raise Usage(str(exc)) from None


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return repr(bytes(value))
    return value


def _redrive_note(letter, marks: dict) -> str:
    from gridflow.deadletters.letters import Refused, plan

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


def _show(args, settings, zone) -> int:
    import base64

    from gridflow.deadletters.topic import fetch, markers

    letters = fetch(settings, _refs(args.refs))
    marks = markers(settings)
    for i, letter in enumerate(letters):
        if args.format == "json":
            row = _row(letter, marks, zone) | {
                "reason": f"{letter.code}: {letter.message}", "key": letter.key.decode("utf-8", "replace"),
                "source_topic": letter.source_topic, "source_partition": letter.source_partition,
                "source_offset": letter.source_offset, "redrive": _redrive_note(letter, marks),
                "original_bytes": len(letter.original), "original_base64": base64.b64encode(letter.original).decode(),
                "original": _jsonable(letter.wire) if letter.wire is not None else None}
            print(json.dumps(row, ensure_ascii=False, indent=1))
            continue
        if i:
            print()
        fields = [("dead letter", f"{letter.ref} on {settings.topics.deadletter}"),
                  ("at", _when(letter.at, zone)), ("stage", letter.stage), ("code", letter.code),
                  ("reason", letter.message),
                  ("source", f"{letter.source_topic} partition {letter.source_partition} offset {letter.source_offset}"),
                  ("key", letter.key.decode("utf-8", "replace")), ("matter", letter.matter),
                  ("type", letter.type or "-"), ("event id", letter.original_id or "-"),
                  ("re-drive", _redrive_note(letter, marks))]
        for name, value in fields:
            print(f"{name:<12}{value}")
        if letter.wire is not None:
            print(f"original    {len(letter.original):,} bytes of msgpack:")
            print(json.dumps(_jsonable(letter.wire), ensure_ascii=False, indent=2))
        else:
            excerpt = letter.original[:512]
            more = f" (first {len(excerpt)} shown)" if len(letter.original) > len(excerpt) else ""
            print(f"original    {len(letter.original):,} bytes, not msgpack{more}: {excerpt!r}")
    return 0


# --- redrive --------------------------------------------------------------------------------

def _corrected(path: str):
    from events import EventError
    from gridflow.sdk.jsonl import parse_line

    try:
        text = open(path, encoding="utf-8").read()
    except OSError as exc:
        raise Usage(f"--file {path}: {exc.strerror}") from None
    try:
        return parse_line(text)
    except EventError as exc:
        raise Usage(f"--file {path}: {exc}") from None


def _redrive(args, settings, zone) -> int:
    from gridflow.deadletters.letters import Refused, plan
    from gridflow.deadletters.topic import fetch, markers, redrive

    filt = _filter(args, zone)
    if args.refs and not filt.empty:
        raise Usage("name dead letters by ref or select them with filters, not both")
    if args.refs:
        letters = fetch(settings, _refs(args.refs))
    elif not filt.empty:
        letters = list(Scanning(settings, filt))
    else:
        raise Usage("say which dead letters: REF ... or a filter (--code, --stage, --matter, --from, --to)")
    corrected = _corrected(args.file) if args.file else None
    if corrected is not None and len(letters) != 1:
        raise Usage(f"--file corrects one dead letter; {len(letters)} are selected")
    marks = markers(settings)
    sends, lines, refused, skipped = [], [], 0, 0
    for letter in sorted(letters, key=lambda d: (d.at, d.partition, d.offset)):
        if letter.ref in marks:
            skipped += 1
            lines.append((letter, "skipped: already re-driven, " + _redrive_note(letter, marks)))
            continue
        try:
            send = plan(letter, corrected)
        except Refused as exc:
            refused += 1
            lines.append((letter, f"refused: {exc}"))
            continue
        sends.append(send)
        lines.append((letter, f"{'would send' if args.dry_run else 'sent'} the {send.how} event {send.event_id}"))
    if sends and not args.dry_run:
        redrive(settings, sends)
    for letter, what in lines:
        print(f"{letter.ref:<10} {letter.code:<16} {letter.matter[:24]:<24} {what}")
    verb = "would re-drive" if args.dry_run else "re-drove"
    print(f"{verb} {len(sends)} to {settings.topics.intake}; {skipped} already re-driven; {refused} refused")
    return 1 if refused else 0
