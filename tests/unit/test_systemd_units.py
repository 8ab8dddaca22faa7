"""The systemd units of deploy/systemd/ run real gridflow subcommands, restart on the exit codes
docs/operations.md says a restart helps, stay stopped on the others, and pass
`systemd-analyze verify` (with ExecStart pointed at this machine's gridflow)."""
from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gridflow.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
INSTALLED = "/opt/gridflow/venv/bin/gridflow"
# unit -> (subcommand, exit codes a restart cannot help: docs/operations.md, "Running under systemd")
EXPECTED = {"gridflow-worker@.service": ("worker", {2, 71}), "gridflow-projector.service": ("project", {2, 65}),
            "gridflow-api.service": ("api", {2})}


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string((UNITS / name).read_text())
    return parser


def test_there_is_a_unit_for_the_worker_the_projector_and_the_api():
    assert {p.name for p in UNITS.glob("*.service")} == set(EXPECTED)


@pytest.mark.parametrize("name", EXPECTED)
def test_each_unit_runs_its_gridflow_subcommand_and_restarts_only_where_it_helps(name):
    subcommand, prevent = EXPECTED[name]
    service = unit(name)["Service"]
    program, *args = service["ExecStart"].split()
    assert program == INSTALLED and args == [subcommand] and subcommand in COMMANDS
    assert service["Restart"] == "on-failure"
    assert {int(c) for c in service["RestartPreventExitStatus"].split()} == prevent
    assert service["EnvironmentFile"] and service["User"] == "gridflow"


def test_the_prevented_codes_are_the_documented_ones():
    from gridflow.commands.project import EXIT_BREAKER, EXIT_CONFIG
    from streams.errors import EXIT_BUG, EXIT_LOG_WRITE_FAILED, EXIT_STALLED

    assert EXPECTED["gridflow-projector.service"][1] == {EXIT_CONFIG, EXIT_BREAKER}
    assert EXPECTED["gridflow-worker@.service"][1] == {EXIT_CONFIG, EXIT_BUG}
    assert not {EXIT_LOG_WRITE_FAILED, EXIT_STALLED} & EXPECTED["gridflow-worker@.service"][1]  # those restart
    section = (ROOT / "docs" / "operations.md").read_text().split("## Running under systemd")[1].split("\n## ")[0]
    for name, (_, prevent) in EXPECTED.items():
        row = next(line for line in section.splitlines() if line.startswith(f"| `{name}`"))
        assert set(map(int, re.findall(r"\b(\d+)\b", row.split("|")[3]))) == prevent, row


def test_systemd_analyze_verifies_the_units(tmp_path):
    exe = shutil.which("systemd-analyze")
    assert exe, "systemd-analyze not found: install Debian's systemd package (.ci/run does)"
    gridflow = shutil.which("gridflow") or str(Path(sys.executable).with_name("gridflow"))
    assert Path(gridflow).exists(), "the gridflow command is not installed (pip install -e .)"
    names = []
    for name in EXPECTED:
        target = tmp_path / name.replace("@.", "@worker-1.")  # an instance of the template
        target.write_text((UNITS / name).read_text().replace(INSTALLED, str(Path(gridflow).resolve())))
        names.append(str(target))
    result = subprocess.run([exe, "verify", "--man=no", *names], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
