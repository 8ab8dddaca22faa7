"""Test support for the projections: a generated event log and an independent reference.

``generate`` writes the life of a few hundred matters in a small city as the matter agent
would log them (routed, SLA cycles, breaches and escalations, whistles, rework, reopening,
feedback, cancellation), with the awkward parts on purpose: events stamped in the same
millisecond, an upstream clock a minute behind, duplicate runs of a matter's latest events
(an agent crash), undecodable and invalid records, and personal data that must not reach
ClickHouse.

``reference`` computes the statistics of docs/statistics.md in plain Python from that log,
the way a careful reader of the definitions would: drop an event whose id was seen, walk
each matter's events in log order. It shares no code with ``projections``.
"""
from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from events import codec
from events.ids import derived_id
from events.levels import LEVEL_NAMES, Level
from events.orgtree import OrgTree, OrgUnit
from events.types import (EscalationRequested, Event, FeedbackGiven, MatterAccepted, MatterCancelled,
                          MatterClaimed, MatterDispatched, MatterEscalated, MatterReopened, MatterReported,
                          MatterResolved, MatterResumed, MatterRouted, MatterSuspended, MatterVerified,
                          SlaBreached, SlaStarted, SlaWarning, VerificationFailed, Watermark)
from gridflow.children import free_port  # noqa: F401  (re-exported to the tests)

START = 1_767_196_800_000  # 2026-01-01T00:00:00+08:00
MINUTE, HOUR, DAY = 60_000, 3_600_000, 86_400_000
SECRET = "PII-"  # every personal value the generator writes starts with this
CATEGORIES = {  # category -> (kind, entry level)
    "sanitation": ("incident", Level.GRID), "neighbour_dispute": ("incident", Level.GRID),
    "facility_repair": ("incident", Level.COMPOUND), "illegal_construction": ("incident", Level.COMMUNITY),
    "document_delivery": ("request", Level.GRID), "micro_wish": ("request", Level.COMPOUND),
    "utility_repair": ("request", Level.COMMUNITY),
}


def build_org() -> list[OrgUnit]:
    """One city, 2 districts x 2 streets x 2 communities x 3 grids x 2 compounds."""
    units = [OrgUnit("c", Level.CITY, None, "测试市")]
    for d in range(2):
        did = f"c-d{d}"
        units.append(OrgUnit(did, Level.DISTRICT, "c", f"第{d}区"))
        for s in range(2):
            sid = f"{did}-s{s}"
            units.append(OrgUnit(sid, Level.STREET, did, f"{sid} 街道"))
            for k in range(2):
                kid = f"{sid}-k{k}"
                units.append(OrgUnit(kid, Level.COMMUNITY, sid, f"{kid} 社区"))
                for g in range(3):
                    gid = f"{kid}-g{g}"
                    units.append(OrgUnit(gid, Level.GRID, kid, f"{gid} 网格"))
                    for h in range(2):
                        units.append(OrgUnit(f"{gid}-h{h}", Level.COMPOUND, gid, f"{gid}-h{h} 小区"))
    return units


