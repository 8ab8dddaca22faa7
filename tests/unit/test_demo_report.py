"""The demo's verdict: it fails, at the top of its output and in its exit code, when a figure
differs from the ground truth or anything was dead-lettered."""
from __future__ import annotations

from types import SimpleNamespace

from events.levels import LEVEL_NAMES
from gridflow.demo_report import problems
from gridflow.settings import Settings


def result(*, matters: int = 10, truth_matters: int = 10, deadletters: int = 0):
    levels = {lv: 0 for lv in LEVEL_NAMES}
    total = SimpleNamespace(matters=matters, cancelled=0, escalated_matters=0, escalations=0,
                            resolved_by_level=dict(levels))
    truth = SimpleNamespace(summary=lambda: {"matters": truth_matters, "cancelled": 0, "escalated_matters": 0,
                                             "escalations": {}, "resolved_by_level": dict(levels)})
    return SimpleNamespace(report=SimpleNamespace(total=total), truth=truth, deadletters=deadletters,
                           settings=Settings(topic_prefix="demo"))


def test_a_run_that_agrees_and_dead_lettered_nothing_has_no_problems():
    assert problems(result()) == []


def test_a_differing_figure_is_a_problem_that_names_the_figure():
    assert problems(result(matters=9)) == ["1 figure(s) differ from the simulator's ground truth (matters)"]


def test_any_dead_letter_is_a_problem():
    assert problems(result(deadletters=63_873)) == ["63,873 record(s) were dead-lettered (topic "
                                                   "demo.matters.deadletter)"]
