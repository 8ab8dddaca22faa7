"""The command line for people: a help written for users, --version, tables that fit the
terminal, one meaning of --format everywhere, and a progress line that writes no carriage
return into a log (no services)."""
from __future__ import annotations

import argparse
import csv
import io
import json
import re

import pytest

from gridflow import __version__
from gridflow.cli import COMMANDS, GROUPS, build_parser, main
from gridflow.console import Progress
from gridflow.output import add_format_arguments, table, write
from projections import render
from projections.render import width as cells
from test_stats_render import sample

HEAD = ["#", "unit", "name", "matters", "grid rate", "community rate", "accept p50", "resolve p50"]
ROWS = [["1", "u-beijiang-g02", "北江社区 第二网格", "123", "66.7%", "80.0%", "10m", "1d02h"],
        ["2", "u-x", "X", "5", "-", "100.0%", "1h", "2h"]]


def test_the_top_level_help_is_written_for_users(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "``" not in text and "subcommand" not in text
    assert text.splitlines()[2].startswith("gridflow routes residents' reports")
    for group, names in GROUPS.items():
        assert (f"\n  {group}\n" in text) == any(n in COMMANDS for n in names), group
    for name in COMMANDS:
        assert re.search(rf"^    {name} +\S", text, re.M), name
    assert "docs/" in text and "gridflow demo" in text


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"gridflow {__version__}"


@pytest.mark.parametrize("limit", [40, 60, 80, 120])
def test_a_table_fits_the_width_and_names_the_columns_left_out(limit):
    text = table(HEAD, ROWS, right=[0, 3, 4, 5, 6, 7], wrap=[2], width=limit)
    assert max(cells(line) for line in text.splitlines()) <= limit, text
    shown = text.split("───")[0]
    left_out = [h for h in HEAD if h.split()[0] not in shown]
    if left_out:
        assert f"+{len(left_out)} more column" in text and all(h in text for h in left_out) and "--wide" in text
    assert "u-beijiang-g02" in text  # ids are never wrapped


def test_without_a_width_every_column_is_shown_on_one_line():
    lines = table(HEAD, ROWS, right=[0, 3], width=None).splitlines()
    assert len(lines) == 4 and "resolve p50" in lines[0] and "北江社区 第二网格" in lines[2]


def test_the_statistics_table_fits_an_80_column_terminal():
    text = render.table(sample(), width=80)
    assert max(cells(line) for line in text.splitlines()) <= 80, text
    assert "k1 社区" in text and "more column" in text


def args_for(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_format_arguments(parser)
    return parser.parse_args(list(argv))


def written(*argv: str) -> str:
    out = io.StringIO()
    write(["unit", "名称", "rate"], [("a", "北江", 0.5), ("b", None, None)], args_for(*argv), stream=out)
    return out.getvalue()


def test_json_is_one_document_and_jsonl_one_object_a_line():
    assert json.loads(written("--format", "json")) == [{"unit": "a", "名称": "北江", "rate": 0.5},
                                                       {"unit": "b", "名称": None, "rate": None}]
    lines = written("--format", "jsonl").splitlines()
    assert [json.loads(line)["unit"] for line in lines] == ["a", "b"]


def test_csv_for_spreadsheets_starts_with_a_byte_order_mark_only_when_asked():
    plain, excel = written("--format", "csv"), written("--format", "csv", "--bom")
    assert not plain.startswith("\ufeff") and excel == "\ufeff" + plain
    assert list(csv.reader(io.StringIO(plain))) == [["unit", "名称", "rate"], ["a", "北江", "0.5"], ["b", "", ""]]


def test_stats_and_sql_take_the_same_formats():
    parser = build_parser()
    for command in (["stats"], ["sql", "SELECT 1"]):
        for fmt in ("table", "csv", "json", "jsonl"):
            assert parser.parse_args([*command, "--format", fmt]).format == fmt
        assert parser.parse_args([*command, "--format", "csv", "--bom", "--wide"]).bom


def test_the_statistics_as_json_lines_are_the_csv_rows():
    lines = [json.loads(line) for line in render.to_jsonl(sample()).splitlines()]
    rows = list(csv.DictReader(io.StringIO(render.to_csv(sample()))))
    assert [r["unit"] for r in lines] == [r["unit"] for r in rows] == ["s1", "k1", "k2"]
    assert lines[0]["scope"] == "total" and lines[0]["grid_rate"] == 4 / 6
    assert render.to_csv(sample(), bom=True) == "\ufeff" + render.to_csv(sample())


def test_progress_in_a_log_is_plain_lines_every_few_seconds(monkeypatch):
    import gridflow.console

    clock = [1000.0]
    monkeypatch.setattr(gridflow.console.time, "monotonic", lambda: clock[0])
    log = io.StringIO()
    progress = Progress(log, every=5)
    for day in range(12):  # a day every second: lines at 5 s and 10 s
        clock[0] += 1
        progress.show("simulating", day / 12, f"day {day}/12")
    progress.show("simulating", 1.0, "done", force=True)
    progress.end()
    assert "\r" not in log.getvalue() and "\x1b" not in log.getvalue()
    lines = log.getvalue().splitlines()
    assert [line.split()[-1] for line in lines] == ["4/12", "9/12", "done"] and "100.0%  done" in lines[-1]


def test_progress_on_a_terminal_is_redrawn_in_place_and_ends_the_line():
    tty = io.StringIO()
    progress = Progress(tty, interactive=True)
    progress.show("processing", 0.5, "backlog 10", force=True)
    progress.line("worker started")
    progress.show("processing", 1.0, "backlog 0", force=True)
    progress.end()
    assert tty.getvalue().startswith("\rprocessing") and tty.getvalue().endswith("\n")
    assert "\nworker started\n\rprocessing" in tty.getvalue()


def test_a_slow_step_of_stack_up_says_it_is_still_going():
    import sys

    from deploy.kafka_broker import run_saying

    said: list[float] = []
    code, output = run_saying([sys.executable, "-c", "import time; time.sleep(1.5); print('done')"], said.append,
                              every=0.4)
    assert code == 0 and output.strip() == "done"
    assert len(said) >= 2 and said == sorted(said)


def test_help_and_the_machine_formats_do_not_load_the_table_library():
    from test_cli_startup import imported

    for args in (["--help"], ["stats", "--help"], ["sql", "--help"]):
        assert "rich" not in imported(args), args
    unreachable = {"GRIDFLOW_STORE": "server", "GRIDFLOW_CLICKHOUSE_PORT": "1"}
    assert "rich" not in imported(["sql", "SELECT 1", "--format", "csv"], **unreachable)
