"""Helpers for the streams integration tests: a worker as a real subprocess, a publisher,
a reader of the event log and the dead-letter topic that waits on conditions with
deadlines, the final matter states from the state topic, and the reference run of
the pure state machine the log must equal."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Callable

import pytest

from events import codec, orgtree
from events import policy as policy_mod
from events.calendar import Calendar
from events.orgtree import OrgUnit
from events.levels import Level
from events.state import Context, MatterState, decide
from events.types import DeadlineReached, Event, Watermark
from gridflow.children import free_port, settings_env
from gridflow.settings import Settings
from streams import states as states_codec
from streams.errors import EXIT_STALLED

ROOT = Path(__file__).resolve().parents[2]

UNITS = [("c", "city", None), ("d", "district", "c"), ("s", "street", "d"), ("cm", "community", "s"),
         ("g1", "grid", "cm"), ("g2", "grid", "cm"), ("k1", "compound", "g1"), ("k2", "compound", "g2")]


def org_units() -> list[OrgUnit]:
    return [OrgUnit(u, Level.parse(lv), p, u.upper()) for u, lv, p in UNITS]


def stream_settings(base: Settings, tmp: Path, name: str, *, policy: str | None = None, clock: str = "event",
                    org_file: bool = True) -> Settings:
    """Settings of one test: its own topic prefix (and so its own consumer group and tables),
    with the topics created."""
    org = tmp / "org.csv"
    orgtree.dump_csv(org_units(), org)
    policy_path = ""
    if policy is not None:
        (tmp / "policy.yaml").write_text(policy, encoding="utf-8")
        policy_path = str(tmp / "policy.yaml")
    settings = base.with_(topic_prefix=f"{base.topic_prefix}-{name}-{uuid.uuid4().hex[:6]}", partitions=2,
                          clock=clock, worker_web_port=free_port(), scan_interval_seconds=0.5,
                          org_path=str(org) if org_file else "", policy_path=policy_path)
    from deploy.topics import ensure_topics

    ensure_topics(settings)  # before the publisher asks for partitions (the worker would create them too)
    return settings


def context(settings: Settings) -> Context:
    return Context(policy_mod.load(settings.policy_path or None), orgtree.OrgTree(org_units()), Calendar())


def cleanup_topics(settings: Settings) -> None:
    from kafka import KafkaAdminClient

    from deploy.topics import delete_topics

    delete_topics(settings)
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        internal = [t for t in admin.list_topics() if t.startswith(f"{settings.topic_prefix}-streams")]
        if internal:
            admin.delete_topics(internal)
    finally:
        admin.close()


class WorkerProcess:
    """``python -m gridflow.cli worker`` with the test's settings in its environment."""

    def __init__(self, settings: Settings, tmp: Path, *args: str, worker_id: str = "w1"):
        self.settings = settings.with_(worker_id=worker_id, worker_web_port=free_port())  # several on one host
        self.tmp, self.args = tmp, args
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.stall_restarts = 0

    @property
    def log_path(self) -> Path:
        return self.tmp / f"{self.settings.worker_id}.log"

    def start(self) -> "WorkerProcess":
        self.starts += 1
        with self.log_path.open("a") as log:
            log.write(f"\n===== start {self.starts} =====\n")
            log.flush()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gridflow.cli", "worker", "--grace", "0.2", "--commit-interval", "0.5", "--session-timeout", "6", "--stall-timeout", "10",
                 *self.args],
                cwd=ROOT, env=settings_env(self.settings), stdout=log, stderr=subprocess.STDOUT)
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown, no final commit, no flush."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def status(self) -> dict | None:
        """The worker's /ready answer (ready, partitions, recovering); None while it does not answer."""
        import json
        import urllib.error
        import urllib.request

        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.settings.worker_web_port}/ready", timeout=5) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as exc:  # 503 while recovering: the body says what
            return json.loads(exc.read())
        except (OSError, ValueError):
            return None

    def metrics(self) -> str:
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{self.settings.worker_web_port}/metrics", timeout=10) as r:
            return r.read().decode()

    def tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return "(no worker log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


