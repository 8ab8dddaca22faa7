"""The read-only analyst user of the server (users.xml profile ``readonly``): it can read
every table and view and run the statistics, and it cannot write or drop anything."""
from __future__ import annotations

import pytest

from deploy.clickhouse_server import ANALYST_USER
from projection_support import generate, gridflow, own  # noqa: F401
from projections import orgdim, rows
from projections.errors import StoreError
from projections.migrate import migrate
from projections.settle import settle
from projections.stats import Scope, compute
from projections.store_server import ServerStore

pytestmark = pytest.mark.integration


@pytest.fixture
def analyst(settings, ch_database, clickhouse_server):
    admin = ServerStore(ch_database, host=settings.clickhouse_host, port=settings.clickhouse_port,
                        user=settings.clickhouse_user, password=settings.clickhouse_password)
    migrate(admin, log=lambda _: None)
    log = generate(seed=3, matters=20, bad=False)
    orgdim.write_units(admin, log.units)
    admin.insert("events", rows.COLUMNS, [rows.to_row(e, 0, i) for i, e in enumerate(log.events)])
    settle(admin, exclusive=True)
    admin.insert("events", rows.COLUMNS, [rows.to_row(e, 0, i) for i, e in enumerate(log.events[-20:])])
    admin.close()
    store = ServerStore(ch_database, host=settings.clickhouse_host, port=settings.clickhouse_port,
                        user=ANALYST_USER, password="")
    yield store
    store.close()


def test_the_analyst_reads_tables_views_and_statistics(analyst):
    for name in ("events", "org_units", "matter_rows", "matter_changes", "event_log", "org", "matter_facts",
                 "matters", "unit_monthly", "escalations_by_unit"):
        assert analyst.scalar(f"SELECT count() FROM {analyst.table(name)}") > 0, name
    assert compute(analyst, Scope(unit="c-d0")).total.matters > 0


@pytest.mark.parametrize("statement", [
    "INSERT INTO {db}.events (event_id, matter_id, type, occurred_at) SELECT 'x', 'm', 'reported', 1",
    "DROP TABLE {db}.events",
    "DROP TABLE {db}.matters",
    "CREATE TABLE {db}.mine (x UInt8) ENGINE = Memory",
    "ALTER TABLE {db}.events DELETE WHERE 1",
    "TRUNCATE TABLE {db}.org_units",
])
def test_the_analyst_cannot_write_or_drop(analyst, statement):
    with pytest.raises(StoreError, match="readonly|Cannot execute query in readonly mode|code 164"):
        analyst.execute(statement.replace("{db}", analyst.database))
    assert analyst.scalar(f"SELECT count() FROM {analyst.table('events')}") > 0


def test_the_analyst_cannot_insert_rows_through_the_native_protocol(analyst):
    with pytest.raises(StoreError, match="readonly|code 164"):
        analyst.insert("events", ["event_id", "matter_id", "type", "occurred_at"], [("x", "m", "reported", 1)])


def test_gridflow_stats_runs_as_the_analyst(own, analyst):
    settings = own.with_(store="server", clickhouse_database=analyst.database, clickhouse_user=ANALYST_USER,
                         clickhouse_password="")
    result = gridflow(settings, "stats", "--unit", "c", "--no-drill")
    assert result.returncode == 0, result.stderr
    assert "大事不出社区" in result.stdout
