"""``gridflow api`` as a real child process for the integration and end-to-end tests: its own
ports below the ephemeral range, a key per test app, waited for until /ready answers 200."""
from __future__ import annotations

import json
import time
import uuid
from contextlib import contextmanager
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from gridflow.api.keys import key_line, new_key
from gridflow.children import Child, free_port
from gridflow.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


class ApiProcess:
    def __init__(self, settings: Settings, tmp: Path, *, apps: tuple[str, ...] = ("hotline-12345",),
                 **overrides: object) -> None:
        self.keys = {app: new_key() for app in apps}
        lines = ";".join(key_line(app, key) for app, key in self.keys.items())
        self.settings = settings.with_(api_port=free_port(), api_metrics_port=free_port(), api_keys=lines,
                                       api_secret_path=str(tmp / "api-secret"), **overrides)
        self.child = Child("api", self.settings, ["api", "--org-wait", "60"], tmp / "api.log", cwd=ROOT)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.api_port}"

    @property
    def key(self) -> str:
        return next(iter(self.keys.values()))

    def start(self, timeout: float = 60.0) -> "ApiProcess":
        self.child.start()
        deadline = time.monotonic() + timeout
        while not self.ready():
            if not self.child.alive():
                pytest.fail(f"gridflow api exited with {self.child.proc.returncode}:\n{self.child.tail()}",
                            pytrace=False)
            if time.monotonic() > deadline:
                pytest.fail(f"gridflow api not ready after {timeout:.0f}s:\n{self.child.tail()}", pytrace=False)
            time.sleep(0.2)
        return self

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/ready", timeout=2) as answer:
                return json.loads(answer.read())["ready"]
        except (OSError, ValueError, urllib.error.URLError):
            return False

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.settings.api_metrics_port}/metrics", timeout=5) as r:
            return r.read().decode()

    def stop(self) -> int | None:
        return self.child.stop()


@contextmanager
def api_beside_a_worker(settings: Settings, tmp_path: Path, name: str, *, seed: int) -> Iterator[ApiProcess]:
    """A small generated city's topics, a worker and a running API on them; all gone afterwards."""
    from deploy.topics import delete_topics, ensure_topics
    from events import orgtree
    from gridflow.city import generate

    orgtree.dump_csv(generate(grids=20, seed=seed), tmp_path / "city.csv")
    mine = settings.with_(topic_prefix=f"{settings.topic_prefix}-{name}-{uuid.uuid4().hex[:6]}", partitions=2,
                          org_path=str(tmp_path / "city.csv"), worker_web_port=free_port())
    ensure_topics(mine)
    worker = Child("worker", mine, ["worker"], tmp_path / "worker.log").start()
    process = ApiProcess(mine, tmp_path).start()
    try:
        yield process
    finally:
        process.stop()
        worker.stop()
        delete_topics(mine)


def intake_count(settings: Settings) -> int:
    """Records on the intake topic so far: what the API published."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None, enable_auto_commit=False)
    try:
        tps = [TopicPartition(settings.topics.intake, p) for p in range(settings.partitions)]
        return sum(consumer.end_offsets(tps).values())
    finally:
        consumer.close()


def read_topic(settings: Settings, topic: str) -> list[bytes]:
    """Every value on a topic, from offset zero to its end now."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in range(settings.partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        values: list[bytes] = []
        deadline = time.monotonic() + 60
        while any(consumer.position(tp) < ends[tp] for tp in tps) and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=300).values():
                values += [r.value for r in records]
        return values
    finally:
        consumer.close()


def wait_for(condition, what: str, timeout: float = 60.0, interval: float = 0.2, context=lambda: ""):
    """``condition()`` until it returns something true, or fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{context()}", pytrace=False)
        time.sleep(interval)
