"""``gridflow org FILE``: check an org tree file, show how it differs from the org topic, and
publish the changes only with ``--publish``. Workers and the projector follow the topic while
they run (docs/operations.md, "Org tree lifecycle")."""
from __future__ import annotations

import argparse
import sys

from gridflow.settings import Settings

HELP = """\
FILE is the whole tree in force: CSV with the header unit_id,level,parent_id,name, JSON lines
(.jsonl: one {"unit", "level", "parent", "name"} map a line) or a JSON array of those maps
(.json). It is checked first (one city root; every parent present and exactly one level up;
no id twice; no cycle), each problem named by its file and line. The diff against the org
topic lists every unit added, moved (new parent), renamed, retired (on the topic, not in the
file) or restored (retired, in the file again), with its next revision. Nothing is sent
without --publish. Exit codes: 0 done (or nothing to do), 1 the file or the topic has a
problem, 3 changes found and not published (without --publish)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = HELP
    parser.add_argument("file", help="the org tree: .csv, .jsonl or .json")
    parser.add_argument("--publish", action="store_true",
                        help="publish the changes to the org topic (default: show them only)")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds to wait for the broker (default 30)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from events.errors import OrgTreeError
    from events.orgchanges import check, diff
    from events.orgtree import read_rows

    try:
        wanted = check(read_rows(args.file))
    except OSError as exc:
        print(f"gridflow org: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    except OrgTreeError as exc:
        print(f"gridflow org: {exc}", file=sys.stderr)
        return 1
    try:
        published = _read_topic(settings, args.timeout)
    except LookupError:
        print(f"gridflow org: the org topic {settings.topics.org} does not exist on Kafka at "
              f"{settings.kafka_bootstrap}; create the topics first: `gridflow topics`", file=sys.stderr)
        return 1
    except Exception as exc:  # kafka-python errors, a topic that cannot be read to its end
        print(f"gridflow org: cannot read the org topic {settings.topics.org} on Kafka at "
              f"{settings.kafka_bootstrap}: {exc} (is the stack up? `gridflow stack up`; the topics: "
              "`gridflow topics`)", file=sys.stderr)
        return 1
    changes = diff(published, wanted)
    print(f"{args.file}: {len(wanted)} units in force; topic {settings.topics.org}: "
          f"{sum(not u.retired for u in published.values())} in force, {sum(u.retired for u in published.values())} "
          "retired")
    if not changes:
        print("no changes: the org topic already holds this tree")
        return 0
    print(render(changes))
    if not args.publish:
        print(f"\n{len(changes)} change(s) not published; run again with --publish to publish them")
        return 3
    from gridflow.sdk import PublishError, Publisher

    try:
        with Publisher(settings, producer="gridflow-org", check_categories=False, timeout=args.timeout) as pub:
            sent = pub.publish_org([c.unit for c in changes])
    except PublishError as exc:
        print(f"gridflow org: {exc}", file=sys.stderr)
        return 1
    print(f"\npublished {sent} record(s) to {settings.topics.org}")
    return 0


def _read_topic(settings: Settings, timeout: float) -> dict:
    from kafka import KafkaConsumer

    from streams.orgsource import read_org_topic

    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, client_id="gridflow-org")
    try:
        if settings.topics.org not in consumer.topics():
            raise LookupError("the topic does not exist")
    finally:
        consumer.close()
    return read_org_topic(settings, timeout)


def render(changes: list) -> str:
    """The changes as a table: change, unit, level, parent and name (before -> after), revision."""
    from projections.render import pad, width

    def arrow(before: str | None, after: str) -> str:
        return after if before is None or before == after else f"{before} -> {after}"

    rows = [("change", "unit", "level", "parent", "name", "rev")]
    for c in changes:
        b, u = c.before, c.unit
        rows.append((c.label, u.unit_id, arrow(b.level.label if b else None, u.level.label),
                     arrow((b.parent_id or "-") if b else None, u.parent_id or "-"),
                     arrow(b.name if b else None, u.name), str(u.rev)))
    widths = [max(width(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(pad(cell, widths[i], right=i == 5) for i, cell in enumerate(r)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    counts: dict[str, int] = {}
    for c in changes:
        for kind in c.kinds:
            counts[kind] = counts.get(kind, 0) + 1
    return "\n".join(lines + ["", ", ".join(f"{n} {kind}" for kind, n in counts.items())])
