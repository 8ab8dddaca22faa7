"""Matters change after their row was settled, and events come twice, before and after a settle:
the statistics still equal the reference, on the server and in chdb, whether the settled rows
of a matter are merged yet or not, and whatever an analyst filters the views on."""
from __future__ import annotations

import random

import pytest

from events.orgtree import OrgTree
from events.types import (FeedbackGiven, MatterAccepted, MatterCancelled, MatterReopened, MatterReported,
                          MatterResolved, MatterRouted, MatterVerified)
from projection_support import (DAY, HOUR, SECRET, START, _Matter, assert_report_matches, build_org,  # noqa: F401
                                generate, own, project_until_idle, produce, reference, store)
from projections import orgdim, rows
from projections.settle import settle
from projections.stats import Scope, compute

pytestmark = pytest.mark.integration

UNITS = build_org()
TREE = OrgTree(UNITS)
GRID = "c-d0-s1-k0-g1"
COMPOUND = f"{GRID}-h0"


class Lives:
    """Hand-written matter lives, appended to one log; ``cut()`` returns what was added since."""

    def __init__(self) -> None:
        self.rng = random.Random(5)
        self.matters: dict[str, _Matter] = {}
        self.log: list = []
        self._taken = 0

    def matter(self, n: int) -> _Matter:
        if n not in self.matters:
            m = _Matter(self.rng, TREE, n, START + n * HOUR)
            m.emit(MatterReported, kind="incident", category="sanitation", priority="normal", channel="app",
                   place=COMPOUND, reporter=SECRET + "r", text=SECRET + "t")
            m.emit(MatterRouted, derived=(), place=COMPOUND, unit=GRID, level="grid", policy_version="test")
            m.arrive(TREE.get(GRID), "arrived")
            self.matters[n] = m
        return self.matters[n]

    def resolve_and_verify(self, m: _Matter) -> None:
        m.tick(HOUR, 2 * HOUR)
        m.emit(MatterAccepted, unit=m.unit, handler=SECRET + "h")
        m.tick(HOUR, DAY)
        m.emit(MatterResolved, unit=m.unit, handler=SECRET + "h", level=m.level)
        m.tick(HOUR, DAY)
        m.emit(MatterVerified, verifier=SECRET + "v")

    def feedback(self, m: _Matter, satisfaction: str) -> None:
        m.tick(HOUR, DAY)
        m.emit(FeedbackGiven, contacted=True, solved=satisfaction != "unsatisfied", satisfaction=satisfaction)

    def cut(self) -> list:
        added = [e for m in self.matters.values() for e in m.out]
        fresh = [e for e in added if e.event_id not in {x.event_id for x in self.log}]
        self.log += fresh
        return fresh


def write(st, events, first_offset: int) -> None:
    """Rows of these records of the log, at these log offsets (a record keeps its offset)."""
    st.insert("events", rows.COLUMNS, [rows.to_row(e, 0, first_offset + i) for i, e in enumerate(events)])


def same_as_reference(st, log) -> None:
    for unit in (None, "c-d0", GRID):
        assert_report_matches(compute(st, Scope(unit=unit)), reference(log, UNITS, unit=unit))


def matter_row(st, matter_id: str) -> dict:
    return st.query_dicts(f"SELECT status, resolved_level, escalations, reworked, satisfaction, valid "
                          f"FROM {st.table('matters')} WHERE matter_id = %(m)s", {"m": matter_id})[0]


