"""The Faust worker on the real Kafka broker: the scripted scenario in event time (watermarks)
and a short one in wall-clock time. Each test has its own topic prefix, consumer group and
tables; the worker is a real subprocess; every wait has a deadline."""
from __future__ import annotations

import time
from collections import Counter

import pytest

from events.ids import derived_id
from events.types import MatterReported
from streams_fixtures import (EXPECTED_MATTER_REJECTIONS, MIN, T0, H, Log, Publisher, WorkerProcess,  # noqa: F401
                              bad_records, context, org_units, publish, reference_run, running, scenario_steps,
                              scenario_until, stream_env, table_states)

pytestmark = pytest.mark.integration


def test_event_time_scenario_writes_exactly_the_derived_events_of_the_state_machine(stream_env, running):
    make, tmp = stream_env
    settings = make(clock="event")
    worker = WorkerProcess(settings, tmp).start()
    pub, log = Publisher(settings), Log(settings, [worker])
    running += [worker, pub, log]

    steps = scenario_steps()
    publish(pub, steps)
    expected, expected_states = reference_run(pub.sent, context(settings), scenario_until())
    log.wait_until(lambda l: expected.keys() <= l.ids() and len(l.deadletters) >= 5,
                   f"{len(expected)} events in the log and 5 dead letters", timeout=90)

    # the log holds exactly the reference events, ids and bytes, each once (no crash here)
    assert log.by_id() == expected
    assert len(log.events) == len(expected), Counter(e.event_id for e in log.events).most_common(3)

    by_matter = {}
    for e in log.events:
        by_matter.setdefault(e.matter_id, []).append(e)

    def derived(matter):
        return [(e.TYPE, getattr(e, "level", None) or getattr(e, "from_level", None)) for e in by_matter[matter]
                if e.DERIVED]

    assert derived("m-ontime") == [("routed", "grid"), ("sla_started", "grid")]
    assert derived("m-climb") == [("routed", "grid"), ("sla_started", "grid"),
                                  ("sla_breached", "grid"), ("escalated", "grid"), ("sla_started", "community"),
                                  ("sla_breached", "community"), ("escalated", "community"),
                                  ("sla_started", "street")]
    climb = [e for e in by_matter["m-climb"] if e.TYPE == "escalated"]
    assert [(e.from_unit, e.to_unit, e.reason, e.cycle) for e in climb] == [("g2", "cm", "breach", 2),
                                                                              ("cm", "s", "breach", 3)]
    assert climb[0].event_id == derived_id("m-climb", "escalated", "grid", 1)
    assert climb[0].occurred_at == T0 + 10 * MIN + 2 * H  # at the deadline, not when a scan saw it
    whistle = [e for e in by_matter["m-whistle"] if e.TYPE == "escalated"]
    assert [(e.reason, e.to_unit) for e in whistle] == [("authority", "cm")]
    resumed = [e for e in by_matter["m-suspend"] if e.TYPE == "sla_started" and e.reason == "resumed"]
    assert len(resumed) == 1 and resumed[0].resolve_by > T0 + 48 * H
    reopened = [e for e in by_matter["m-reopen"] if e.TYPE == "sla_started" and e.reason == "reopened"]
    assert [(e.level, e.cycle) for e in reopened] == [("grid", 2)]
    late = [e.TYPE for e in by_matter["m-late"] if e.DERIVED]
    assert late.count("sla_warning") == 2 and ("sla_breached" in late) and ("escalated" in late)
    city = [e for e in by_matter["m-city"] if e.TYPE in ("sla_breached", "escalated")]
    assert [(e.TYPE, e.level if e.TYPE == "sla_breached" else e.to_level) for e in city][-2:] == \
        [("sla_breached", "city"), ("sla_breached", "city")]  # at the top a breach is recorded, no escalation
    assert all(e.level == "grid" for e in by_matter["m-ontime"] if e.TYPE == "resolved")
    assert "m-ghost" not in by_matter and "m-bad" not in by_matter

    # bad input is never silently dropped: reason, original bytes, where it came from
    letters = {(d["stage"], d["reason"].split(":")[0]) for d in log.deadletters}
    assert letters == {(stage, code) for _, _, stage, code in bad_records()} | EXPECTED_MATTER_REJECTIONS
    junk = next(d for d in log.deadletters if d["reason"].startswith("undecodable"))
    assert junk["original"] == bad_records()[0][0] and junk["topic"] == settings.topics.intake
    assert junk["offset"] >= 0 and junk["partition"] in (0, 1)
    # the re-sent report was dropped as a duplicate, not dead-lettered
    assert sum(1 for e in log.events if isinstance(e, MatterReported) and e.matter_id == "m-ontime") == 1

    # the table holds the same final states as the reference run
    log.wait_until(lambda l: table_states(settings) == expected_states, "the final states in the table", 30)

    text = worker.metrics()
    assert 'gridflow_escalations_total{from_level="grid",reason="breach"}' in text
    assert 'gridflow_deadletters_total{reason="undecodable",stage="intake"} 1.0' in text
    assert 'gridflow_duplicates_dropped_total{stage="matters"} 1.0' in text
    proposals = next(line for line in text.splitlines() if line.startswith("gridflow_scanner_proposals_total"))
    assert float(proposals.split()[-1]) > 0  # m-city only moves through the scanner's proposals


