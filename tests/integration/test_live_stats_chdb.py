"""`gridflow stats` and `gridflow sql` while `gridflow project` runs on the embedded store:
real processes on one chdb directory, events flowing, the figures equal the reference."""
from __future__ import annotations

import csv
import io

import pytest

from events.orgtree import dump_csv
from gridflow.children import Child, free_port
from projection_support import generate, gridflow, own, produce, reference, wait_for  # noqa: F401
from projections.chdb_endpoint import owner_path, read_owner

pytestmark = pytest.mark.integration

FIRST = generate(seed=11, matters=120, bad=False)
SECOND = generate(seed=12, matters=120, first=120, bad=False)
COUNTS = ("matters", "cancelled", "valid", "open", "resolved", "closed", "closed_on_time", "escalations")


def rows(out: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(out.lstrip("\ufeff"))))


def stats_total(settings, unit: str) -> dict | None:
    """The unit's total row of `gridflow stats` (a subprocess), or None while it fails."""
    done = gridflow(settings, "stats", "--unit", unit, "--no-drill", "--format", "csv")
    if done.returncode != 0:
        return None
    total = next(r for r in rows(done.stdout) if r["scope"] == "total")
    return {k: int(total[k]) for k in COUNTS} | {f"resolved_{lv}": int(total[f"resolved_{lv}"])
                                                 for lv in ("grid", "community", "street")}


def want(events, unit: str) -> dict:
    total = reference(events, FIRST.units, unit=unit)["total"]
    return {k: total[k] for k in COUNTS} | {f"resolved_{lv}": total["resolved_by_level"][lv]
                                            for lv in ("grid", "community", "street")}


def test_stats_and_sql_answer_while_the_projector_holds_chdb(own, tmp_path):
    settings = own.with_(store="chdb", chdb_path=str(tmp_path / "chdb"), clickhouse_database="gridflow",
                         chdb_query_port=free_port())
    org = tmp_path / "org.csv"
    dump_csv(FIRST.units, org)
    projector = Child("projector", settings, ["project", "--org", str(org), "--no-metrics", "--progress-seconds", "1"],
                      tmp_path / "projector.log").start()
    try:
        wait_for("the projector's owner file", lambda: read_owner(settings.chdb_path), timeout=60,
                 detail=projector.tail)
        produce(settings, FIRST.records)
        for unit in ("c", "c-d1-s0"):
            expected = want(FIRST.events, unit)
            wait_for(f"stats of {unit} after the first matters", lambda: stats_total(settings, unit) == expected,
                     timeout=90, interval=0.5, detail=lambda: f"{stats_total(settings, unit)} != {expected}\n"
                                                                 f"{projector.tail()}")
        produce(settings, SECOND.records)  # more events while the projector runs
        both = FIRST.events + SECOND.events
        expected = want(both, "c-d0")
        wait_for("stats of c-d0 after the second matters", lambda: stats_total(settings, "c-d0") == expected,
                 timeout=90, interval=0.5, detail=lambda: f"{stats_total(settings, 'c-d0')} != {expected}")
        assert projector.alive(), projector.tail()

        query = ("SELECT l2 AS district, count() AS matters FROM gridflow.matters "
                 "GROUP BY district ORDER BY district")
        done = gridflow(settings, "sql", query, "--format", "csv")
        assert done.returncode == 0, done.stderr
        got = {r["district"]: int(r["matters"]) for r in rows(done.stdout)}
        assert got == {d: reference(both, FIRST.units, unit=d)["total"]["matters"] for d in ("c-d0", "c-d1")}

        refused = gridflow(settings, "sql", "DROP TABLE gridflow.events")
        assert refused.returncode == 1 and "readonly" in refused.stderr.lower(), refused.stderr
        assert gridflow(settings, "sql", "SELECT count() AS n FROM gridflow.events", "--format", "csv").stdout \
            .splitlines()[1] == str(len({e.event_id for e in both}))
    finally:
        assert projector.stop() == 0, projector.tail()
    assert not owner_path(settings.chdb_path).exists(), "the projector left its owner file behind"
    # the projector gone, the commands open the directory themselves
    assert stats_total(settings, "c-d0") == expected


def test_a_holder_that_answers_no_queries_gets_a_clear_error(own, tmp_path):
    settings = own.with_(store="chdb", chdb_path=str(tmp_path / "chdb"), clickhouse_database="gridflow")
    projector = Child("projector", settings, ["project", "--no-metrics", "--no-query-endpoint"],
                      tmp_path / "projector.log").start()
    try:
        wait_for("the projector to hold chdb", lambda: "-> chdb" in projector.tail(), timeout=60,
                 detail=projector.tail)
        for command in (["stats"], ["sql", "SELECT 1"]):
            done = gridflow(settings, *command)
            assert done.returncode == 1, done.stdout
            line = done.stderr.strip()
            assert len(line.splitlines()) == 1 and "locked by another process that answers no queries" in line
            assert "GRIDFLOW_STORE=server" in line
    finally:
        assert projector.stop() == 0, projector.tail()
