"""The statistics in ClickHouse equal an independent reference computed from the event log,
on the server and in chdb; replays and rebuilds change nothing."""
from __future__ import annotations

import json

import pytest

from events import codec
from events.orgtree import dump_csv
from projection_support import (DAY, START, assert_report_matches, generate, gridflow, own,  # noqa: F401
                                produce, project_until_idle, publish_org, reference, store)
from projections import orgdim
from projections.migrate import discover
from projections.rebuild import rebuild
from projections.stats import Scope, compute

pytestmark = pytest.mark.integration

LOG = generate(seed=7, matters=300)

SCOPES = [
    Scope(),
    Scope(unit="c-d1"),
    Scope(unit="c-d0-s1", since=START + 10 * DAY, until=START + 40 * DAY),
    Scope(unit="c-d1-s0-k1", categories=("sanitation", "micro_wish")),
    Scope(unit="c-d0-s0-k0-g2", kind="incident"),
    Scope(unit="c-d1-s1-k0-g1-h0"),
]


def expected(scope: Scope) -> dict:
    return reference(LOG.events, LOG.units, unit=scope.unit, since=scope.since, until=scope.until,
                     categories=scope.categories, kind=scope.kind)


def project_log(st) -> None:
    orgdim.write_units(st, LOG.units)
    produce(st.settings, LOG.records)
    project_until_idle(st.settings, st)


def all_reports(st) -> list[dict]:
    return [compute(st, scope).to_dict() for scope in SCOPES]


def test_statistics_equal_the_reference_for_units_at_every_level_windows_categories_and_kinds(store):
    project_log(store)
    for scope in SCOPES:
        assert_report_matches(compute(store, scope), expected(scope))


def test_the_analyst_rollup_views_add_up_to_the_same_counts(store):
    project_log(store)
    for unit in ("c", "c-d1-s0", "c-d0-s0-k1-g0"):
        want = expected(Scope(unit=unit))["total"]
        got = store.query_dicts(f"SELECT sum(n_matters) AS matters, sum(n_resolved) AS resolved, "
                                f"sum(n_resolved_grid) AS grid, sum(n_closed_on_time) AS on_time, "
                                f"sum(n_reworked) AS reworked, sum(n_satisfied) AS satisfied, "
                                f"sum(n_escalations) AS escalations FROM {store.table('unit_monthly')} "
                                f"WHERE unit_id = %(u)s", {"u": unit})[0]
        assert got == {"matters": want["matters"], "resolved": want["resolved"],
                       "grid": want["resolved_by_level"]["grid"], "on_time": want["closed_on_time"],
                       "reworked": want["reworked"], "satisfied": want["satisfied"],
                       "escalations": want["escalations"]}, unit
    from_grids = store.scalar(f"SELECT sum(n_escalations) FROM {store.table('escalations_by_unit')} "
                              f"WHERE from_level = 'grid'")
    assert from_grids == sum(1 for e in {e.event_id: e for e in LOG.events}.values()
                             if e.TYPE == "escalated" and e.from_level == "grid")


def test_replaying_the_log_twice_counts_nothing_twice(store):
    project_log(store)
    before = all_reports(store)
    produce(store.settings, LOG.records)  # the whole log again, at new offsets
    again = project_until_idle(store.settings, store)
    # and the projector itself replaying from offset zero under a new group
    replay = project_until_idle(store.settings.with_(projector_group=store.settings.projector_group + "-r"), store)
    assert (again.written, replay.written) == (len(LOG.events), 2 * len(LOG.events))
    assert all_reports(store) == before
    distinct = len({e.event_id for e in LOG.events})
    assert store.scalar(f"SELECT count() FROM {store.table('event_log')}") == distinct
    assert store.scalar(f"SELECT count() FROM {store.table('matters')}") == len({e.matter_id for e in LOG.events})


def test_rebuild_from_offset_zero_equals_live(store):
    publish_org(store.settings, LOG.units)
    produce(store.settings, LOG.records)
    project_until_idle(store.settings, store)  # the org topic fills the dimension
    live = all_reports(store)
    result = rebuild(store.settings, store, log=lambda _: None)
    assert result.totals.written == len(LOG.events) and result.totals.deadletters == LOG.bad
    assert set(result.tables) == {"events", "matter_rows", "matter_changes", "org_units", "resource_events"}
    assert all_reports(store) == live
    # the rebuilt tables take live writes through the re-created materialized view
    produce(store.settings, generate(seed=8, matters=5, bad=False, first=1000).records)
    project_until_idle(store.settings, store)
    assert compute(store).total.matters == live[0]["total"]["matters"] + 5


