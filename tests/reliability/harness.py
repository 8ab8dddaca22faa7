"""A whole pipeline for the reliability suite: a simulated city published through the SDK, real
workers and a real projector as child processes, faults in between, and the checks every fault
must pass: the event log equals what the pure state machine gives for the same input, the
statistics equal the simulator's ground truth, no event id twice in ClickHouse, nothing
dead-lettered that should not be."""
from __future__ import annotations

import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from events import codec, orgtree
from events import policy as policy_mod
from events.calendar import Calendar
from events.state import Context
from events.types import Watermark
from gridflow.children import Child, free_port
from gridflow.city import generate
from gridflow.sdk import Publisher
from gridflow.settings import Settings
from gridflow.simulate import Plan

ROOT = Path(__file__).resolve().parents[2]


class Pipeline:
    def __init__(self, base: Settings, tmp: Path, *, store: str = "chdb", grids: int = 60, days: int = 8,
                 matters_per_day: int = 250, seed: int = 3, workers: int = 1, **overrides) -> None:
        from deploy.topics import ensure_topics

        run = uuid.uuid4().hex[:6]
        self.tmp, self.base = tmp, base
        self.tree = generate(grids=grids, seed=seed)
        orgtree.dump_csv(self.tree, tmp / "city.csv")
        self.settings = base.with_(topic_prefix=f"{base.topic_prefix}-rel-{run}", clock="event",
                                   projector_group=f"{base.topic_prefix}-rel-{run}-projector", store=store,
                                   clickhouse_database=f"rel_{run}", chdb_path=str(tmp / "chdb"),
                                   org_path=str(tmp / "city.csv"), scan_interval_seconds=0.5,
                                   projector_metrics_port=free_port(), **overrides)
        ensure_topics(self.settings)
        policy = policy_mod.load()
        self.plan = Plan(self.tree, policy, Calendar(), days=days, seed=seed, matters_per_day=matters_per_day,
                         watermark_every=timedelta(minutes=30), run_id=f"rel{seed}")
        self.events = list(self.plan)
        self.ctx = Context(policy, self.tree, Calendar())
        self.workers = [self._worker(i) for i in range(1, workers + 1)]
        self.projector = Child("projector", self.settings, ["project", "--org", str(tmp / "city.csv"),
                                                            "--progress-seconds", "5"],
                               tmp / "projector.log", cwd=ROOT)
        self.publisher = Publisher(self.settings, producer="sim", check_categories=False)

    def _worker(self, i: int) -> Child:
        mine = self.settings.with_(worker_id=f"rel-w{i}", worker_web_port=free_port())
        return Child(f"worker-{i}", mine, ["worker", "--stall-timeout", "20", "--kafka-timeout", "120"],
                     self.tmp / f"worker-{i}.log", cwd=ROOT)

    # --- driving it ---------------------------------------------------------------------------

    def start(self) -> "Pipeline":
        for child in (*self.workers, self.projector):
            child.start()
        return self

    def parts(self, n: int) -> list[list]:
        """The stream in ``n`` pieces of about as many events, each ending with a watermark."""
        marks = [i for i, e in enumerate(self.events) if isinstance(e, Watermark)]
        cuts = [next(m for m in marks if m >= len(self.events) * k // n) + 1 for k in range(1, n)] + [len(self.events)]
        out, start = [], 0
        for cut in cuts:
            out.append(self.events[start:cut])
            start = cut
        return out

    def publish(self, events: list) -> None:
        with self.publisher.batch(flush_every=2000, check=False) as batch:
            for event in events:
                batch.add(event)

    def raw(self, value: bytes, key: bytes, partition: int | None = None) -> None:
        """A record as a hostile or broken client sends it, past the SDK's checks."""
        from kafka import KafkaProducer

        producer = KafkaProducer(bootstrap_servers=self.settings.kafka_bootstrap, acks="all",
                                 max_request_size=2 * 1024 * 1024)
        try:
            producer.send(self.settings.topics.intake, key=key, value=value, partition=partition).get(timeout=30)
        finally:
            producer.close()

    def check_alive(self) -> None:
        for child in (*self.workers, self.projector):
            if child.proc is not None and not child.alive() and child.proc.returncode not in (-9,):
                pytest.fail(f"{child.name} exited with {child.proc.returncode}:\n{child.tail()}", pytrace=False)

    def drain(self, timeout: float = 180.0) -> None:
        """Until the workers and the projector have committed everything, twice in a row."""
        from gridflow.pipeline import PipelineWatch
        from streams.app import app_id

        watch = PipelineWatch(self.settings, worker_group=app_id(self.settings),
                              projector_group=self.settings.projector_group)
        deadline, previous = time.monotonic() + timeout, None
        try:
            while True:
                self.check_alive()
                backlog = watch.backlog()
                if backlog.done and previous is not None and previous.done and \
                        previous.log_size == backlog.log_size:
                    return
                if time.monotonic() > deadline:
                    tails = "\n".join(f"--- {c.name}:\n{c.tail(20)}" for c in (*self.workers, self.projector))
                    pytest.fail(f"the pipeline did not drain in {timeout:.0f}s: {backlog}\n{tails}", pytrace=False)
                previous = backlog
                time.sleep(0.5)
        finally:
            watch.close()

    def stop(self) -> None:
        for child in (self.projector, *self.workers):
            child.stop()
        self.publisher.close()

    # --- what must hold -----------------------------------------------------------------------

    def expected_log(self) -> dict[str, bytes]:
        from expected import replay

        return replay(self.events, self.ctx)[0]

    def log(self) -> tuple[dict[str, bytes], list[dict]]:
        """The event log by id (a repeated id must carry the same bytes) and the dead letters."""
        from kafka import KafkaConsumer, TopicPartition

        topics = self.settings.topics
        consumer = KafkaConsumer(bootstrap_servers=self.settings.kafka_bootstrap, enable_auto_commit=False,
                                 group_id=None)
        try:
            tps = [TopicPartition(t, p) for t in (topics.events, topics.deadletter)
                   for p in sorted(consumer.partitions_for_topic(t) or ())]
            consumer.assign(tps)
            consumer.seek_to_beginning(*tps)
            ends = consumer.end_offsets(tps)
            by_id: dict[str, bytes] = {}
            letters: list[dict] = []
            deadline = time.monotonic() + 60
            while any(consumer.position(tp) < ends[tp] for tp in tps) and time.monotonic() < deadline:
                for records in consumer.poll(timeout_ms=500).values():
                    for r in records:
                        if r.topic == topics.events:
                            event_id = codec.decode(r.value).event_id
                            assert by_id.setdefault(event_id, r.value) == r.value, f"two events with id {event_id}"
                        else:
                            letters.append(codec.decode_deadletter(r.value))
            return by_id, letters
        finally:
            consumer.close()

    def check(self, *, deadletters: int = 0) -> None:
        """The log, the statistics and ClickHouse's event ids, against the fault-free truth."""
        from gridflow.demo_report import agreement
        from projections.stats import Scope, compute
        from projections.store import open_store

        by_id, letters = self.log()
        expected = self.expected_log()
        missing, extra = expected.keys() - by_id.keys(), by_id.keys() - expected.keys()
        assert not missing and not extra, f"{len(missing)} events missing, {len(extra)} extra"
        assert by_id == expected
        assert len(letters) == deadletters, [d["reason"] for d in letters][:5]
        with open_store(self.settings) as store:
            report = compute(store, Scope())
            db = self.settings.clickhouse_database
            twice = store.scalar(f"SELECT count() - uniqExact(event_id) FROM {db}.events FINAL")
        assert twice == 0, f"{twice} event ids twice in ClickHouse"
        result = type("Result", (), {"report": report, "truth": self.plan.truth})
        differing = [row for row in agreement(result) if row[1] != row[2]]
        assert not differing, differing

    def drop_database(self) -> None:
        if self.settings.store == "server":
            from projections.store import open_store

            direct = self.settings.with_(clickhouse_host=self.base.clickhouse_host,
                                         clickhouse_port=self.base.clickhouse_port)  # not through a proxy
            with open_store(direct) as store:
                store.execute(f"DROP DATABASE IF EXISTS {self.settings.clickhouse_database}")
