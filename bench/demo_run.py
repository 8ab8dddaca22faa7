"""One ``gridflow demo`` run (``gridflow.demo.run_demo``) in a process of its own; writes its
phases (setup, publish, drain, total) and its verdict as JSON.

    python -m bench.demo_run --days 30 --grids 1000 --report out.json

The demo command deletes every ``gridflow-demo-*`` topic when it starts, which would break a
demo a colleague runs on the same broker; here that clean-up is off, and the suite deletes this
run's own topics afterwards. Each run replaces the demo database of the one before (``reset``).
"""
from __future__ import annotations

import argparse
import json

from gridflow import demo
from gridflow.demo_report import problems
from gridflow.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=demo.DemoOptions.days)
    parser.add_argument("--grids", type=int, default=demo.DemoOptions.grids)
    parser.add_argument("--report", required=True)
    args = parser.parse_args()
    result = demo.run_demo(Settings.from_env(), demo.DemoOptions(days=args.days, grids=args.grids,
                                                                 clean_old_runs=False, reset=True),
                           say=lambda line: print(line, flush=True))
    body = {"seconds": result.seconds, "problems": problems(result), "prefix": result.settings.topic_prefix,
            "matters": len(result.truth.matters), "deadletters": result.deadletters}
    with open(args.report, "w", encoding="utf-8") as fh:
        json.dump(body, fh)


if __name__ == "__main__":
    main()
