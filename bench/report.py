"""What a benchmark run reports: figures (median of the runs, their spread, and the ratio to the
baseline measured in the same run), shown as a table and kept as JSON.

    figures = Figures("worker")
    figures.add("worker.rate", "one worker drains the intake", runs, "records/s")
    figures.ratio("worker.vs_raw", "worker / raw pass-through", pairs)
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Figure:
    key: str  # stable id, e.g. "worker.rate"
    label: str  # what a person reads
    value: float  # the median of the runs
    unit: str
    runs: list[float]
    note: str = ""

    @property
    def spread(self) -> str:
        if len(self.runs) < 2:
            return ""
        return f"{_num(min(self.runs))}–{_num(max(self.runs))}"


@dataclass
class Figures:
    suite: str
    figures: list[Figure] = field(default_factory=list)
    params: dict = field(default_factory=dict)  # sizes, intervals: what the figures were measured with
    notes: list[str] = field(default_factory=list)

    def add(self, key: str, label: str, runs: list[float] | float, unit: str, note: str = "") -> Figure:
        runs = [float(r) for r in (runs if isinstance(runs, list) else [runs])]
        figure = Figure(key, label, statistics.median(runs), unit, runs, note)
        self.figures.append(figure)
        return figure

    def ratio(self, key: str, label: str, pairs: list[tuple[float, float]], note: str = "") -> Figure | None:
        """The median of the ratios A/B taken pair by pair (runs measured side by side)."""
        ratios = [a / b for a, b in pairs if b > 0]
        return self.add(key, label, ratios, "×", note) if ratios else None

    def get(self, key: str) -> Figure | None:
        return next((f for f in self.figures if f.key == key), None)


def _num(value: float) -> str:
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 0.1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def table(results: list[Figures]) -> str:
    """One table of every figure: suite, figure, median, unit, min–max, runs."""
    rows = [("suite", "figure", "median", "unit", "min–max", "runs")]
    for result in results:
        for f in result.figures:
            rows.append((result.suite, f.label, _num(f.value), f.unit, f.spread, str(len(f.runs))))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {2, 5}
    lines = []
    for n, row in enumerate(rows):
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    notes = [f"{r.suite}: {n}" for r in results for n in r.notes]
    return "\n".join(lines + ([""] + notes if notes else []))


def machine() -> dict:
    """What the figures were measured on (the load average: when the JSON was written)."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal:"))
    except (OSError, StopIteration, ValueError):
        mem_kb = 0
    return {"cpus": os.cpu_count(), "cpu_model": model, "ram_gb": round(mem_kb / 1024 / 1024, 1),
            "load_avg_1_5_15min": [round(x, 2) for x in os.getloadavg()], "python": platform.python_version(),
            "platform": platform.platform()}


def code_version(root: Path) -> dict:
    """The commit measured, and whether the tree differed from it."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "HEAD")
    return {"commit": commit or None, "dirty": bool(commit and git("status", "--porcelain", "--untracked-files=no"))}


def write_json(path: Path, results: list[Figures], *, argv: list[str], smoke: bool, started: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"command": "python -m bench " + " ".join(argv), "smoke": smoke,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
            "seconds": round(time.time() - started, 1), "machine": machine(),
            "code": code_version(Path(__file__).resolve().parents[1]),
            "suites": {r.suite: {"params": r.params, "notes": r.notes,
                                 "figures": {f.key: asdict(f) for f in r.figures}} for r in results}}
    path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def say(text: str) -> None:
    """Progress for a person, on stderr: the table goes to stdout."""
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)
