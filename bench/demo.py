"""Suite ``demo``: ``gridflow demo``'s phases (setup; publish, while the worker and the projector
already run; drain: from the last record published until everything is processed and projected;
pipeline: publish + drain; total, with the statistics), run as a process of its own with its own chdb store; then the same with a CPU
hog (``python -c 'while True: pass'``) beside it; runs alternate, idle then hog."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from bench.report import Figures, say
from bench.stack import BenchError, cleanup, workdir
from gridflow.children import settings_env
from gridflow.settings import Settings

SIZES = {"smoke": dict(days=2, grids=120, pairs=1), "full": dict(days=30, grids=1000, pairs=3)}
PHASES = ("setup", "publish", "drain", "pipeline", "total")


def run(base: Settings, root: Path, smoke: bool) -> Figures:
    size = SIZES["smoke" if smoke else "full"]
    out = Figures("demo", params=dict(size))
    runs: dict[str, list[dict]] = {"idle": [], "hog": []}
    for p in range(size["pairs"]):
        for mode in ("idle", "hog"):
            say(f"demo: {size['days']} days, {size['grids']:,} grids, {mode}, pair {p + 1}/{size['pairs']}")
            got = one(base, workdir(root, f"demo-{mode}"), size, hog=mode == "hog")
            runs[mode].append(got)
            s = got["seconds"]
            say(f"demo: {mode}: total {s['total']:.1f}s (setup {s['setup']:.1f}s, publish {s['publish']:.1f}s, "
                f"drain {s['drain']:.1f}s), {got['matters']:,} matters"
                + (f"; FAILED: {'; '.join(got['problems'])}" if got["problems"] else ""))
    for phase in PHASES:
        out.add(f"demo.{phase}", f"{phase}, idle", [r["seconds"][phase] for r in runs["idle"]], "s")
    for phase in ("drain", "pipeline", "total"):
        out.add(f"demo.hog.{phase}", f"{phase}, beside a CPU hog", [r["seconds"][phase] for r in runs["hog"]], "s")
        out.ratio(f"demo.hog.{phase}_vs_idle", f"{phase}: hog / idle",
                  [(h["seconds"][phase], i["seconds"][phase]) for h, i in zip(runs["hog"], runs["idle"])])
    out.add("demo.matters", "matters simulated", [r["matters"] for r in runs["idle"]], "matters")
    failed = [p for r in runs["idle"] + runs["hog"] for p in r["problems"]]
    if failed:
        out.notes.append("the demo's verdict was FAILED: " + "; ".join(sorted(set(failed))))
    return out


def one(base: Settings, here: Path, size: dict, *, hog: bool) -> dict:
    settings = base.with_(stack_dir=str(here / "stack"), chdb_path=str(here / "chdb"))
    report = here / "demo.json"
    argv = [sys.executable, "-m", "bench.demo_run", "--days", str(size["days"]), "--grids", str(size["grids"]),
            "--report", str(report)]
    hogger = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if hog else None
    try:
        with (here / "demo.log").open("ab") as log:
            code = subprocess.run(argv, env=settings_env(settings), cwd=here, stdout=log, stderr=subprocess.STDOUT,
                                  timeout=1800).returncode
    finally:
        if hogger is not None:
            hogger.kill()
            hogger.wait()
    if code != 0 or not report.exists():
        raise BenchError(f"the demo exited with {code}: see {here / 'demo.log'}")
    got = json.loads(report.read_text())
    got["seconds"]["pipeline"] = got["seconds"]["publish"] + got["seconds"]["drain"]
    cleanup(base.with_(topic_prefix=got["prefix"]))
    return got
