"""The baselines, run as subprocesses and timed from outside like the workers: the raw
pass-through of an intake (bench/passthrough.py) and the raw read of a topic (bench/readall.py)."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from bench.stack import BenchError, GroupWatch, scratch_topic, wait_drained
from gridflow.children import settings_env
from gridflow.settings import Settings


def passthrough(settings: Settings, here: Path, *, decode: bool) -> dict:
    """Time a raw pass-through of the prefix's intake to its scratch topic ``out``: from its start
    until its group committed the end offsets."""
    group = f"{settings.topic_prefix}-raw-{'decode' if decode else 'plain'}"
    watch = GroupWatch(settings, group, settings.topics.intake)
    total = watch.ends()
    report = here / f"{group}.json"
    argv = [sys.executable, "-m", "bench.passthrough", "--bootstrap", settings.kafka_bootstrap,
            "--source", settings.topics.intake, "--target", scratch_topic(settings, "out"), "--group", group,
            "--report", str(report)] + (["--decode"] if decode else [])
    log_path = here / f"{group}.log"
    with log_path.open("ab") as log:
        t0 = time.monotonic()
        proc = subprocess.Popen(argv, env=settings_env(settings), stdout=log, stderr=subprocess.STDOUT)

    def alive() -> None:
        if proc.poll() is not None:
            raise BenchError(f"the pass-through exited with {proc.returncode}: see {log_path}")

    try:
        done = wait_drained(watch, total, what="raw + decode" if decode else "raw", alive=alive, timeout=1800)
    finally:
        watch.close()
        proc.terminate()
        proc.wait(timeout=60)
    got = json.loads(report.read_text())
    seconds = done - t0
    span = (got["last_batch"] or 0) - (got["first_batch"] or 0)
    return {"records": total, "seconds": seconds, "rate": total / seconds,
            "processing_rate": total / span if span > 0 else None}


def read_topic(settings: Settings, here: Path, topic: str) -> dict:
    """Time a raw read of ``topic`` from its beginning to its end, as a process of its own."""
    report = here / "readall.json"
    argv = [sys.executable, "-m", "bench.readall", "--bootstrap", settings.kafka_bootstrap, "--topic", topic,
            "--partitions", str(settings.partitions), "--report", str(report)]
    with (here / "readall.log").open("ab") as log:
        t0 = time.monotonic()
        code = subprocess.run(argv, env=settings_env(settings), stdout=log, stderr=subprocess.STDOUT,
                              timeout=1800).returncode
        seconds = time.monotonic() - t0
    if code != 0:
        raise BenchError(f"reading {topic} failed with {code}: see {here / 'readall.log'}")
    got = json.loads(report.read_text())
    return {**got, "seconds": seconds, "rate": got["keys"] / seconds}
