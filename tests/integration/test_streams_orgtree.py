"""A living org tree on the real Kafka broker: a running worker follows the org topic. Units
published while it runs are known to the events that follow them at once (not dead-lettered
as unknown places), and a matter whose unit was retired or moved escalates along the tree in
force. Each test has its own topic prefix; the worker is a real subprocess; every wait has a
deadline."""
from __future__ import annotations

from dataclasses import replace

import pytest

from events.levels import Level
from events.orgtree import OrgUnit
from events.types import Watermark
from streams_fixtures import MIN, T0, H, Log, Publisher, WorkerProcess, _report, cleanup_topics, org_units, \
    stream_settings

pytestmark = pytest.mark.integration

GRID_ACCEPT = 2 * H  # the default policy: a sanitation matter enters at its grid, which has 2 h to accept


@pytest.fixture
def org_env(request, settings, kafka_bootstrap, tmp_path):
    """A worker reading its tree from the org topic, its publisher and a reader of its log."""
    s = stream_settings(settings, tmp_path, request.node.name[5:30].replace("_", "-"), clock="event",
                        org_file=False)
    pub = Publisher(s)
    pub.org(org_units())
    worker = WorkerProcess(s, tmp_path).start()
    log = Log(s, [worker])
    yield s, pub, worker, log
    for thing in (worker.stop, log.close, pub.close):
        thing()
    cleanup_topics(s)


def routed(log: Log, matter: str):
    return next((e for e in log.events if e.TYPE == "routed" and e.matter_id == matter), None)


def escalations(log: Log, matter: str) -> list[tuple[str, str]]:
    return [(e.from_unit, e.to_unit) for e in log.events if e.TYPE == "escalated" and e.matter_id == matter]


def tick(pub: Publisher, at: int) -> None:
    pub.send(Watermark(event_id=f"wm-{at}", matter_id="org-test-clock", occurred_at=at, producer="t"))


def started(pub: Publisher, log: Log) -> None:
    """The worker handles records (a matter at a unit of the first tree is routed)."""
    pub.send(_report("m-before", T0, "sanitation", "k1"))
    log.wait_until(lambda l: routed(l, "m-before") is not None, "the worker to route a first matter", timeout=90)


def test_units_published_while_the_worker_runs_route_the_matters_reported_right_after(org_env):
    settings, pub, worker, log = org_env
    started(pub, log)

    # a grid and its compound drawn while the worker runs; matters reported there at once
    pub.org([OrgUnit("g3", Level.GRID, "cm", "G3"), OrgUnit("k3", Level.COMPOUND, "g3", "K3")])
    pub.send(_report("m-new-compound", T0 + MIN, "sanitation", "k3"))
    pub.send(_report("m-new-grid", T0 + MIN, "sanitation", "g3"))
    pub.send(_report("m-nowhere", T0 + MIN, "sanitation", "k404"))  # still unknown: a dead letter

    log.wait_until(lambda l: routed(l, "m-new-compound") and routed(l, "m-new-grid") and l.deadletters,
                   "the matters at the new units routed and the unknown place dead-lettered", timeout=60)
    assert (routed(log, "m-new-compound").unit, routed(log, "m-new-grid").unit) == ("g3", "g3")
    assert [d["reason"].split(":")[0] for d in log.deadletters] == ["unknown_place"]
    assert "k404" in log.deadletters[0]["reason"]

    # a rename is a new revision; the tree in force keeps routing there
    pub.org([OrgUnit("g3", Level.GRID, "cm", "G3 renamed", rev=2)])
    pub.send(_report("m-renamed", T0 + 2 * MIN, "sanitation", "k3"))
    log.wait_until(lambda l: routed(l, "m-renamed") is not None, "a matter at the renamed grid's compound", 60)
    assert routed(log, "m-renamed").unit == "g3"
    metrics = worker.metrics()
    catch_ups = next(line for line in metrics.splitlines() if line.startswith("gridflow_worker_org_catch_ups_total"))
    assert float(catch_ups.split()[-1]) >= 1  # k404 at least made it read the org topic to its end
    changes = next(line for line in metrics.splitlines() if line.startswith("gridflow_worker_org_changes_total"))
    assert float(changes.split()[-1]) >= 3


def test_open_matters_of_a_retired_or_moved_grid_escalate_along_the_tree_in_force(org_env):
    settings, pub, worker, log = org_env
    started(pub, log)
    pub.org([OrgUnit("g3", Level.GRID, "cm", "G3"), OrgUnit("k3", Level.COMPOUND, "g3", "K3")])
    pub.send(_report("m-retired", T0 + MIN, "sanitation", "k3"))  # held by g3
    pub.send(_report("m-moved", T0 + MIN, "sanitation", "k2"))  # held by g2
    log.wait_until(lambda l: routed(l, "m-retired") and routed(l, "m-moved"), "both matters routed", timeout=60)
    assert routed(log, "m-retired").unit == "g3" and routed(log, "m-moved").unit == "g2"

    # g3 merged into g1 (its compound moves, it retires); g2 moves to a new community cm2
    units = {u.unit_id: u for u in org_units()}
    pub.org([OrgUnit("k3", Level.COMPOUND, "g1", "K3", rev=2), OrgUnit("g3", Level.GRID, "cm", "G3", 2, True),
             OrgUnit("cm2", Level.COMMUNITY, "s", "CM2"), replace(units["g2"], parent_id="cm2", rev=2)])
    pub.send(_report("m-after", T0 + 2 * MIN, "sanitation", "k3"))  # after the merge: k3 is g1's now
    tick(pub, T0 + MIN + GRID_ACCEPT + 10 * MIN)  # past both grids' accept deadline

    log.wait_until(lambda l: escalations(l, "m-retired") and escalations(l, "m-moved") and routed(l, "m-after"),
                   "both matters escalated and a matter after the merge routed", timeout=60)
    assert escalations(log, "m-retired")[0] == ("g3", "cm")  # the retired grid's last parent, in force
    assert escalations(log, "m-moved")[0] == ("g2", "cm2")  # the moved grid's parent now
    assert routed(log, "m-after").unit == "g1"
    # the matters keep the place they were reported at
    assert routed(log, "m-retired").place == "k3"
    assert not log.deadletters
