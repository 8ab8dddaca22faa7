"""Workers as real subprocesses (``python -m gridflow.cli worker``), looked at from outside:
``/ready``, ``/metrics``, and the process's memory in /proc."""
from __future__ import annotations

import time
import urllib.error
import urllib.request
from pathlib import Path

from bench.stack import BenchError
from gridflow import demo_metrics
from gridflow.children import Child, free_port
from gridflow.settings import Settings


class Worker:
    def __init__(self, settings: Settings, workdir: Path, name: str = "w1", args: tuple[str, ...] = ()) -> None:
        settings = settings.with_(worker_id=name, worker_web_port=free_port())
        self.child = Child(name, settings, ["worker", "--loglevel", "info", *args], workdir / f"{name}.log",
                           cwd=workdir)
        self.port = settings.worker_web_port
        self.started = 0.0

    @property
    def pid(self) -> int:
        return self.child.proc.pid

    def start(self) -> "Worker":
        self.started = time.monotonic()
        self.child.start()
        return self

    def alive(self) -> None:
        """Raise with the end of its log when the worker is gone."""
        if not self.child.alive():
            code = self.child.proc.returncode if self.child.proc else None
            raise BenchError(f"worker {self.child.name} exited with {code}; its log "
                             f"({self.child.log_path}):\n{self.child.tail(25)}")

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/ready", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def wait_ready(self, timeout: float = 600.0, poll: float = 0.05) -> float:
        """Wait for /ready 200; returns when it was seen (monotonic)."""
        deadline = time.monotonic() + timeout
        while not self.ready():
            self.alive()
            if time.monotonic() > deadline:
                raise BenchError(f"worker {self.child.name} not ready after {timeout:.0f}s:\n{self.child.tail(25)}")
            time.sleep(poll)
        return time.monotonic()

    def metrics(self) -> dict:
        text = demo_metrics.scrape(self.port)
        return demo_metrics.samples(text) if text else {}

    def memory(self) -> dict[str, int]:
        """VmRSS and VmHWM (peak) of the worker process, in bytes."""
        out = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                name, kb = line.split()[:2]
                out[name.rstrip(":")] = int(kb) * 1024
        return out

    def stop(self) -> int | None:
        return self.child.stop(timeout=60)

    def kill(self) -> None:
        self.child.kill()


def metric(found: dict, name: str) -> float:
    return demo_metrics.total(found, name)


class BatchClock:
    """The worker's first and last batch, from polling ``gridflow_worker_batch_records``: the
    processing-only time (no start-up, no final commit), to the polling interval's resolution."""

    def __init__(self, workers: list[Worker], total: int, every: float = 0.25) -> None:
        self.workers, self.total, self.every = workers, total, every
        self.first: float | None = None
        self.last: float | None = None
        self.busy = 0.0  # gridflow_worker_batch_seconds_sum over the workers
        self._next = 0.0

    def poll(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.last is not None or (not force and now < self._next):
            return
        self._next = now + self.every
        found = [w.metrics() for w in self.workers]
        done = sum(metric(f, "gridflow_worker_batch_records_sum") for f in found)
        if done > 0 and self.first is None:
            self.first = now
        if done >= self.total:
            self.last = now
            self.busy = sum(metric(f, "gridflow_worker_batch_seconds_sum") for f in found)

    def rate(self) -> float | None:
        if self.first is None or self.last is None:
            return None
        return self.total / max(self.last - self.first, self.every)


def drain(settings: Settings, workers: list[Worker], *, what: str, timeout: float = 3600) -> dict:
    """Start ``workers`` on a prefix whose intake is already published; wait until their group has
    committed everything. Returns seconds (start → all committed) and the processing-only rate.
    The workers keep running: the caller stops them."""
    from bench.stack import GroupWatch, wait_drained

    watch = GroupWatch(settings, f"{settings.topic_prefix}-streams", settings.topics.intake)
    try:
        total = watch.ends()
        clock = BatchClock(workers, total)

        def alive() -> None:
            for w in workers:
                w.alive()

        t0 = time.monotonic()
        for w in workers:
            w.start()
        done = wait_drained(watch, total, what=what, alive=alive, timeout=timeout, on_poll=clock.poll)
        clock.poll(force=True)
    finally:
        watch.close()
    seconds = done - t0
    return {"records": total, "seconds": seconds, "rate": total / seconds, "processing_rate": clock.rate(),
            "busy_rate": total / clock.busy if clock.busy else None}
