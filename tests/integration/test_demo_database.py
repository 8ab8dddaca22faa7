"""The demo's database is its own: an earlier run's is dropped only with --reset, and a
database another pipeline projects into is never dropped."""
from __future__ import annotations

import pytest

from gridflow.demo import DemoFailed, demo_settings, prepare_database
from projections.owner import claim, owner
from projections.store_server import ServerStore

pytestmark = pytest.mark.integration


@pytest.fixture
def earlier(settings, ch_database, clickhouse_server):
    """``ch_database`` as a run left it: a table of rows, and the prefix that projected them."""
    def fill(prefix: str) -> ServerStore:
        store = ServerStore(ch_database, host=settings.clickhouse_host, port=settings.clickhouse_port,
                            user=settings.clickhouse_user, password=settings.clickhouse_password)
        store.execute(f"CREATE TABLE {ch_database}.events (x UInt8) ENGINE = MergeTree ORDER BY x")
        store.execute(f"INSERT INTO {ch_database}.events SELECT 1")
        claim(store, prefix)
        return store

    return fill


def test_an_earlier_demo_is_dropped_only_with_reset(settings, ch_database, earlier):
    store = earlier("gridflow-demo-20260101-000000-abcd")
    mine = demo_settings(settings.with_(store="server"), "r1", ch_database)
    with pytest.raises(DemoFailed, match=f"database {ch_database} holds an earlier demo run .*--reset"):
        prepare_database(mine, reset=False)
    assert store.scalar(f"SELECT count() FROM {ch_database}.events") == 1
    assert "dropped" in prepare_database(mine, reset=True)
    assert not store.scalar("SELECT count() FROM system.databases WHERE name = %(db)s", {"db": ch_database})
    assert prepare_database(mine, reset=False) == f"database {ch_database} is new"


def test_a_database_another_pipeline_projects_into_is_never_dropped(settings, ch_database, earlier):
    store = earlier("gridflow")
    mine = demo_settings(settings.with_(store="server"), "r2", ch_database)
    for reset in (False, True):
        with pytest.raises(DemoFailed, match="topic prefix 'gridflow', not a demo's"):
            prepare_database(mine, reset=reset)
    assert store.scalar(f"SELECT count() FROM {ch_database}.events") == 1 and owner(store) == "gridflow"
