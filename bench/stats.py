"""How fast the statistics answer on a large city, next to the cheapest query over the same log.

    PYTHONPATH=. python -m bench.stats fill server bench_1m 1000000       # a database of 1M events
    PYTHONPATH=. python -m bench.stats fill chdb /tmp/bench-chdb-1m 1000000
    PYTHONPATH=. python -m bench.stats measure server bench_1m chdb /tmp/bench-chdb-1m --repeat 7

``fill`` writes rows straight into ``events`` and ``org_units`` (the projector is not what is
measured here): the lives of matters as ``tests/integration/projection_support.py`` writes them
(routing, SLA cycles, breaches, escalations up the levels, rework, reopening, feedback,
cancellations), reported at random grids and compounds of ``gridflow.city`` with 20,000 grids
over a year, with realistic ids (``m-`` + 32 hex digits, uuid event ids) and, as an
at-least-once log does, the latest events of about one matter in a hundred written twice.
The rows go in 200,000 at a time through the store's own insert, so the materialized views
see them as they see the projector's batches. Then the migrations not yet applied run.

``measure`` runs, per target and in turn (A B C A B C ...), so a drift of the shared machine
moves all alike: the floor (``SELECT type, count() FROM events GROUP BY type``), ``gridflow
stats`` for the whole city in this process (``projections.stats.compute``, drill-down to the
cities included), and the README's headline SQL on the ``matters`` view; it prints the median
of each and its ratio to the floor's median. Run it with ``PYTHONPATH`` pointing at another
checkout to measure that code on the same data (``docs/statistics.md``, "How fast").
"""
from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

HEADLINE = ("SELECT l2 AS district, count() AS matters, round(countIf(resolved_level IN ('grid', 'compound')) / "
            "countIf(is_resolved), 3) AS grid_rate FROM {db}.matters WHERE l1 = 'u-chengdu' "
            "GROUP BY district ORDER BY grid_rate DESC")
FLOOR = "SELECT type, count() FROM {db}.events GROUP BY type"
YEAR_MS = 365 * 86_400_000
CHUNK = 200_000


def open_target(kind: str, target: str):
    """The store: ``server`` and a database name, or ``chdb`` and a directory (database gridflow)."""
    from gridflow.settings import Settings
    from projections.store import open_store

    settings = Settings.from_env()
    if kind == "server":
        return open_store(settings.with_(store="server", clickhouse_database=target))
    return open_store(settings.with_(store="chdb", chdb_path=target, clickhouse_database="gridflow"))


def matter_lives(n_events: int, seed: int = 11):
    """Rows of ``events`` (as ``projections.rows`` builds them), matter after matter, until
    ``n_events`` rows; and the org units they are reported in."""
    from events.levels import Level
    from gridflow.city import generate as city
    from projection_support import START, _Matter
    from projections import rows

    tree = city(grids=20_000, seed=3)
    places = [u for u in tree if u.level in (Level.GRID, Level.COMPOUND)]
    rng = random.Random(seed)

    def generated():
        written, number, offset = 0, 0, 0
        while written < n_events:
            life = _Matter(rng, tree, number, START - YEAR_MS + rng.randint(0, YEAR_MS))
            life.m = "m-" + hashlib.blake2b(str(number).encode(), digest_size=16).hexdigest()
            life.life(rng.choice(places))
            events = list(life.out)
            if rng.random() < 0.01:  # an agent crash: the latest events written again
                events += events[-rng.randint(1, 3):]
            partition = number % 12
            for event in events:
                yield rows.to_row(event, partition, offset)
                offset += 1
            written += len(events)
            number += 1

    return generated(), list(tree)


def fill(kind: str, target: str, n_events: int) -> None:
    from projections import orgdim, rows
    from projections.migrate import migrate

    store = open_target(kind, target)
    try:
        migrate(store, log=print)
        lives, units = matter_lives(n_events)
        orgdim.write_units(store, units)
        started, pending, total = time.monotonic(), [], 0
        for row in lives:
            pending.append(row)
            if len(pending) == CHUNK:
                total += store.insert("events", rows.COLUMNS, pending)
                pending = []
                print(f"{total} events, {time.monotonic() - started:.0f}s", flush=True)
        total += store.insert("events", rows.COLUMNS, pending) if pending else 0
        print(f"{total} events and {len(units)} org units in {time.monotonic() - started:.0f}s")
    finally:
        store.close()


def timed(run) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def measure(targets: list[tuple[str, str]], repeat: int) -> None:
    from projections.stats import compute

    for kind, target in targets:
        store = open_target(kind, target)
        db = store.database
        cases = {
            "floor": lambda: store.query(FLOOR.format(db=db)),
            "stats": lambda: compute(store),
            "headline": lambda: store.query(HEADLINE.format(db=db)),
        }
        for run in cases.values():  # warm: caches, and chdb's first query
            run()
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(repeat):
            for name, run in cases.items():
                times[name].append(timed(run))
        events = store.scalar(f"SELECT count() FROM {db}.events")
        store.close()
        floor = statistics.median(times["floor"])
        print(f"\n{kind} {target}: {events} event rows, median of {repeat}")
        print(f"{'query':10} {'median s':>9} {'x floor':>8}")
        for name, values in times.items():
            median = statistics.median(values)
            print(f"{name:10} {median:9.3f} {median / floor:8.1f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stats", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("fill", help="write a realistic log of N events straight into a store")
    p.add_argument("store", choices=("server", "chdb"))
    p.add_argument("target", help="database (server) or directory (chdb)")
    p.add_argument("events", type=int)
    p = sub.add_parser("measure", help="time the statistics next to the floor query")
    p.add_argument("pairs", nargs="+", help="STORE TARGET [STORE TARGET ...]")
    p.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    if args.command == "fill":
        fill(args.store, args.target, args.events)
    else:
        measure(list(zip(args.pairs[::2], args.pairs[1::2])), args.repeat)


if __name__ == "__main__":
    main()
