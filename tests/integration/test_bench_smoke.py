"""The benchmark suite keeps working: ``python -m bench worker load --smoke`` on the real stack
writes every figure it promises, each a positive number. Speed is never asserted here: the
figures are read as ratios in docs/performance.md, on a machine shared with other work."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

EXPECTED = {
    "worker": ["worker.rate", "raw_decode.rate", "raw_plain.rate", "worker.vs_raw_decode", "worker.vs_raw_plain",
               "worker.rss_mb"],
    "load": ["load.2k.take_in_rate", "load.2k.take_in_vs_raw", "load.2k.rss_mb", "load.2k.rss_idle_mb",
             "load.2k.bytes_per_matter", "load.2k.state_bytes", "load.2k.recovery_rate", "load.2k.recovery_vs_raw"],
}


def test_bench_smoke_writes_every_promised_figure_with_a_positive_value(kafka_bootstrap, tmp_path):
    out = tmp_path / "bench.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-m", "bench", "worker", "load", "--smoke", "--json", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    body = json.loads(out.read_text(encoding="utf-8"))
    assert body["smoke"] is True and body["machine"]["cpus"] >= 1
    for suite, keys in EXPECTED.items():
        figures = body["suites"][suite]["figures"]
        missing = [k for k in keys if k not in figures]
        assert not missing, f"{suite}: no {missing} in {sorted(figures)}"
        for key, figure in figures.items():
            assert figure["runs"] and all(math.isfinite(v) and v > 0 for v in figure["runs"]), (key, figure)
            assert figure["value"] > 0, (key, figure)
    assert "worker" in done.stdout and "load" in done.stdout  # the table on screen