class Publisher:
    """Upstream: every record acknowledged before the next is sent (what a watermark promises)."""

    def __init__(self, settings: Settings):
        from kafka import KafkaProducer

        self.topics = settings.topics
        self.producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
        self.sent: list[Event] = []

    def send(self, event: Event) -> None:
        if isinstance(event, Watermark):  # a copy on every intake partition, as the SDK does
            for p in sorted(self.producer.partitions_for(self.topics.intake)):
                copy = event.replace(event_id=f"{event.event_id}.p{p}")
                self.raw(codec.encode(copy), event.matter_id, partition=p)
            return
        self.raw(codec.encode(event), event.matter_id)
        self.sent.append(event)

    def raw(self, value: bytes, key: str, partition: int | None = None) -> None:
        self.producer.send(self.topics.intake, key=key.encode(), value=value, partition=partition).get(timeout=30)

    def org(self, units: list[OrgUnit]) -> None:
        for unit in units:
            self.producer.send(self.topics.org, key=unit.unit_id.encode(), value=codec.encode_org_unit(unit)).get(30)

    def close(self) -> None:
        self.producer.close()


class Log:
    """Everything on the event log and the dead-letter topic, read from offset zero."""

    def __init__(self, settings: Settings, workers: list[WorkerProcess]):
        from kafka import KafkaConsumer

        self.settings, self.workers = settings, workers
        self.consumer = KafkaConsumer(settings.topics.events, settings.topics.deadletter,
                                      bootstrap_servers=settings.kafka_bootstrap, auto_offset_reset="earliest",
                                      enable_auto_commit=False, group_id=None)
        self.records: list[bytes] = []
        self.events: list[Event] = []
        self.deadletters: list[dict] = []

    def poll(self) -> None:
        for records in self.consumer.poll(timeout_ms=200).values():
            for r in records:
                if r.topic == self.settings.topics.events:
                    self.records.append(r.value)
                    self.events.append(codec.decode(r.value))
                else:
                    self.deadletters.append(codec.decode_deadletter(r.value))

    def wait_until(self, condition: Callable[["Log"], bool], what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.poll()
            if condition(self):
                return
            if time.monotonic() > deadline:
                tails = "\n".join(f"--- worker {w.settings.worker_id} log:\n{w.tail()}" for w in self.workers)
                pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}; log has {len(self.events)} "
                            f"events, {len(self.deadletters)} dead letters\n{tails}", pytrace=False)
            for w in self.workers:
                if w.proc is not None and w.proc.poll() == EXIT_STALLED:  # a supervisor starts it again
                    w.stall_restarts += 1
                    w.start()
                if w.proc is not None and not w.alive() and w.proc.returncode not in (-signal.SIGKILL, None):
                    pytest.fail(f"worker {w.settings.worker_id} exited with {w.proc.returncode}\n{w.tail()}",
                                pytrace=False)

    def by_id(self) -> dict[str, bytes]:
        """Event id -> bytes; a duplicate id must carry the very same bytes."""
        out: dict[str, bytes] = {}
        for event, raw in zip(self.events, self.records):
            assert out.setdefault(event.event_id, raw) == raw, f"two different events with id {event.event_id}"
        return out

    def ids(self) -> set[str]:
        return {e.event_id for e in self.events}

    def close(self) -> None:
        self.consumer.close()


def table_states(settings: Settings, timeout: float = 30.0) -> dict[str, MatterState]:
    """The newest state per matter on the worker's state topic."""
    from kafka import KafkaConsumer, TopicPartition

    topic = settings.topics.state
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False, group_id=None)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        states: dict[str, MatterState] = {}
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < ends[tp] for tp in tps) and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=200).values():
                for r in records:
                    if r.value and r.key != states_codec.CLOCK_KEY:
                        state = states_codec.load(r.value)
                        states[state.matter_id] = state
        return states
    finally:
        consumer.close()


def reference_run(upstream: list[Event], ctx: Context, until: int) -> tuple[dict[str, bytes], dict[str, MatterState]]:
    """What the log must hold: the pure state machine over the upstream events of each matter
    in publishing order, then every timer due before ``until`` (the last watermark, or now)."""
    states: dict[str, MatterState | None] = {}
    emitted: dict[str, bytes] = {}

    def apply(event: Event) -> None:
        decision = decide(states.get(event.matter_id), event, ctx)
        states[event.matter_id] = decision.state
        for e in decision.emit:
            emitted.setdefault(e.event_id, codec.encode(e))

    for event in upstream:
        apply(event)
    for matter_id in list(states):
        while (state := states[matter_id]) is not None and (timer := state.next_timer()) and timer.due < until:
            apply(DeadlineReached(event_id=f"ref-{timer.due}", matter_id=matter_id, occurred_at=timer.due,
                                  producer="reference", cycle=state.cycle, deadline=timer.deadline,
                                  due_at=timer.due))
    return emitted, {m: s for m, s in states.items() if s is not None}


