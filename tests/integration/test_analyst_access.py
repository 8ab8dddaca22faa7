"""The analyst user of the server, as `gridflow stack up` configures it (deploy/clickhouse/
users.xml, profile ``analyst``), on a clickhouse-server started from that config for these
tests: it needs its password, can read every table and view and run the statistics, cannot
write or drop anything, is stopped by its limits and cannot lift them, and finds no other
user's query text in system.query_log."""
from __future__ import annotations

import uuid

import pytest
from clickhouse_driver import Client
from clickhouse_driver.errors import ServerException

from deploy.clickhouse_server import ANALYST_LIMITS, ANALYST_USER, analyst_password
from projection_support import generate, gridflow, own  # noqa: F401
from projections import orgdim, rows
from projections.errors import StoreError
from projections.migrate import migrate
from projections.settle import settle
from projections.stats import Scope, compute
from projections.store_server import ServerStore

pytestmark = pytest.mark.integration


def connect(settings, user: str = ANALYST_USER, password: str | None = None, **settings_) -> Client:
    return Client(host=settings.clickhouse_host, port=settings.clickhouse_port, user=user,
                  password=analyst_password(settings) if password is None else password,
                  connect_timeout=5, send_receive_timeout=60, settings=settings_ or None)


@pytest.fixture
def ch_database(private_clickhouse):
    admin = connect(private_clickhouse, user="default", password="")
    name = f"analyst_{uuid.uuid4().hex[:8]}"
    admin.execute(f"CREATE DATABASE {name}")
    yield name
    admin.execute(f"DROP DATABASE IF EXISTS {name}")
    admin.disconnect()


@pytest.fixture
def analyst(private_clickhouse, ch_database):
    settings = private_clickhouse
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
                        user=ANALYST_USER, password=analyst_password(settings))
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


def test_gridflow_stats_runs_as_the_analyst(private_clickhouse, analyst):
    settings = private_clickhouse.with_(store="server", clickhouse_database=analyst.database,
                                        clickhouse_user=ANALYST_USER,
                                        clickhouse_password=analyst_password(private_clickhouse))
    result = gridflow(settings, "stats", "--unit", "c", "--no-drill")
    assert result.returncode == 0, result.stderr
    assert "大事不出社区" in result.stdout


@pytest.mark.parametrize("password", ["", "wrong"])
def test_the_analyst_needs_its_password(private_clickhouse, password):
    with pytest.raises(ServerException) as err:
        connect(private_clickhouse, password=password).execute("SELECT 1")
    assert err.value.code in (192, 193, 194, 516)  # unknown user / wrong password / required / auth failed


def test_the_analysts_limits_are_in_force_and_cannot_be_lifted(private_clickhouse):
    client = connect(private_clickhouse)
    got = dict(client.execute("SELECT name, value FROM system.settings WHERE name IN "
                              "('readonly', 'max_execution_time', 'max_rows_to_read', 'max_memory_usage')"))
    assert got == {"readonly": "1", **{k.removeprefix("analyst_"): str(v) for k, v in ANALYST_LIMITS.items()}}
    with pytest.raises(ServerException) as err:
        client.execute("SELECT count() FROM system.numbers")  # unbounded without the row limit
    assert err.value.code == 158  # TOO_MANY_ROWS
    with pytest.raises(ServerException) as err:
        client.execute("SET max_rows_to_read = 0")
    assert err.value.code == 164  # READONLY
    lifted = connect(private_clickhouse, max_rows_to_read=0, max_execution_time=0)
    with pytest.raises(ServerException) as err:  # settings sent with a query are refused or ignored
        lifted.execute("SELECT count() FROM system.numbers")
    assert err.value.code in (158, 164)


def test_no_other_users_query_text_reaches_the_analyst_through_the_query_log(private_clickhouse):
    marker = f"gridflow_marker_{uuid.uuid4().hex[:8]}"
    admin = connect(private_clickhouse, user="default", password="")
    admin.execute(f"SELECT '{marker}'")
    admin.execute("SYSTEM FLUSH LOGS")
    analyst = connect(private_clickhouse)
    try:
        seen = analyst.execute(f"SELECT count() FROM system.query_log WHERE query LIKE '%{marker}%' "
                               f"AND query NOT LIKE '%system.query_log%'")
    except ServerException as exc:
        assert exc.code in (60, 497), exc  # no query log at all, or no right to read it
    else:
        assert seen == [(0,)]