@dataclass
class Log:
    """Records in log order: (key, value bytes). ``events`` is the same log decoded (bad records left out)."""

    records: list[tuple[bytes, bytes]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    bad: int = 0
    units: list[OrgUnit] = field(default_factory=list)

    def add(self, event: Event) -> None:
        self.records.append((event.matter_id.encode(), codec.encode(event)))
        self.events.append(event)

    def add_bad(self, key: bytes, value: bytes) -> None:
        self.records.append((key, value))
        self.bad += 1


class _Matter:
    """Writes one matter's events the way the matter agent logs them."""

    def __init__(self, rng: random.Random, tree: OrgTree, n: int, at: int) -> None:
        self.rng, self.tree = rng, tree
        self.m = f"m-{n:05d}"
        self.at = at
        self.cycle = 0
        self.out: list[Event] = []
        self.unit = self.level = None

    def _id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128)))

    def tick(self, lo: int, hi: int) -> int:
        self.at += self.rng.randint(lo, hi)
        return self.at

    def emit(self, cls, at: int | None = None, *, derived: tuple | None = None, **fields) -> None:
        event_id = derived_id(self.m, cls.TYPE, *derived) if derived is not None else self._id()
        self.out.append(cls(event_id=event_id, matter_id=self.m, occurred_at=self.at if at is None else at,
                            producer="gridflow-streams" if cls.DERIVED else "test-app", **fields))

    def arrive(self, unit: OrgUnit, reason: str) -> None:
        self.cycle += 1
        self.unit, self.level = unit.unit_id, unit.level.label
        self.emit(SlaStarted, derived=(self.level, self.cycle, reason), unit=self.unit, level=self.level,
                  cycle=self.cycle, reason=reason, accept_by=self.at + 2 * HOUR, resolve_by=self.at + 2 * DAY,
                  warn_at=[self.at + DAY], policy_version="test")

    def escalate(self, reason: str) -> bool:
        parent = self.tree.parent(self.unit)
        if parent is None:
            return False
        self.emit(MatterEscalated, derived=(self.level, self.cycle), from_unit=self.unit, from_level=self.level,
                  to_unit=parent.unit_id, to_level=parent.level.label, reason=reason, cycle=self.cycle + 1)
        self.arrive(parent, "arrived")
        return True

    def breach(self, deadline: str) -> None:
        self.tick(HOUR, 3 * HOUR)
        self.emit(SlaBreached, derived=(self.level, self.cycle, deadline), unit=self.unit, level=self.level,
                  cycle=self.cycle, deadline=deadline, due_at=self.at)
        self.escalate("breach")

    def work_until_resolved(self) -> None:
        """Accept (breaching or whistling up now and then) and resolve at the holding level."""
        rng = self.rng
        while True:
            roll = rng.random()
            if roll < 0.12 and self.escalate_possible():
                self.breach("accept")
                continue
            self.tick(5 * MINUTE, 2 * HOUR)
            self.emit(MatterAccepted, unit=self.unit, handler=SECRET + "handler")
            if rng.random() < 0.3:
                self.tick(MINUTE, HOUR)
                self.emit(MatterDispatched, unit=self.unit, handler=SECRET + "dispatch")
                self.tick(MINUTE, HOUR)
                self.emit(MatterClaimed, handler=SECRET + "claimer")
            roll = rng.random()
            if roll < 0.10 and self.escalate_possible():
                self.tick(HOUR, 5 * HOUR)
                self.emit(EscalationRequested, handler=SECRET + "whistler", reason="beyond_authority",
                          note=SECRET + "needs the street")
                self.escalate("authority")
                continue
            if roll < 0.18 and self.escalate_possible():
                self.tick(HOUR, 3 * HOUR)
                self.emit(SlaWarning, derived=(self.level, self.cycle, 0.5), unit=self.unit, level=self.level,
                          cycle=self.cycle, threshold=0.5, due_at=self.at + HOUR)
                self.breach("resolve")
                continue
            if roll < 0.25:
                self.tick(HOUR, 2 * HOUR)
                self.emit(MatterSuspended, reason=SECRET + "waiting for the gas company")
                self.tick(HOUR, DAY)
                self.emit(MatterResumed)
                self.emit(SlaStarted, derived=(self.level, self.cycle, "resumed", self.out[-1].event_id),
                          unit=self.unit, level=self.level, cycle=self.cycle, reason="resumed",
                          accept_by=self.at, resolve_by=self.at + DAY, warn_at=[], policy_version="test")
            self.tick(20 * MINUTE, 30 * HOUR)
            self.emit(MatterResolved, unit=self.unit, handler=SECRET + "resolver", level=self.level)
            return

    def escalate_possible(self) -> bool:
        return self.tree.parent(self.unit) is not None and self.cycle < 8

    def rework(self, failed: bool) -> None:
        self.tick(HOUR, DAY)
        if failed:
            self.emit(VerificationFailed, verifier=SECRET + "verifier", reason=SECRET + "rubbish still there")
        else:
            self.emit(MatterReopened, reason=SECRET + "leak is back")
        self.arrive(self.tree.get(self.unit), "reopened")
        self.work_until_resolved()

    def verify(self) -> None:
        roll = self.rng.random()
        if roll < 0.1:  # same millisecond as the resolution: order comes from the log
            at = self.at
        elif roll < 0.2:  # the verifier's clock is a minute behind the resolver's
            at = self.at - MINUTE
        else:
            at = self.tick(HOUR, 2 * DAY)
        self.emit(MatterVerified, at, verifier=SECRET + "verifier")
        self.at = max(self.at, at)

    def feedback(self) -> None:
        rng = self.rng
        self.tick(HOUR, 3 * DAY)
        contacted = rng.random() < 0.9
        self.emit(FeedbackGiven, contacted=contacted, solved=rng.random() < 0.85,
                  satisfaction=rng.choices(["satisfied", "basically_satisfied", "unsatisfied"], [6, 3, 1])[0])

    def life(self, place: OrgUnit) -> None:
        rng = self.rng
        category = rng.choice(sorted(CATEGORIES))
        kind, entry = CATEGORIES[category]
        priority = rng.choice(["low", "normal", "normal", "urgent"])
        self.emit(MatterReported, kind=kind, category=category, priority=priority,
                  channel=rng.choice(["app", "hotline", "patrol", "wechat"]), place=place.unit_id,
                  reporter=SECRET + "reporter-138", text=SECRET + "my name and phone 13800000000")
        unit = self.tree.ancestor_at(place.unit_id, entry)
        self.emit(MatterRouted, derived=(), place=place.unit_id, unit=unit.unit_id, level=unit.level.label,
                  policy_version="test")
        self.arrive(unit, "arrived")
        if rng.random() < 0.06:
            self.tick(MINUTE, HOUR)
            self.emit(MatterCancelled, reason="duplicate", duplicate_of="m-00000")
            return
        if rng.random() < 0.12:  # still open: maybe accepted, maybe escalated, not resolved
            if rng.random() < 0.5:
                self.breach("accept")
            else:
                self.tick(MINUTE, HOUR)
                self.emit(MatterAccepted, unit=self.unit, handler=SECRET + "handler")
            return
        self.work_until_resolved()
        roll = rng.random()
        if roll < 0.1:
            return  # resolved, awaiting verification
        if roll < 0.13:
            self.tick(HOUR, DAY)
            self.emit(MatterCancelled, reason="withdrawn")
            return
        if roll < 0.23:
            self.rework(failed=True)
            if rng.random() < 0.3:
                return  # resolved again, awaiting verification
        self.verify()
        if rng.random() < 0.7:
            self.feedback()
        if rng.random() < 0.07:
            self.rework(failed=False)
            if rng.random() < 0.6:
                self.verify()