# --- the scripted scenario in event time ------------------------------------------------------

H, MIN = 3_600_000, 60_000
T0 = 1_773_622_800_000  # Monday 2026-03-16 09:00 China Standard Time
HOURS = 72  # one watermark per simulated hour, three days


def _event(type_name: str, matter: str, at: int, n: int, **data) -> Event:
    from events.types import REGISTRY

    return REGISTRY[type_name](event_id=f"{matter}-{n:02d}-{type_name}", matter_id=matter, occurred_at=at,
                               producer="scenario", **data)


def _report(matter, at, category, place, priority="normal"):
    kind = policy_mod.load().category(category).kind
    return _event("reported", matter, at, 0, kind=kind, category=category, priority=priority, channel="app",
                  place=place, reporter="r-1", text="scenario")


def scenario_events() -> list[Event]:
    """Matters handled in time at grid level, one that climbs grid -> community -> street, a
    whistle, a suspension, a reopening, a cancellation, a late resolution (warnings, resolve
    breach) and an urgent matter nobody takes that ends at the city. Sorted by event time."""
    e = _event
    out = [
        _report("m-ontime", T0, "sanitation", "k1"),
        e("accepted", "m-ontime", T0 + 30 * MIN, 1, unit="g1", handler="h-g1"),
        e("claimed", "m-ontime", T0 + H, 2, handler="h-pm-1"),
        e("resolved", "m-ontime", T0 + 5 * H, 3, unit="g1", handler="h-pm-1"),
        e("verified", "m-ontime", T0 + 6 * H, 4, verifier="h-cm"),
        e("feedback", "m-ontime", T0 + 7 * H, 5, contacted=True, solved=True, satisfaction="satisfied"),

        _report("m-climb", T0 + 10 * MIN, "sanitation", "k2"),  # nobody at g2 or cm accepts
        e("accepted", "m-climb", T0 + 8 * H, 1, unit="s", handler="h-s"),
        e("resolved", "m-climb", T0 + 20 * H, 2, unit="s", handler="h-s"),
        e("verified", "m-climb", T0 + 21 * H, 3, verifier="h-d"),

        _report("m-whistle", T0 + 20 * MIN, "elder_fraud", "k1"),
        e("accepted", "m-whistle", T0 + 40 * MIN, 1, unit="g1", handler="h-g1"),
        e("escalation_requested", "m-whistle", T0 + H, 2, handler="h-g1", reason="beyond_authority"),
        e("accepted", "m-whistle", T0 + 2 * H, 3, unit="cm", handler="h-cm"),
        e("resolved", "m-whistle", T0 + 24 * H, 4, unit="cm", handler="h-cm"),
        e("verified", "m-whistle", T0 + 25 * H, 5, verifier="h-s"),

        _report("m-suspend", T0 + 30 * MIN, "facility_repair", "k1"),
        e("accepted", "m-suspend", T0 + 45 * MIN, 1, unit="g1", handler="h-g1"),
        e("suspended", "m-suspend", T0 + 2 * H, 2, reason="waiting for the parts"),
        e("resumed", "m-suspend", T0 + 26 * H, 3),
        e("resolved", "m-suspend", T0 + 30 * H, 4, unit="g1", handler="h-g1"),
        e("verified", "m-suspend", T0 + 31 * H, 5, verifier="h-cm"),

        _report("m-reopen", T0 + H, "document_delivery", "g2"),
        e("accepted", "m-reopen", T0 + 90 * MIN, 1, unit="g2", handler="h-g2"),
        e("resolved", "m-reopen", T0 + 3 * H, 2, unit="g2", handler="h-g2"),
        e("feedback", "m-reopen", T0 + 4 * H, 3, contacted=True, solved=False, satisfaction="unsatisfied"),
        e("reopened", "m-reopen", T0 + 5 * H, 4, reason="the card never arrived"),
        e("accepted", "m-reopen", T0 + 330 * MIN, 5, unit="g2", handler="h-g2"),
        e("resolved", "m-reopen", T0 + 9 * H, 6, unit="g2", handler="h-g2"),
        e("verified", "m-reopen", T0 + 10 * H, 7, verifier="h-cm"),

        _report("m-cancel", T0 + 2 * H, "neighbour_dispute", "k1"),
        e("cancelled", "m-cancel", T0 + 150 * MIN, 1, reason="withdrawn"),
        e("resolved", "m-cancel", T0 + 3 * H, 2, unit="g1", handler="h-g1"),  # rejected: cancelled

        _report("m-late", T0 + 3 * H, "sanitation", "k1"),
        e("accepted", "m-late", T0 + 190 * MIN, 1, unit="g1", handler="h-g1"),
        e("accepted", "m-late", T0 + 52 * H, 2, unit="cm", handler="h-cm"),  # after the resolve breach
        e("resolved", "m-late", T0 + 60 * H, 3, unit="cm", handler="h-cm"),
        e("verified", "m-late", T0 + 61 * H, 4, verifier="h-s"),

        _report("m-city", T0 + 4 * H, "elder_fraud", "k1", priority="urgent"),  # 15 min per level

        e("accepted", "m-ghost", T0 + 4 * H, 1, unit="g1", handler="h-g1"),  # rejected: never reported
    ]
    return sorted(out, key=lambda ev: ev.occurred_at)