WALL_POLICY = """
version: "wall-test"
warn_at: [0.5]
categories:
  sanitation: {kind: incident, entry: grid}
  elder_fraud: {kind: incident, entry: grid}
sla:
  - {accept: 1m, resolve: 2m}
  - {level: grid, accept: 0.05m, resolve: 1m}
  - {level: community, accept: 0.05m, resolve: 1m}
"""


def test_wall_clock_escalates_when_the_deadline_passes_and_reads_the_org_topic(stream_env, running):
    make, tmp = stream_env
    settings = make(clock="wall", policy=WALL_POLICY, org_file=False)
    pub = Publisher(settings)
    running.append(pub)
    pub.org(org_units())  # the worker reads the tree from the org topic
    worker = WorkerProcess(settings, tmp).start()
    log = Log(settings, [worker])
    running += [worker, log]

    def now() -> int:
        return int(time.time() * 1000)

    def report(matter, category="sanitation"):
        pub.send(MatterReported(event_id=f"{matter}-r", matter_id=matter, occurred_at=now(), producer="t",
                                kind="incident", category=category, priority="normal", channel="app",
                                place="k1", reporter="r", text="wall"))

    def send(type_name, matter, n, **data):
        from events.types import REGISTRY
        pub.send(REGISTRY[type_name](event_id=f"{matter}-{n}", matter_id=matter, occurred_at=now(),
                                     producer="t", **data))

    report("w-ontime")
    send("accepted", "w-ontime", 1, unit="g1", handler="h")
    report("w-climb")  # grid and community each have 3 s to accept; the street has a minute
    report("w-whistle", "elder_fraud")
    send("escalation_requested", "w-whistle", 1, handler="h", reason="needs_help")
    send("accepted", "w-whistle", 2, unit="cm", handler="h")

    def escalated_to(l, matter, level):
        return any(e.TYPE == "escalated" and e.matter_id == matter and e.to_level == level for e in l.events)

    log.wait_until(lambda l: escalated_to(l, "w-climb", "street"), "w-climb to reach the street", timeout=60)
    send("accepted", "w-climb", 1, unit="s", handler="h")
    for matter in ("w-ontime", "w-climb", "w-whistle"):
        unit = {"w-ontime": "g1", "w-climb": "s", "w-whistle": "cm"}[matter]
        send("resolved", matter, 8, unit=unit, handler="h")
        send("verified", matter, 9, verifier="v")

    expected, states = reference_run(pub.sent, context(settings), now())
    log.wait_until(lambda l: expected.keys() <= l.ids(), f"{len(expected)} events", timeout=60)
    assert log.by_id() == expected
    assert all(s.status == "closed" for s in states.values())
    climb = [(e.from_level, e.to_level, e.reason) for e in log.events
             if e.TYPE == "escalated" and e.matter_id == "w-climb"]
    assert climb == [("grid", "community", "breach"), ("community", "street", "breach")]
    assert [e.reason for e in log.events if e.TYPE == "escalated" and e.matter_id == "w-whistle"] == ["whistle"]
    assert not [e for e in log.events if e.matter_id == "w-ontime" and e.TYPE == "sla_breached"]
    log.wait_until(lambda l: table_states(settings) == states, "the final states in the table", 30)
