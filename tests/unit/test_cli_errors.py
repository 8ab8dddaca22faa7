"""Every error a person meets at the command line is one line on stderr with a hint and a
non-zero exit, never a traceback (the real `gridflow` in a child process; no services: Kafka
and ClickHouse are pointed at closed ports, the embedded store at an empty directory)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from events import DERIVED_TYPES, UPSTREAM_TYPES, ValidationError
from gridflow.children import free_port
from gridflow.commands.sql import statements
from gridflow.sdk.jsonl import parse_line

ROOT = Path(__file__).resolve().parents[2]


def gridflow(*args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
    closed = {"GRIDFLOW_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}", "GRIDFLOW_STORE": "server",
              "GRIDFLOW_CLICKHOUSE_PORT": str(free_port())}
    return subprocess.run([sys.executable, "-m", "gridflow.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **closed, **env}, timeout=timeout)


def one_line_error(result: subprocess.CompletedProcess, command: str, *words: str) -> str:
    assert result.returncode != 0, result
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"gridflow {command}: "), lines[0]
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


@contextmanager
def port_taken():
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        port = free_port()
        s.bind(("127.0.0.1", port))
        s.listen()
        yield port


@pytest.mark.parametrize("command, option", [("worker", "--web-port"), ("api", "--port"),
                                             ("api", "--metrics-port")])
def test_a_server_whose_port_is_taken_says_so_in_one_line(command, option):
    with port_taken() as port:
        result = gridflow(command, option, str(port), "--org-wait", "0")
    line = one_line_error(result, command, f"port {port}", "already in use", "hint:", option)
    assert result.returncode == 1, line


def test_the_projector_whose_metrics_port_is_taken_says_so_in_one_line():
    with port_taken() as port:
        result = gridflow("project", "--clickhouse-wait", "1", GRIDFLOW_PROJECTOR_METRICS_PORT=str(port))
    one_line_error(result, "project", f"port {port}", "GRIDFLOW_PROJECTOR_METRICS_PORT", "--no-metrics")
    assert result.returncode == 1


def test_the_projector_waits_for_clickhouse_a_line_per_attempt_then_exits_69():
    result = gridflow("project", "--no-metrics", "--clickhouse-wait", "2")
    assert result.returncode == 69, result
    attempts = result.stdout.strip().splitlines()
    assert len(attempts) >= 2 and all(a.startswith("projector: waiting for ClickHouse: ") for a in attempts), attempts
    assert "attempt 1, next in 0.5s, giving up in" in attempts[0]
    one_line_error(result, "project", "did not answer for 2s", "hint:", "--clickhouse-wait")


def test_an_unknown_time_zone_is_refused_before_any_query(tmp_path):
    result = gridflow("stats", "--tz", "Mars/Base", GRIDFLOW_STORE="chdb", GRIDFLOW_CHDB_PATH=str(tmp_path / "chdb"))
    one_line_error(result, "stats", "'Mars/Base'", "Asia/Shanghai")
    assert result.returncode == 2 and not (tmp_path / "chdb").exists()


def test_an_unknown_category_is_refused_with_the_policys_categories(tmp_path):
    result = gridflow("stats", "--category", "sanitation", "--category", "nosuch",
                      GRIDFLOW_STORE="chdb", GRIDFLOW_CHDB_PATH=str(tmp_path / "chdb"))
    line = one_line_error(result, "stats", "'nosuch'", "micro_wish", "sanitation")
    assert result.returncode == 2 and "'sanitation'" not in line.split("(hint")[0]


def test_statistics_of_an_empty_store_say_what_to_run(tmp_path):
    result = gridflow("stats", GRIDFLOW_STORE="chdb", GRIDFLOW_CHDB_PATH=str(tmp_path / "chdb"))
    one_line_error(result, "stats", "nothing projected yet", "gridflow migrate", "gridflow project")
    result = gridflow("sql", "SELECT count() FROM gridflow.matters", GRIDFLOW_STORE="chdb",
                      GRIDFLOW_CHDB_PATH=str(tmp_path / "chdb"))
    one_line_error(result, "sql", "nothing projected yet")


def test_sql_refuses_more_than_one_statement():
    result = gridflow("sql", "SELECT 1; SELECT 2")
    one_line_error(result, "sql", "one SQL statement, got 2")
    assert result.returncode == 2 and result.stdout == ""


def test_statements_are_counted_outside_quotes_and_comments():
    assert statements("SELECT 1") == 1 and statements("SELECT 1;") == 1 and statements("SELECT 1; -- done") == 1
    assert statements("SELECT 'a;b', `c;d` /* ; */ -- ;\n") == 1
    assert statements("SELECT 'it\\'s; fine'") == 1
    assert statements("SELECT 1; SELECT 2") == 2 and statements(" ;\n") == 0


def test_migrate_prints_its_errors_on_stderr():
    result = gridflow("migrate")
    one_line_error(result, "migrate", "unavailable", "gridflow stack status")
    assert result.stdout == ""


@pytest.mark.parametrize("type_name", ["routed", "sla_breached", "deadline_reached", "bogus"])
def test_publish_offers_only_upstream_types(type_name):
    line = ('{"id": "e1", "matter": "m1", "type": "%s", "v": 1, "at": 1767196800000, "producer": "p", "data": {}}'
            % type_name)
    with pytest.raises(ValidationError) as caught:
        parse_line(line)
    offered = str(caught.value).split("expected an upstream event type: ")[1].rsplit(", got", 1)[0].split(", ")
    assert offered == list(UPSTREAM_TYPES) and not set(offered) & set(DERIVED_TYPES)
