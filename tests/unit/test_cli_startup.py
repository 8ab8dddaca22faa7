"""The command line starts without loading what it does not need: help loads no store client,
the server store no chdb, chdb no pandas and no server driver (python -X importtime; no
services: the store is unreachable or a fresh directory, and only the imports are checked)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from gridflow.children import free_port

ROOT = Path(__file__).resolve().parents[2]
HEAVY = {"chdb", "pandas", "pyarrow", "clickhouse_driver", "kafka", "faust"}


def imported(args: list[str], **env: str) -> set[str]:
    """Top-level packages and modules the command imported."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "gridflow.cli", *args], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT), **env}, capture_output=True, text=True,
                            timeout=60)
    names = re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)$", result.stderr, re.M)
    assert names, result.stderr[-2000:]
    return {n.split(".")[0] for n in names} | set(names)


def test_help_loads_no_store_client_no_kafka_and_no_statistics():
    for args in (["--help"], ["stats", "--help"], ["sql", "--help"]):
        loaded = imported(args)
        assert not loaded & (HEAVY | {"projections.stats"}), (args, loaded & HEAVY)


def test_the_server_store_loads_its_driver_and_not_chdb():
    unreachable = {"GRIDFLOW_STORE": "server", "GRIDFLOW_CLICKHOUSE_PORT": str(free_port())}
    for args in (["sql", "SELECT 1"], ["stats", "--no-drill"]):
        loaded = imported(args, **unreachable)
        assert "clickhouse_driver" in loaded and not loaded & {"chdb", "pandas", "pyarrow"}, args


def test_the_chdb_store_loads_neither_pandas_nor_the_server_driver(tmp_path):
    loaded = imported(["sql", "SELECT 1"], GRIDFLOW_STORE="chdb", GRIDFLOW_CHDB_PATH=str(tmp_path / "chdb"))
    assert "chdb" in loaded and not loaded & {"pandas", "clickhouse_driver"}