def generate(seed: int = 7, matters: int = 300, *, duplicate_runs: int = 25, bad: bool = True,
             span_days: int = 60, first: int = 0) -> Log:
    """A log of ``matters`` matters (numbered from ``first``) reported over ``span_days`` days, in log order."""
    rng = random.Random(seed)
    units = build_org()
    tree = OrgTree(units)
    places = [u for u in units if u.level in (Level.GRID, Level.COMPOUND)] + [u for u in units if u.level == Level.COMMUNITY][:2]
    lives = []
    for n in range(matters):
        m = _Matter(rng, tree, first + n, START + rng.randint(0, span_days * DAY))
        m.life(rng.choice(places))
        lives.append(m.out)
    # Interleave the matters as the agent would write them (by time), each matter in its own order.
    log = Log(units=units)
    cursors = [0] * len(lives)
    pending = list(range(len(lives)))
    while pending:
        i = min(pending, key=lambda j: (lives[j][cursors[j]].occurred_at, j))
        log.add(lives[i][cursors[i]])
        cursors[i] += 1
        if cursors[i] == len(lives[i]):
            pending.remove(i)
        # An agent crash now and then: the latest events of a matter written again, in order.
        if duplicate_runs and rng.random() < duplicate_runs / (len(lives) * 8) and cursors[i] > 1:
            for event in lives[i][max(0, cursors[i] - rng.randint(1, 3)):cursors[i]]:
                log.add(event)
    if bad:
        log.add_bad(b"m-bad-1", b"\xc1 not msgpack")
        log.add_bad(b"m-bad-2", codec.pack({"id": "x", "matter": "m-bad-2", "type": "resolved", "v": 1,
                                            "at": START, "producer": "p", "data": {"unit": "u"}}))  # no handler
        wm = Watermark(event_id="wm-1", matter_id="sim", occurred_at=START, producer="sim")
        log.add_bad(b"sim", codec.encode(wm))
    return log


