"""``python -m bench [suite ...] [--smoke] [--json PATH]``: run the suites (all by default),
print one table, write the figures as JSON (default bench/results/latest.json)."""
from __future__ import annotations

import argparse
import importlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.report import Figures, say, table, write_json
from bench.stack import BenchError
from gridflow.settings import Settings

SUITES = {
    "worker": "throughput: one worker drains a city's intake, against raw pass-throughs",
    "load": "open matters: take-in rate, memory per open matter, recovery after a restart",
    "timers": "delay from a deadline to its escalation, on the wall clock",
    "demo": "gridflow demo's phases, idle and beside a CPU hog",
}
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_JSON = ROOT / "bench" / "results" / "latest.json"


def _children_import_this_tree() -> None:
    """Workers and baselines run in other directories: a relative PYTHONPATH (``.``) would make
    them import another copy of gridflow (the editable install) than the one measured here."""
    entries = [str(Path(p).resolve()) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys([str(ROOT), *entries]))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0],
                                     epilog="suites: " + "; ".join(f"{k}: {v}" for k, v in SUITES.items()))
    parser.add_argument("suites", nargs="*", choices=[[], *SUITES], metavar="suite",
                        help="any of " + ", ".join(SUITES) + " (default: all)")
    parser.add_argument("--smoke", action="store_true", help="small sizes, one round: checks the suites run")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"where to write the figures ({DEFAULT_JSON})")
    parser.add_argument("--keep", action="store_true", help="keep the workers' logs even when every suite passed")
    args = parser.parse_args(argv)
    names = args.suites or list(SUITES)
    started = time.time()
    _children_import_this_tree()
    base = Settings.from_env()
    root = Path(tempfile.mkdtemp(prefix="gridflow-bench-"))
    say(f"bench: suites {', '.join(names)}{' (smoke)' if args.smoke else ''}; logs in {root}")
    results: list[Figures] = []
    failed = []
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        t0 = time.monotonic()
        try:
            results.append(module.run(base, root, args.smoke))
        except BenchError as exc:
            failed.append(name)
            say(f"bench: suite {name} failed: {exc}")
            continue
        say(f"bench: suite {name} done in {time.monotonic() - t0:.0f}s")
        write_json(args.json, results, argv=argv, smoke=args.smoke, started=started)  # what is done so far
    print(table(results))
    write_json(args.json, results, argv=argv, smoke=args.smoke, started=started)
    print(f"\nfigures: {args.json}")
    if failed:
        print(f"failed: {', '.join(failed)} (logs kept in {root})", file=sys.stderr)
        return 1
    if args.keep:
        print(f"logs: {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
