"""`gridflow org`: the diff as a table, nothing published without --publish, errors naming
the row; and the worker's follower applying org records as they come."""
from __future__ import annotations

import argparse
import asyncio
from dataclasses import replace
from types import SimpleNamespace

import pytest

from events import Level, codec
from events.orgtree import OrgUnit
from gridflow.commands import org as org_command
from gridflow.settings import Settings
from streams.orgfollow import OrgFollower

CSV = """unit_id,level,parent_id,name
c,city,,City
d,district,c,District
s,street,d,Street
cm,community,s,社区
g1,grid,cm,Grid 1
"""
ON_TOPIC = {u.unit_id: u for u in [
    OrgUnit("c", Level.CITY, None, "City"), OrgUnit("d", Level.DISTRICT, "c", "District"),
    OrgUnit("s", Level.STREET, "d", "Street"), OrgUnit("cm", Level.COMMUNITY, "s", "Community", rev=2),
    OrgUnit("g9", Level.GRID, "cm", "Grid 9")]}


@pytest.fixture
def run(tmp_path, monkeypatch, capsys):
    published: list = []
    monkeypatch.setattr(org_command, "_read_topic", lambda settings, timeout: dict(ON_TOPIC))

    class FakePublisher:  # stands in for the SDK's Kafka publisher: this is a unit test
        def __init__(self, *a, **kw): pass
        def __enter__(self): return self
        def __exit__(self, *exc): pass
        def publish_org(self, units):
            published.extend(units)
            return len(units)

    import gridflow.sdk
    monkeypatch.setattr(gridflow.sdk, "Publisher", FakePublisher)

    def go(text: str = CSV, *flags: str) -> tuple[int, str, str]:
        path = tmp_path / "org.csv"
        path.write_text(text, encoding="utf-8")
        parser = argparse.ArgumentParser()
        org_command.add_arguments(parser)
        code = org_command.run(parser.parse_args([str(path), *flags]), Settings())
        out, err = capsys.readouterr()
        return code, out, err

    go.published = published
    return go


def test_the_diff_is_a_table_and_nothing_is_published_without_the_flag(run):
    code, out, _ = run()
    assert code == 3 and run.published == []
    lines = out.splitlines()
    assert lines[1].split() == ["change", "unit", "level", "parent", "name", "rev"]
    rows = {line.split()[1]: line for line in lines[3:] if line.strip() and not line.startswith(("1 ", "3 "))}
    assert rows["cm"].split()[:2] == ["renamed", "cm"] and "Community -> 社区" in rows["cm"]
    assert rows["cm"].split()[-1] == "3"
    assert rows["g1"].split()[:2] == ["added", "g1"] and rows["g9"].split()[:2] == ["retired", "g9"]
    assert "1 renamed, 1 added, 1 retired" in out and "--publish" in out


def test_publish_sends_exactly_the_changed_records(run):
    code, out, _ = run(CSV, "--publish")
    assert code == 0 and "published 3 record(s)" in out
    assert [(u.unit_id, u.rev, u.retired) for u in run.published] == [("cm", 3, False), ("g1", 1, False),
                                                                      ("g9", 2, True)]


def test_an_unchanged_tree_publishes_nothing(run, monkeypatch):
    same = {k: replace(v, name="社区") if k == "cm" else v for k, v in ON_TOPIC.items() if k != "g9"}
    same["g1"] = OrgUnit("g1", Level.GRID, "cm", "Grid 1")
    monkeypatch.setattr(org_command, "_read_topic", lambda settings, timeout: same)
    code, out, _ = run(CSV, "--publish")
    assert code == 0 and "no changes" in out and run.published == []


def test_a_broken_tree_names_the_row_and_reads_no_topic(run, monkeypatch):
    monkeypatch.setattr(org_command, "_read_topic", lambda *a: pytest.fail("the topic was read"))
    code, out, err = run(CSV + "k1,compound,g7,K\n")
    assert code == 1 and out == ""
    assert "org.csv:7: unit 'k1': parent 'g7' is not in the tree" in err


# --- the worker's follower applies records as they come ---------------------------------------

class FakeConsumer:
    """Hands out queued org records the way aiokafka's getmany does (this is a unit test)."""

    def __init__(self):
        self.queue: list = []
        self.position_at = 0

    def add(self, key: str, value: bytes | None):
        self.queue.append(SimpleNamespace(key=key.encode(), value=value, topic="org", partition=0,
                                          offset=len(self.queue)))

    async def getmany(self, *tps, timeout_ms=0):
        out, self.queue = self.queue, []
        self.position_at += len(out)
        return {"tp": out} if out else {}

    async def end_offsets(self, tps):
        return {tp: self.position_at + len(self.queue) for tp in tps}

    async def position(self, tp):
        return self.position_at

    def partitions_for_topic(self, topic):
        return {0}

    def assign(self, tps): pass
    def seek(self, tp, offset): pass


def unit_record(unit: OrgUnit) -> tuple[str, bytes]:
    return unit.unit_id, codec.encode_org_unit(unit)


@pytest.mark.parametrize("name, records, in_force, waiting", [
    ("nothing new", [], None, {}),
    ("a grid added", [unit_record(OrgUnit("g1", Level.GRID, "cm", "G1"))], {"c", "d", "s", "cm", "g9", "g1"}, {}),
    ("a child before its parent", [unit_record(OrgUnit("k1", Level.COMPOUND, "g1", "K1"))],
     {"c", "d", "s", "cm", "g9"}, {"k1": "parent 'g1' unknown"}),
    ("a grid retired", [unit_record(replace(ON_TOPIC["g9"], rev=2, retired=True))], {"c", "d", "s", "cm"}, {}),
    ("a tombstone forgets a unit", [("g9", None)], {"c", "d", "s", "cm"}, {}),
    ("a bad record is skipped", [("zz", b"\x81\xa1x\x01")], None, {}),
])
def test_the_follower_applies_what_it_fetched(name, records, in_force, waiting):
    consumer = FakeConsumer()
    follower = OrgFollower(consumer, "org", dict(ON_TOPIC), {0: 5})
    asyncio.run(follower.start())
    for key, value in records:
        consumer.add(key, value)
    tree = asyncio.run(follower.poll())
    assert (None if tree is None else {u.unit_id for u in tree}) == in_force
    assert follower.waiting == waiting


def test_catching_up_reads_to_the_end_before_answering():
    consumer = FakeConsumer()
    follower = OrgFollower(consumer, "org", dict(ON_TOPIC), {0: 5})
    asyncio.run(follower.start())
    consumer.add(*unit_record(OrgUnit("g2", Level.GRID, "cm", "G2")))
    tree = asyncio.run(follower.catch_up())
    assert tree is not None and "g2" in tree
    assert asyncio.run(follower.catch_up()) is None  # nothing new since