def test_bad_records_go_to_the_dead_letter_topic_with_their_position(store):
    from kafka import KafkaConsumer

    orgdim.write_units(store, LOG.units)
    produce(store.settings, LOG.records)
    totals = project_until_idle(store.settings, store)
    assert totals.deadletters == LOG.bad and totals.written == len(LOG.events)
    consumer = KafkaConsumer(store.settings.topics.deadletter, bootstrap_servers=store.settings.kafka_bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=10_000)
    letters = []
    for record in consumer:
        letters.append(codec.decode_deadletter(record.value))
        if len(letters) == LOG.bad:
            break
    consumer.close()
    assert {d["stage"] for d in letters} == {"projector"}
    assert {d["reason"].split(":")[0] for d in letters} == {"decode_error", "validation_error", "not_a_log_event"}
    assert all(d["topic"] == store.settings.topics.events and d["original"] for d in letters)


def test_no_personal_data_reaches_clickhouse(store):
    project_log(store)
    tables = store.query("SELECT name FROM system.tables WHERE database = %(db)s AND engine LIKE '%%MergeTree'",
                         {"db": store.database})
    for (table,) in tables:
        columns = [c for (c, t) in store.query("SELECT name, type FROM system.columns WHERE database = %(db)s "
                                               "AND table = %(t)s", {"db": store.database, "t": table})
                   if t == "String"]
        for column in columns:
            leaks = store.scalar(f"SELECT count() FROM {store.table(table)} WHERE position({column}, 'PII-') > 0")
            assert leaks == 0, f"{table}.{column} holds personal data"


def test_the_commands_migrate_project_stats_and_rebuild_work_end_to_end(own, ch_database, tmp_path):
    settings = own.with_(store="server", clickhouse_database=ch_database)
    org = tmp_path / "org.csv"
    dump_csv(LOG.units, org)
    migrated = gridflow(settings, "migrate", "--org", str(org))
    assert migrated.returncode == 0 and f"{len(discover())} migration(s) applied" in migrated.stdout, migrated.stdout + migrated.stderr
    assert "schema up to date" in gridflow(settings, "migrate").stdout
    assert "0003_analyst_views: applied" in gridflow(settings, "migrate", "--status").stdout
    produce(settings, LOG.records)
    projected = gridflow(settings, "project", "--until-idle", "--no-metrics")
    assert projected.returncode == 0 and f"{len(LOG.events)} written" in projected.stdout, projected.stdout

    table = gridflow(settings, "stats", "--unit", "c-d1")
    assert table.returncode == 0, table.stderr
    assert "小事不出网格" in table.stdout and "street units, ranked by 小事不出网格" in table.stdout
    as_json = gridflow(settings, "stats", "--unit", "c-d1", "--format", "json").stdout
    assert json.loads(as_json)["total"]["matters"] == expected(Scope(unit="c-d1"))["total"]["matters"]
    csv_out = gridflow(settings, "stats", "--unit", "c-d1", "--format", "csv", "--no-drill").stdout
    assert csv_out.splitlines()[0].startswith("scope,unit,name,level,matters") and len(csv_out.splitlines()) == 2
    unknown = gridflow(settings, "stats", "--unit", "nowhere")
    assert unknown.returncode == 1 and "unknown org unit 'nowhere'" in unknown.stderr

    rebuilt = gridflow(settings, "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert gridflow(settings, "stats", "--unit", "c-d1", "--format", "json").stdout == as_json


def test_gridflow_stats_reads_an_embedded_chdb_directory(own, tmp_path):
    from projections.migrate import migrate
    from projections.store_chdb import ChdbStore

    settings = own.with_(store="chdb", chdb_path=str(tmp_path / "chdb"), clickhouse_database="gridflow")
    st = ChdbStore("gridflow", path=settings.chdb_path)
    try:
        migrate(st, log=lambda _: None)
        orgdim.write_units(st, LOG.units)
        produce(settings, LOG.records)
        project_until_idle(settings, st)
    finally:
        st.close()  # one process at a time owns a chdb directory
    result = gridflow(settings, "stats", "--unit", "c-d0-s1-k0", "--format", "json")
    assert result.returncode == 0, result.stderr
    want = expected(Scope(unit="c-d0-s1-k0"))["total"]
    got = json.loads(result.stdout)["total"]
    assert {k: got[k] for k in ("matters", "resolved", "closed", "resolved_by_level")} == \
        {k: want[k] for k in ("matters", "resolved", "closed", "resolved_by_level")}


def test_the_scoped_matter_rows_of_stats_equal_the_matters_view(store):
    from projections.matters import COLUMNS, scoped_sql

    project_log(store)
    cols = ", ".join(COLUMNS)
    view = store.query(f"SELECT {cols} FROM {store.table('matters')} ORDER BY matter_id")
    mirror = store.query(f"SELECT {cols} FROM ({scoped_sql(store.database)}) ORDER BY matter_id")
    assert view == mirror and len(view) == len({e.matter_id for e in LOG.events})
    in_d1 = "place LIKE 'c-d1-%%'"
    scoped = store.query(f"SELECT {cols} FROM ({scoped_sql(store.database, fixed=in_d1)}) ORDER BY matter_id")
    assert scoped == [row for row in view if row[COLUMNS.index("place")].startswith("c-d1-")]
