"""A partition meeting a unit its tree lacks: while the org topic may still bring it, the
record stops the partition untouched (the processor reads the topic to its end, then decides
it again); once the topic was read, the record is decided and dead-lettered."""
from __future__ import annotations

from dataclasses import replace

import pytest

from events.levels import Level
from events.orgtree import OrgTree, OrgUnit
from streams.errors import OrgBehind
from test_streams import Part, make, matter_on
from test_state import T0


def test_an_unknown_place_stops_the_partition_untouched_while_the_org_topic_may_bring_it():
    p, m = Part(0), matter_on(0)
    p.part.org_gate = True
    with pytest.raises(OrgBehind) as caught:
        p.feed(make("reported", m, 0, T0, place="k-new"))
    assert caught.value.unit_id == "k-new"
    assert p.part.state(m) is None and not p.log and not p.deadletters and not p.writes


def test_after_the_org_topic_was_read_an_unknown_place_is_a_dead_letter():
    p, m = Part(0), matter_on(0)
    p.part.org_gate = False
    p.feed(make("reported", m, 0, T0, place="k-new"))
    assert [d["reason"].split(":")[0] for d in p.deadletters] == ["unknown_place"]


def test_a_unit_the_new_tree_brings_is_routed_with_it():
    p, m = Part(0), matter_on(0)
    p.part.org_gate = True
    units = list(p.ctx.tree) + [OrgUnit("k-new", Level.COMPOUND, "g1", "New compound")]
    p.part.rules = replace(p.part.rules, ctx=replace(p.ctx, tree=OrgTree(units)))
    p.feed(make("reported", m, 0, T0, place="k-new"))
    routed = [e for e in p.log if e.TYPE == "routed"]
    assert [(e.place, e.unit) for e in routed] == [("k-new", "g1")] and not p.deadletters


def test_known_units_and_other_events_pass_the_gate():
    p, m = Part(0), matter_on(0)
    p.part.org_gate = True
    p.feed(make("reported", m, 0, T0, place="k1"))
    p.feed(make("accepted", m, 1, T0 + 60_000, unit="g1"))
    assert [e.TYPE for e in p.log][:3] == ["reported", "routed", "sla_started"] and not p.deadletters
