"""The Prometheus config and rules pass promtool, and every rule's promtool test would catch
a wrong rule: each rule is broken on purpose and its tests must then fail."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROM = ROOT / "deploy" / "prometheus"
RULE_FILES = sorted((PROM / "rules").glob("*.yml"))
TEST_FILES = sorted((PROM / "tests").glob("*_test.yml"))
CONFIGS = [PROM / "prometheus.yml"]


def promtool(*args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("promtool")
    assert exe, "promtool not found: install Debian's prometheus package (.ci/run does)"
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=120)


def rules() -> list[dict]:
    return [rule for path in RULE_FILES for group in yaml.safe_load(path.read_text())["groups"]
            for rule in group["rules"]]


def unit_tests() -> list[dict]:
    return [test for path in TEST_FILES for test in yaml.safe_load(path.read_text())["tests"]]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_promtool_accepts_the_config_and_its_rule_files(config):
    result = promtool("check", "config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_the_config_made_from_settings_with_their_ports(tmp_path):
    from deploy.prometheus_config import write_local_config
    from gridflow.settings import Settings

    settings = Settings(stack_dir=str(tmp_path), worker_web_port=16066, projector_metrics_port=19464,
                        api_metrics_port=19465)
    path = write_local_config(settings)
    result = promtool("check", "config", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 2 rule files found" in result.stdout + result.stderr
    doc = yaml.safe_load(path.read_text())
    assert {job["job_name"]: job["static_configs"][0]["targets"] for job in doc["scrape_configs"]} == {
        "gridflow-worker": ["127.0.0.1:16066"], "gridflow-projector": ["127.0.0.1:19464"],
        "gridflow-api": ["127.0.0.1:19465"]}


def test_promtool_accepts_the_rule_files():
    result = promtool("check", "rules", *map(str, RULE_FILES))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("test_file", TEST_FILES, ids=lambda p: p.name)
def test_promtool_rule_unit_tests_pass(test_file):
    result = promtool("test", "rules", str(test_file))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_tested_both_firing_and_silent():
    cases: dict[str, list[list]] = {}
    for test in unit_tests():
        for case in test.get("alert_rule_test", []):
            cases.setdefault(case["alertname"], []).append(case.get("exp_alerts") or [])
    for rule in rules():
        if "alert" not in rule:
            continue
        name = rule["alert"]
        assert any(cases.get(name, [])), f"{name}: no test where it fires"
        assert any(not c for c in cases.get(name, [])), f"{name}: no test where it stays silent"


def test_every_recording_rule_is_tested_with_values():
    exprs = [case["expr"] for test in unit_tests() for case in test.get("promql_expr_test", [])
             if case.get("exp_samples")]
    for rule in rules():
        if "record" in rule:
            assert any(rule["record"] in e for e in exprs), f"{rule['record']}: no promql_expr_test"


def _mutated_run(tmp_path: Path, name: str, mutate) -> subprocess.CompletedProcess:
    """Run only the test cases about ``name`` against rule files where ``name`` is mutated."""
    rule_paths = []
    for path in RULE_FILES:
        doc = yaml.safe_load(path.read_text())
        for group in doc["groups"]:
            for rule in group["rules"]:
                if rule.get("alert", rule.get("record")) == name:
                    rule["expr"] = mutate(rule["expr"])
        out = tmp_path / path.name
        out.write_text(yaml.safe_dump(doc))
        rule_paths.append(str(out))
    tests = []
    for test in unit_tests():
        kept = dict(test)
        kept["alert_rule_test"] = [c for c in test.get("alert_rule_test", []) if c["alertname"] == name]
        kept["promql_expr_test"] = [c for c in test.get("promql_expr_test", []) if name in c["expr"]]
        if kept["alert_rule_test"] or kept["promql_expr_test"]:
            tests.append(kept)
    assert tests, f"{name}: no test mentions it"
    suite = tmp_path / "suite_test.yml"
    suite.write_text(yaml.safe_dump({"rule_files": rule_paths, "evaluation_interval": "1m", "tests": tests}))
    return promtool("test", "rules", str(suite))


ALERTS = [r["alert"] for r in rules() if "alert" in r]
RECORDS = [r["record"] for r in rules() if "record" in r]


@pytest.mark.parametrize("name", ALERTS)
def test_an_alert_that_always_fires_fails_its_tests(tmp_path, name):
    result = _mutated_run(tmp_path, name, lambda expr: "vector(1)")
    assert result.returncode != 0, f"{name}: tests still pass when it always fires"


@pytest.mark.parametrize("name", ALERTS)
def test_an_alert_that_never_fires_fails_its_tests(tmp_path, name):
    result = _mutated_run(tmp_path, name, lambda expr: f"({expr}) unless on() vector(1)")
    assert result.returncode != 0, f"{name}: tests still pass when it never fires"


@pytest.mark.parametrize("name", RECORDS)
def test_a_recording_rule_off_by_a_factor_fails_its_tests(tmp_path, name):
    result = _mutated_run(tmp_path, name, lambda expr: f"1.5 * ({expr})")
    assert result.returncode != 0, f"{name}: tests still pass when its value is wrong"


@pytest.mark.parametrize("name", ALERTS + RECORDS)
def test_the_mutation_harness_passes_the_unmutated_rule(tmp_path, name):
    result = _mutated_run(tmp_path, name, lambda expr: expr)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_runbook_section_in_the_metrics_doc():
    doc = (ROOT / "docs" / "metrics.md").read_text()
    headings = {line[4:].strip().lower() for line in doc.splitlines() if line.startswith("### ")}
    for rule in rules():
        if "alert" in rule:
            name = rule["alert"]
            assert rule["annotations"]["runbook"] == f"docs/metrics.md#{name.lower()}", name
            assert name.lower() in headings, f"docs/metrics.md has no '### {name}' section"


def test_every_recording_rule_is_documented():
    doc = (ROOT / "docs" / "metrics.md").read_text()
    for name in RECORDS:
        assert f"`{name}`" in doc, f"{name} is not in docs/metrics.md"
