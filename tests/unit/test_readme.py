"""The README's commands are the ones the code has: every `gridflow ...` line of its shell
blocks parses with the real command line, and the test command is the one CI runs. (The
end-to-end test runs the tour's SQL on a demo's tables.)"""
from __future__ import annotations

import re

import pytest

from gridflow.cli import build_parser
from readme_commands import ROOT, gridflow_commands, shell_lines


def test_the_readme_shows_the_tour():
    commands = [c[0] for c in gridflow_commands()]
    assert {"stats", "sql", "worker", "project", "simulate"} <= set(commands)


@pytest.mark.parametrize("argv", gridflow_commands(), ids=lambda argv: " ".join(argv)[:60])
def test_every_gridflow_command_in_the_readme_parses(argv):
    build_parser().parse_args(argv)  # argparse exits (a failure here) on an unknown option


def test_the_readme_test_command_is_the_one_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = re.search(r'^TEST_CMD="(.*)"$', ci, re.M).group(1)
    assert any(line.split("#")[0].strip() == command for line in shell_lines())