def test_a_settled_matter_reopened_escalated_resolved_again_and_rated_later_counts_as_it_is_now(store):
    st, lives, offsets = store, Lives(), iter(range(0, 10**6, 1000))
    orgdim.write_units(st, UNITS)
    a, b, c = lives.matter(1), lives.matter(2), lives.matter(3)
    for m in (a, b, c):
        lives.resolve_and_verify(m)
    first, at = lives.cut(), next(offsets)
    write(st, first, at)
    write(st, first, at)  # the same records inserted twice (a projector retry or replay)
    settle(st, exclusive=True)
    same_as_reference(st, lives.log)
    assert matter_row(st, a.m)["resolved_level"] == "grid"

    # a: reopened, handed up to the community, resolved there and verified again
    a.tick(HOUR, DAY)
    a.emit(MatterReopened, reason=SECRET + "it is back")
    a.arrive(TREE.get(GRID), "reopened")
    a.escalate("authority")
    lives.resolve_and_verify(a)
    lives.feedback(b, "unsatisfied")  # b: rated after it was settled
    c.tick(HOUR, DAY)
    c.emit(MatterCancelled, reason="withdrawn")  # c: withdrawn after it was closed
    write(st, lives.cut(), next(offsets))
    same_as_reference(st, lives.log)  # not settled yet: the changes are merged when read
    assert matter_row(st, a.m) == {"status": "closed", "resolved_level": "community", "escalations": 1,
                                   "reworked": 1, "satisfaction": "", "valid": 1}

    settle(st)  # the changes stay (too recent to drop) and are merged again: no harm
    write(st, first, at)  # the first records once more, after the settle
    same_as_reference(st, lives.log)

    lives.feedback(b, "satisfied")  # b rated again: the latest answer counts
    write(st, lives.cut(), next(offsets))
    settle(st, exclusive=True)
    same_as_reference(st, lives.log)
    assert matter_row(st, b.m)["satisfaction"] == "satisfied"
    assert matter_row(st, c.m)["status"] == "cancelled"
    assert st.scalar(f"SELECT count() FROM {st.table('matter_changes')}") == 0


def test_several_unmerged_versions_of_a_settled_row_count_once_whatever_the_filter(store):
    st, lives = store, Lives()
    orgdim.write_units(st, UNITS)
    st.execute(f"SYSTEM STOP MERGES {st.table('matter_rows')}")
    a = lives.matter(1)
    write(st, lives.cut(), 0)
    settle(st, exclusive=True)  # version 1: open
    lives.resolve_and_verify(a)
    write(st, lives.cut(), 100)
    settle(st, exclusive=True)  # version 2: closed
    a.tick(HOUR, DAY)
    a.emit(MatterReopened, reason=SECRET + "again")
    write(st, lives.cut(), 200)
    settle(st, exclusive=True)  # version 3: open again, reworked
    assert st.scalar(f"SELECT count() FROM {st.table('matter_rows')} WHERE matter_id = %(m)s", {"m": a.m}) == 3
    views = {name: st.table(name) for name in ("matters", "matter_facts", "unit_monthly")}
    assert st.scalar(f"SELECT count() FROM {views['matters']}") == 1
    assert st.scalar(f"SELECT count() FROM {views['matters']} WHERE status = 'closed'") == 0
    assert st.scalar(f"SELECT count() FROM {views['matters']} WHERE status = 'open' AND reworked") == 1
    assert st.scalar(f"SELECT count() FROM {views['matter_facts']} WHERE last_step = 'verified'") == 0
    assert st.scalar(f"SELECT sum(n_open) FROM {views['unit_monthly']} WHERE unit_id = 'c'") == 1
    same_as_reference(st, lives.log)


def test_a_settle_drops_only_the_minutes_it_read_that_no_running_insert_can_still_write_to(store):
    st, lives = store, Lives()
    orgdim.write_units(st, UNITS)
    lives.resolve_and_verify(lives.matter(1))
    write(st, lives.cut(), 0)
    done = settle(st)  # the default margin keeps the minutes of the last five minutes
    assert (done.matters, done.dropped) == (1, 0)
    assert st.scalar(f"SELECT count() FROM {st.table('matter_changes')}") == 1
    done = settle(st, exclusive=True)
    assert done.dropped == 1 and st.scalar(f"SELECT count() FROM {st.table('matter_changes')}") == 0
    assert settle(st).matters == 0
    same_as_reference(st, lives.log)


def test_a_projector_settling_after_every_batch_of_a_log_delivered_twice_counts_nothing_twice(store):
    log = generate(seed=31, matters=150)
    settings = store.settings.with_(projector_settle_seconds=0, projector_batch_size=200)
    orgdim.write_units(store, log.units)
    produce(settings, log.records)
    project_until_idle(settings, store)
    produce(settings, log.records)  # the whole log again, at new offsets
    project_until_idle(settings, store)
    assert store.scalar(f"SELECT count() FROM system.parts WHERE database = %(db)s AND table = 'matter_rows' "
                        "AND active", {"db": store.database}) > 0
    for unit in (None, "c-d1", "c-d0-s1-k1-g2"):
        assert_report_matches(compute(store, Scope(unit=unit)), reference(log.events, log.units, unit=unit))