# --- the reference ------------------------------------------------------------------------

LIFECYCLE = {"reported", "routed", "escalated", "accepted", "dispatched", "claimed", "suspended", "resumed",
             "resolved", "verification_failed", "verified", "reopened", "cancelled"}


@dataclass
class Facts:
    reported_at: int = 0
    kind: str = ""
    category: str = ""
    place: str = ""
    accepted_at: int = 0
    first_resolved_at: int = 0
    resolved_at: int = 0
    resolved_level: str = ""
    cancelled: bool = False
    last_step: str = ""
    escalations: list = field(default_factory=list)  # from levels
    reopens: int = 0
    failures: int = 0
    breaches: int = 0
    feedback: FeedbackGiven | None = None

    @property
    def status(self) -> str:
        if self.cancelled:
            return "cancelled"
        return {"verified": "closed", "resolved": "resolved", "suspended": "suspended"}.get(self.last_step, "open")


def matter_facts(events: list[Event]) -> dict[str, Facts]:
    seen: set[str] = set()
    facts: dict[str, Facts] = {}
    for e in events:
        if e.event_id in seen:
            continue
        seen.add(e.event_id)
        f = facts.setdefault(e.matter_id, Facts())
        t = e.TYPE
        if t == "reported":
            f.reported_at, f.kind, f.category, f.place = e.occurred_at, e.kind, e.category, e.place
        elif t == "accepted":
            f.accepted_at = min(f.accepted_at or e.occurred_at, e.occurred_at)
        elif t == "resolved":
            f.first_resolved_at = min(f.first_resolved_at or e.occurred_at, e.occurred_at)
            f.resolved_at, f.resolved_level = e.occurred_at, e.level
        elif t == "cancelled":
            f.cancelled = True
        elif t == "escalated":
            f.escalations.append(e.from_level)
        elif t == "reopened":
            f.reopens += 1
        elif t == "verification_failed":
            f.failures += 1
        elif t == "sla_breached":
            f.breaches += 1
        elif t == "feedback":
            f.feedback = e
        if t in LIFECYCLE:
            f.last_step = t
    return facts


