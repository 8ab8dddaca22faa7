"""The org dimension in ClickHouse follows the org topic while the projector runs: a renamed
unit shows its new name, a moved grid's compounds get its new ancestors, and a retired unit
keeps its row (its history stays attributable), on the server and in chdb."""
from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from projection_support import build_org, own, publish_org, store, wait_for  # noqa: F401

pytestmark = pytest.mark.integration

GRID, OTHER_COMMUNITY = "c-d0-s1-k0-g1", "c-d0-s1-k1"


class Serialised:
    """The store with one call at a time: the projector's thread and the test's reads share it,
    and a clickhouse-driver connection refuses two queries at once."""

    def __init__(self, store) -> None:
        self._store, self._lock = store, threading.Lock()

    def __getattr__(self, name):
        value = getattr(self._store, name)
        if not callable(value):
            return value

        def call(*args, **kwargs):
            with self._lock:
                return value(*args, **kwargs)
        return call


def dim(store) -> dict[str, tuple]:
    rows = store.query(f"SELECT unit_id, name, parent_id, l4, l5 FROM {store.table('org_units')} FINAL")
    return {r[0]: tuple(r[1:]) for r in rows}


@pytest.fixture
def shared(store):
    return Serialised(store)


@pytest.fixture
def projector(shared):
    """The live projector running in a thread while the test publishes org records."""
    from projections.app import build_projector

    running = build_projector(shared.settings, shared, log=lambda _: None, progress_seconds=3600)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    yield running
    running.stop()
    thread.join(timeout=60)
    running.consumer.close()
    running.producer.close()


def until(store, what: str, condition) -> dict[str, tuple]:
    return wait_for(what, lambda: (found := dim(store)) and condition(found) and found, timeout=90, interval=0.2)


def test_the_org_dimension_follows_renames_moves_and_retirements(own, shared, projector):
    store = shared
    units = {u.unit_id: u for u in build_org()}
    publish_org(store.settings, units.values())
    before = until(store, "every unit in the dimension", lambda d: len(d) == len(units))
    assert before[GRID][1:] == ("c-d0-s1-k0", "c-d0-s1-k0", GRID)

    publish_org(store.settings, [
        replace(units["c-d0"], name="新都区", rev=2),  # renamed
        replace(units[GRID], parent_id=OTHER_COMMUNITY, rev=2),  # moved to another community
        replace(units["c-d1-s0-k0-g0-h1"], rev=2, retired=True),  # retired
    ])
    after = until(store, "the changes in the dimension",
                  lambda d: d["c-d0"][0] == "新都区" and d[GRID][1] == OTHER_COMMUNITY)
    assert after["c-d0"][0] == "新都区"
    assert after[GRID][1:] == (OTHER_COMMUNITY, OTHER_COMMUNITY, GRID)
    assert after[f"{GRID}-h0"][2:] == (OTHER_COMMUNITY, GRID)  # its compounds follow it
    assert after["c-d1-s0-k0-g0-h1"] == before["c-d1-s0-k0-g0-h1"]  # retired: the row stays
    assert len(after) == len(units)
