"""`gridflow publish FILE.jsonl`: validate every line, publish the valid ones with acks=all,
and report what was read, published and refused (with line numbers). Exit 1 if any line was refused."""
from __future__ import annotations

import argparse
import sys

from gridflow.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="JSON lines: one wire map {id, matter, type, v, at, producer, data} a line")
    parser.add_argument("--dry-run", action="store_true", help="validate only, publish nothing")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the broker (default 30)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from gridflow.sdk import PublishError, Publisher, read_jsonl

    try:
        results = list(read_jsonl(args.file))
    except OSError as exc:
        print(f"gridflow publish: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    events = [r.event for r in results if r.event is not None]
    rejected = [r for r in results if r.error is not None]
    published = 0
    if events and not args.dry_run:
        try:
            # Categories are the pipeline's to judge (its policy may be newer): the wire contract only.
            with Publisher(settings, producer="gridflow-publish", check_categories=False,
                           timeout=args.timeout) as pub, pub.batch(check=False) as batch:
                batch.add_all(events)
            published = batch.acknowledged
        except PublishError as exc:
            print(f"gridflow publish: {exc}", file=sys.stderr)
            return 2
    print(report(args.file, settings.topics.intake, len(results), len(events), published, rejected, args.dry_run))
    return 1 if rejected else 0


def report(path: str, topic: str, read: int, valid: int, published: int, rejected: list, dry_run: bool) -> str:
    rows = [("file", path), ("topic", topic + (" (dry run: nothing sent)" if dry_run else "")),
            ("lines read", str(read)), ("valid", str(valid)), ("published", str(published)),
            ("rejected", str(len(rejected)))]
    width = max(len(k) for k, _ in rows)
    lines = [f"{k:<{width}}  {v}" for k, v in rows]
    if rejected:
        lines += ["", "line  reason"] + [f"{r.line:>4}  {r.error}" for r in rejected]
    return "\n".join(lines)