def _quantiles(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    values = sorted(values)
    n = len(values)
    return {name: values[min(int(q * n), n - 1)] for name, q in (("p50", 0.5), ("p80", 0.8), ("p95", 0.95))}


def figures(facts: list[Facts]) -> dict:
    valid = [f for f in facts if f.status != "cancelled"]
    resolved = [f for f in valid if f.status in ("resolved", "closed")]
    closed = [f for f in valid if f.status == "closed"]
    ever = [f for f in valid if f.first_resolved_at]
    fed = [f for f in valid if f.feedback is not None]
    contacted = [f for f in fed if f.feedback.contacted]
    accepted = [f for f in valid if f.accepted_at]
    return {
        "matters": len(facts), "cancelled": len(facts) - len(valid), "valid": len(valid),
        "open": sum(f.status in ("open", "suspended") for f in valid), "resolved": len(resolved),
        "closed": len(closed), "closed_on_time": sum(f.breaches == 0 for f in closed), "ever_resolved": len(ever),
        "reworked": sum(f.reopens + f.failures > 0 for f in ever),
        "escalations": sum(len(f.escalations) for f in valid),
        "escalated_matters": sum(bool(f.escalations) for f in valid), "with_feedback": len(fed),
        "contacted": len(contacted), "solved": sum(f.feedback.solved for f in contacted),
        "satisfied": sum(f.feedback.satisfaction in ("satisfied", "basically_satisfied") for f in contacted),
        "accepted": len(accepted),
        "resolved_by_level": {lv: sum(f.resolved_level == lv for f in resolved) for lv in LEVEL_NAMES},
        "accept_seconds": _quantiles([(f.accepted_at - f.reported_at) / 1000 for f in accepted]),
        "resolve_seconds": _quantiles([(f.resolved_at - f.reported_at) / 1000 for f in resolved]),
    }


def reference(events: list[Event], units: list[OrgUnit], *, unit: str | None = None, since: int | None = None,
              until: int | None = None, categories: tuple[str, ...] = (), kind: str | None = None) -> dict:
    """Expected figures for the scope: total, escalations by level, and per child unit."""
    tree = OrgTree(units)
    level = tree.get(unit).level if unit else None
    in_scope = {}
    for m, f in matter_facts(events).items():
        if not f.reported_at:
            continue
        if unit and (f.place not in tree or tree.path(f.place).get(level) != unit):
            continue
        if (since is not None and f.reported_at < since) or (until is not None and f.reported_at >= until):
            continue
        if (categories and f.category not in categories) or (kind and f.kind != kind):
            continue
        in_scope[m] = f
    by_level = {lv: 0 for lv in LEVEL_NAMES if lv != "city"}
    for f in in_scope.values():
        if f.status != "cancelled":
            for lv in f.escalations:
                by_level[lv] += 1
    children: dict[str, list[Facts]] = {}
    child = Level.CITY if level is None else (Level(level + 1) if level < Level.COMPOUND else None)
    if child is not None:
        for f in in_scope.values():
            key = tree.path(f.place).get(child, "") if f.place in tree else ""
            children.setdefault(key, []).append(f)
    return {"total": figures(list(in_scope.values())), "escalations_by_level": by_level,
            "children": {k: figures(v) for k, v in children.items()}}


# --- fixtures and helpers for the integration tests ----------------------------------------

ROOT = Path(__file__).resolve().parents[2]


def wait_for(what: str, condition, timeout: float = 60.0, interval: float = 0.1, detail=None):
    """Poll ``condition`` until it returns something truthy; fail naming ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}" + (f"\n{detail()}" if detail else ""))
        time.sleep(interval)


@pytest.fixture
def own(settings, kafka_bootstrap):
    """Settings with topics, a projector group and names of this test only; topics deleted after."""
    from deploy.topics import delete_topics, ensure_topics

    tag = uuid.uuid4().hex[:8]
    mine = settings.with_(topic_prefix=f"{settings.topic_prefix}-{tag}", projector_group=f"projector-{tag}",
                          projector_batch_size=500, projector_batch_seconds=0.5)
    ensure_topics(mine)
    yield mine
    delete_topics(mine)
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=mine.kafka_bootstrap)
    try:
        groups = [g["group_id"] for g in admin.list_groups() if g["group_id"].startswith(mine.projector_group)]
        if groups:
            admin.delete_groups(groups)
    finally:
        admin.close()


@pytest.fixture(params=["server", "chdb"])
def store(request, own):
    """A migrated, empty database on the ClickHouse server or in chdb, with settings to match."""
    from projections.migrate import migrate

    st = open_test_store(request, own)
    migrate(st, log=lambda _: None)
    yield st
    st.close()


@pytest.fixture(params=["server", "chdb"])
def bare_store(request, own):
    """An empty database with no migrations applied, on the server or in chdb."""
    st = open_test_store(request, own)
    yield st
    st.close()


def open_test_store(request, own):
    from projections.store_chdb import ChdbStore
    from projections.store_server import ServerStore

    if request.param == "server":
        database = request.getfixturevalue("ch_database")
        s = own.with_(store="server", clickhouse_database=database)
        st = ServerStore(database, host=s.clickhouse_host, port=s.clickhouse_port, user=s.clickhouse_user,
                         password=s.clickhouse_password)
    else:
        session = request.getfixturevalue("chdb_session")
        database = f"t_{uuid.uuid4().hex[:8]}"
        s = own.with_(store="chdb", clickhouse_database=database)
        st = ChdbStore(database, session=session)
    st.settings = s
    return st


def produce(settings, records) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=20)
    try:
        for key, value in records:
            producer.send(settings.topics.events, key=key, value=value)
        producer.flush(timeout=60)
    finally:
        producer.close()


def read_deadletters(settings, n: int, timeout: float = 30.0) -> list[dict]:
    """The first ``n`` dead letters of the run's dead-letter topic (fails the test if fewer come)."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(settings.topics.deadletter, bootstrap_servers=settings.kafka_bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=int(timeout * 1000))
    letters = []
    try:
        for record in consumer:
            letters.append(codec.decode_deadletter(record.value))
            if len(letters) == n:
                break
    finally:
        consumer.close()
    assert len(letters) == n, f"expected {n} dead letters within {timeout:.0f}s, got {letters}"
    return letters


def in_matter_order(records: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The log as a backfill writes it: matter after matter (each in its own order), so any
    stretch of it spans all the years the matters were reported in."""
    return sorted(records, key=lambda record: record[0])


def publish_org(settings, units) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    try:
        for unit in units:
            producer.send(settings.topics.org, key=unit.unit_id.encode(), value=codec.encode_org_unit(unit))
        producer.flush(timeout=60)
    finally:
        producer.close()


def project_until_idle(settings, st, timeout: float = 120.0, **kwargs):
    """Run the live projector in this process until the log is fully projected."""
    from projections.app import build_projector

    projector = build_projector(settings, st, log=lambda _: None, progress_seconds=3600, **kwargs)
    timer = threading.Timer(timeout, projector.stop)
    timer.start()
    try:
        totals = projector.run(until_idle=True)
    finally:
        timer.cancel()
        projector.consumer.close()
        projector.producer.close()
    assert not projector._stop.is_set(), f"projector did not catch up within {timeout:.0f}s"
    return totals


def assert_report_matches(report, expected: dict) -> None:
    """A stats.Report equals the reference's figures, total and per child unit."""
    def same(got, want: dict, where: str) -> None:
        d = got.to_dict()
        diffs = {k: (d[k], v) for k, v in want.items() if d[k] != v}
        assert not diffs, f"{where}: (clickhouse, reference) differ: {diffs}"

    same(report.total, expected["total"], "total")
    assert report.escalations_by_level == expected["escalations_by_level"]
    got = {c.unit: c for c in report.children}
    assert set(got) == set(expected["children"]), "drill-down units differ"
    for unit, want in expected["children"].items():
        same(got[unit], want, f"child {unit or '(none)'}")


def env_for(settings, **extra) -> dict:
    env = dict(os.environ)
    env.update({f"GRIDFLOW_{k.upper()}": str(v) for k, v in vars(settings).items()})
    env.update(extra)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def gridflow(settings, *args, timeout: float = 120.0) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gridflow.cli", *args], cwd=ROOT, env=env_for(settings),
                          capture_output=True, text=True, timeout=timeout)


class Outage:
    """A TCP proxy in front of ClickHouse that can be cut (connections dropped, new ones
    refused) and restored: a real outage as the projector sees it, without stopping the
    server other tests use."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = free_port()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            conns, self._conns = self._conns, []
        if listener is not None:
            listener.close()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
