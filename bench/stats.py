"""How fast the statistics answer on a large city, next to the cheapest query over the same log.

    PYTHONPATH=. python bench/stats.py fill server bench_1m 1000000        # a database of 1M events
    PYTHONPATH=. python bench/stats.py fill chdb /tmp/bench-chdb-1m 1000000
    PYTHONPATH=. python bench/stats.py measure server bench_1m --repeat 7
    PYTHONPATH=/tmp/before python bench/stats.py copy server bench_1m bench_1m_old   # older schema
    PYTHONPATH=. python bench/stats.py compare --before /tmp/before server bench_1m_old bench_1m

(run as a script, not with ``-m``, so that PYTHONPATH decides whose code is measured: the
steps to reproduce the table of docs/statistics.md, "How fast", are there).

``fill`` writes rows straight into ``events`` and ``org_units`` (the projector is not what is
measured here): the lives of matters as ``tests/integration/projection_support.py`` writes them
(routing, SLA cycles, breaches, escalations up the levels, rework, reopening, feedback,
cancellations), reported at random grids and compounds of ``gridflow.city`` with 20,000 grids
over a year, with realistic ids (``m-`` + 32 hex digits, uuid event ids) and, as an
at-least-once log does, the latest events of about one matter in a hundred written twice.
The migrations of the code on PYTHONPATH run first; the rows go in 200,000 at a time through
the store's own insert, so the materialized views see them as they see the projector's
batches; then, if that code settles, the changes are settled.

``measure`` runs in turn (A B C A B C ...), so a drift of the shared machine moves all alike:
the floor (``SELECT type, count() FROM events GROUP BY type``), ``gridflow stats`` for the whole
city in this process (``projections.stats.compute``, drill-down to the cities included), and
the README's headline SQL on the ``matters`` view; it prints the median of each and its ratio
to the floor's median. ``compare`` runs ``measure`` for the code before (``--before``, on its
copy of the data) and this checkout's, in turn, and prints both with the speed-up.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
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
        settle_all(store)
    finally:
        store.close()


def settle_all(store) -> None:
    """Fold the changes the inserts left into the settled rows, as the projector would have (code
    from before settling has nothing to do)."""
    try:
        from projections.settle import settle
    except ImportError:
        return
    print(f"settled: {settle(store, exclusive=True)}")


def copy(kind: str, source: str, target: str) -> None:
    """A copy of the events and org units of ``source`` in a new ``target`` migrated by the code
    on PYTHONPATH (run it with an older checkout's code to copy into an older schema)."""
    from projections.migrate import migrate

    if kind == "chdb":
        shutil.copytree(source, target, symlinks=True)  # the links inside are relative
        return
    store = open_target(kind, target)
    try:
        migrate(store, log=print)
        started = time.monotonic()
        for table in ("org_units", "events"):
            store.execute(f"INSERT INTO {target}.{table} SELECT * FROM {source}.{table}")
        print(f"copied {source} into {target} in {time.monotonic() - started:.0f}s")
    finally:
        store.close()


def timed(run) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def measure(kind: str, target: str, repeat: int) -> dict[str, float]:
    """Median seconds of the floor, gridflow stats and the headline SQL, measured in turn."""
    from projections.stats import compute

    store = open_target(kind, target)
    db = store.database
    cases = {
        "floor": lambda: store.query(FLOOR.format(db=db)),
        "stats": lambda: compute(store),
        "headline": lambda: store.query(HEADLINE.format(db=db)),
    }
    try:
        for run in cases.values():  # warm: caches, and chdb's first query
            run()
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(repeat):
            for name, run in cases.items():
                times[name].append(timed(run))
        medians = {name: statistics.median(values) for name, values in times.items()}
        medians["events"] = store.scalar(f"SELECT count() FROM {db}.events")
    finally:
        store.close()
    return medians


def compare(before: str, triples: list[tuple[str, str, str]], rounds: int, repeat: int) -> None:
    """Before (the code at ``before``, on its copy of the data) and after (this checkout's code)
    in turn, A B A B ..., each a fresh process measuring ``repeat`` times; then the median per
    query, its ratio to the floor of the same runs, and the median of the per-round speed-ups."""
    runs: dict[tuple[str, str], list[dict[str, float]]] = {}
    for _ in range(rounds):
        for kind, old, new in triples:
            for side, path, target in (("before", before, old), ("after", str(ROOT), new)):
                out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "measure", kind, target,
                                      "--repeat", str(repeat), "--json"], env={**os.environ, "PYTHONPATH": path},
                                     capture_output=True, text=True, check=True)
                runs.setdefault((f"{kind} {old}", side), []).append(json.loads(out.stdout.splitlines()[-1]))
    print(f"{'store and data':30} {'query':9} {'before s':>9} {'x floor':>8} {'after s':>8} {'x floor':>8} {'speed-up':>9}")
    for kind, old, _ in triples:
        b, a = runs[(f"{kind} {old}", "before")], runs[(f"{kind} {old}", "after")]
        for query in ("floor", "stats", "headline"):
            mb, ma = (statistics.median(r[query] for r in side) for side in (b, a))
            fb, fa = (statistics.median(r["floor"] for r in side) for side in (b, a))
            up = statistics.median(x[query] / y[query] for x, y in zip(b, a))
            print(f"{kind + ' ' + old:30} {query:9} {mb:9.3f} {mb / fb:8.1f} {ma:8.3f} {ma / fa:8.1f} {up:8.1f}x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stats", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("fill", help="write a realistic log of N events straight into a store")
    p.add_argument("store", choices=("server", "chdb"))
    p.add_argument("target", help="database (server) or directory (chdb)")
    p.add_argument("events", type=int)
    p = sub.add_parser("copy", help="copy a filled store into a new one, migrated by the code on PYTHONPATH")
    p.add_argument("store", choices=("server", "chdb"))
    p.add_argument("source")
    p.add_argument("target")
    p = sub.add_parser("measure", help="time the statistics next to the floor query")
    p.add_argument("store", choices=("server", "chdb"))
    p.add_argument("target")
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--json", action="store_true", help="one line of JSON instead of a table")
    p = sub.add_parser("compare", help="before and after in turn, on their own copies of the data")
    p.add_argument("--before", required=True, help="a checkout of the code before (its root)")
    p.add_argument("triples", nargs="+", help="STORE BEFORE_TARGET AFTER_TARGET [...]")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    if args.command == "fill":
        fill(args.store, args.target, args.events)
    elif args.command == "copy":
        copy(args.store, args.source, args.target)
    elif args.command == "measure":
        result = measure(args.store, args.target, args.repeat)
        if args.json:
            print(json.dumps(result))
        else:
            print(f"{'query':10} {'median s':>9} {'x floor':>8}   ({result['events']} event rows)")
            for name in ("floor", "stats", "headline"):
                print(f"{name:10} {result[name]:9.3f} {result[name] / result['floor']:8.1f}")
    else:
        t = args.triples
        compare(args.before, [tuple(t[i:i + 3]) for i in range(0, len(t), 3)], args.rounds, args.repeat)


if __name__ == "__main__":
    main()