BAD_RECORDS = [  # (raw bytes, key, expected stage, expected code) -- published at T0 + 4h
    (b"\x93not msgpack at all", "m-junk", "intake", "undecodable"),
]


def bad_records() -> list[tuple[bytes, str, str, str]]:
    from events.validation import to_wire

    wire = to_wire(_report("m-bad", T0 + 4 * H, "sanitation", "k1"))
    wire["data"]["priority"] = "high"
    routed = _event("routed", "m-ontime", T0 + 4 * H, 9, place="k1", unit="g1", level="grid",
                    policy_version="2026.1")
    return BAD_RECORDS + [(codec.pack(wire), "m-bad", "intake", "invalid"),
                          (codec.encode(routed), "m-ontime", "intake", "not_upstream")]


EXPECTED_MATTER_REJECTIONS = {("matters", "cancelled"), ("matters", "unknown_matter")}


def scenario_steps() -> list[tuple[int, str, object]]:
    """(event time, kind, payload) in publishing order: events, watermarks, bad records and
    a re-sent event (same id: the intake drops it)."""
    steps: list[tuple[int, str, object]] = [(ev.occurred_at, "event", ev) for ev in scenario_events()]
    steps += [(T0 + h * H, "watermark", T0 + h * H) for h in range(HOURS + 1)]
    steps += [(T0 + 4 * H, "bad", rec) for rec in bad_records()]
    steps.append((T0 + 4 * H + 1, "event", scenario_events()[0]))  # m-ontime's report again
    order = {"event": 0, "bad": 1, "watermark": 2}  # a watermark at T comes after the events at T
    return sorted(steps, key=lambda s: (s[0], order[s[1]]))


def publish(pub: Publisher, steps: list[tuple[int, str, object]]) -> None:
    for _, kind, payload in steps:
        if kind == "event":
            pub.send(payload)
        elif kind == "watermark":
            pub.send(Watermark(event_id=f"wm-{payload}", matter_id="scenario-clock", occurred_at=payload,
                               producer="scenario"))
        else:
            raw, key, _, _ = payload
            pub.raw(raw, key)


def scenario_until() -> int:
    return T0 + HOURS * H


@pytest.fixture
def stream_env(request, settings, kafka_bootstrap, tmp_path):
    """(settings factory, tmp): each test's topics are deleted afterwards."""
    made = []

    def make(**kw):
        s = stream_settings(settings, tmp_path, request.node.name[5:30].replace("_", "-"), **kw)
        made.append(s)
        return s

    yield make, tmp_path
    for s in made:
        cleanup_topics(s)


@pytest.fixture
def running():
    """Workers, publishers and log readers to close whatever happens."""
    things = []
    yield things
    for thing in reversed(things):
        (thing.stop if isinstance(thing, WorkerProcess) else thing.close)()
