"""gridflow deadletters: list and filter the dead-letter topic, show one decoded, and re-drive
records after a fix, never twice (docs/operations.md, "Dead letters").

Exit codes: 0 done; 1 a dead letter not found, or one refused for a re-drive (the line says why);
2 bad arguments; 3 Kafka unreachable or the topic missing."""
from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gridflow.output import add_format_arguments, check_format_arguments, terminal_width

STAGES = ("intake", "matters", "resources", "projector")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = sub.add_parser("list", help="dead letters, filtered, as a table, CSV, JSON or JSON lines",
                             description="Dead letters on <prefix>.matters.deadletter, oldest first per partition.")
    _filters(listing)
    add_format_arguments(listing)
    listing.add_argument("--limit", type=int, default=100, help="rows to print in the table (default 100)")
    show = sub.add_parser("show", help="one dead letter decoded: reason, source, original bytes",
                          description="Dead letters named by their ref (<partition>:<offset>, as `list` shows).")
    show.add_argument("refs", nargs="+", metavar="REF", help="<partition>:<offset> on the dead-letter topic")
    show.add_argument("--format", choices=("table", "json"), default="table",
                      help="table (for people) or json (adds the original bytes in base64)")
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
        from gridflow.deadletters import render
        from gridflow.deadletters.topic import scan

        progress = render.Progress()
        try:
            yield from scan(self.settings, self.filt, progress.show, self.counts)
        finally:
            progress.end()
        if self.counts.unreadable:
            print(f"gridflow deadletters: {self.counts.unreadable} record(s) on {self.settings.topics.deadletter} "
                  "are not dead letters; left out", file=sys.stderr)


# --- list -----------------------------------------------------------------------------------

def _list(args, settings, zone) -> int:
    from gridflow.deadletters import render
    from gridflow.deadletters.topic import markers

    check_format_arguments(args)
    marks = markers(settings)
    scanning = Scanning(settings, _filter(args, zone))
    rows = (render.row(letter, marks, zone) for letter in scanning)
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
        out.write("\ufeff" if args.bom else "")
        writer = csv.DictWriter(out, fieldnames=render.COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({**r, "redriven": "true" if r["redriven"] else "false"} for r in rows)
    else:
        shown, redriven = [], 0
        for row in rows:  # the table's rows are kept; the others only counted
            redriven += row["redriven"]
            if len(shown) <= args.limit:
                shown.append(row)
        n = scanning.counts.matched
        out.write(render.table(shown, args.limit, n, terminal_width(out, args.wide)) if shown else "")
        out.write(f"({n} dead letter{'s' if n != 1 else ''} of {scanning.counts.read:,} read on "
                  f"{settings.topics.deadletter}; {redriven} re-driven)\n")
    return 0


# --- show -----------------------------------------------------------------------------------

def _refs(texts: list[str]) -> list[tuple[int, int]]:
    from gridflow.deadletters.letters import parse_ref

    try:
        return [parse_ref(t) for t in texts]
    except ValueError as exc:
        raise Usage(str(exc)) from None


def _show(args, settings, zone) -> int:
    from gridflow.deadletters import render
    from gridflow.deadletters.topic import fetch, markers

    letters = fetch(settings, _refs(args.refs))
    marks = markers(settings)
    for i, letter in enumerate(letters):
        if args.format == "json":
            print(json.dumps(render.show_json(letter, marks, zone), ensure_ascii=False, indent=1))
        else:
            print(("\n" if i else "") + render.show_text(letter, marks, zone, settings.topics.deadletter))
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
    from gridflow.deadletters import render
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
            lines.append((letter, "skipped: already re-driven, " + render.redrive_note(letter, marks)))
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
