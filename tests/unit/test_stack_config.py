"""The pure parts of the local stack: generated configuration, topic specs, the status
table, and the pid-file rules (with a `sleep` standing in for a server)."""
from __future__ import annotations

import hashlib
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from deploy.clickhouse_server import (ANALYST_LIMITS, StackError, analyst_password, analyst_password_path,
                                     render_config, render_users)
from deploy.kafka_broker import format_command, format_properties, new_cluster_id, server_properties
from deploy.process import running_pid, start_detached, stop, wait_until
from deploy.service import render
from deploy.stack import ServiceStatus, Stack, format_status
from deploy.topics import topic_specs
from gridflow.settings import Settings

SETTINGS = Settings.from_env({}, kafka_port=19092, kafka_controller_port=19093,
                             clickhouse_port=19000, clickhouse_http_port=18123, topic_prefix="t")


def test_the_broker_listens_on_loopback_at_the_configured_ports(tmp_path):
    props = server_properties(SETTINGS, tmp_path / "data")
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert props["process.roles"] == "broker,controller"
    assert props["log.dirs"] == str(tmp_path / "data")


def test_the_single_broker_needs_no_replicas_and_creates_no_topics_by_itself(tmp_path):
    props = server_properties(SETTINGS, tmp_path)
    for key in ("offsets.topic.replication.factor", "transaction.state.log.replication.factor",
                "transaction.state.log.min.isr"):
        assert props[key] == "1"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["auto.create.topics.enable"] == "false"


def test_properties_are_written_one_per_line():
    text = format_properties({"a.b": "1", "c": "x,y"})
    assert text.splitlines()[1:] == ["a.b=1", "c=x,y"]


def test_a_cluster_id_is_a_base64_uuid():
    assert len(new_cluster_id()) == 22 and new_cluster_id() != new_cluster_id()


def test_a_cluster_id_never_starts_with_a_dash(monkeypatch):
    """One uuid in 64 encodes to a leading '-', which the storage tool read as an option."""
    import uuid

    draws = iter([uuid.UUID(bytes=b"\xf8" + bytes(15)), uuid.UUID(bytes=b"\x01" + bytes(15))])
    monkeypatch.setattr(uuid, "uuid4", lambda: next(draws))
    assert new_cluster_id() == "AQAAAAAAAAAAAAAAAAAAAA"


def test_the_format_command_passes_the_cluster_id_in_one_word(tmp_path):
    cmd = format_command(["java"], "-dashed", tmp_path / "server.properties")
    assert "--cluster-id=-dashed" in cmd and "-dashed" not in cmd


def test_render_fills_placeholders_and_refuses_missing_ones():
    assert render("a={{ x }} b={{y}}", {"x": 1, "y": "z"}) == "a=1 b=z"
    with pytest.raises(KeyError, match="y"):
        render("{{x}} {{y}}", {"x": 1})


def test_the_clickhouse_config_keeps_everything_under_the_stack_dir_on_loopback(tmp_path):
    root = ET.fromstring(render_config(SETTINGS, tmp_path))
    assert [e.text for e in root.findall("listen_host")] == ["127.0.0.1"]
    assert root.findtext("tcp_port") == "19000" and root.findtext("http_port") == "18123"
    for tag in ("path", "tmp_path", "user_files_path", "format_schema_path", "users_config", "logger/log",
                "logger/errorlog"):
        assert Path(root.findtext(tag)).is_relative_to(tmp_path), tag
    assert int(root.findtext("mark_cache_size")) <= 1 << 30


def test_the_analyst_is_read_only_limited_and_every_user_is_local():
    root = ET.fromstring(render_users(SETTINGS, "pw"))
    assert root.findtext("users/analyst/profile") == "analyst"
    profile = root.find("profiles/analyst")
    assert profile.findtext("readonly") == "1"
    for name, value in ANALYST_LIMITS.items():
        assert int(profile.findtext(name.removeprefix("analyst_"))) == value > 0, name
    assert profile.findtext("timeout_overflow_mode") == profile.findtext("read_overflow_mode") == "throw"
    assert {p.findtext("log_queries") for p in root.find("profiles")} == {"0"}
    assert root.findtext("users/default/profile") == "default"
    for user in root.find("users"):
        assert {ip.text for ip in user.findall("networks/ip")} == {"127.0.0.1", "::1"}, user.tag


def test_the_analyst_password_is_made_once_readable_by_its_owner_only_and_only_hashed_in_users_xml(tmp_path):
    settings = SETTINGS.with_(stack_dir=str(tmp_path))
    with pytest.raises(StackError, match="gridflow stack up"):
        analyst_password(settings)
    first = analyst_password(settings, create=True)
    assert len(first) >= 20 and analyst_password(settings, create=True) == first == analyst_password(settings)
    assert analyst_password_path(settings).stat().st_mode & 0o777 == 0o600
    text = render_users(settings, first)
    assert first not in text
    assert ET.fromstring(text).findtext("users/analyst/password_sha256_hex") == hashlib.sha256(first.encode()).hexdigest()


def test_the_default_password_is_escaped_into_users_xml():
    root = ET.fromstring(render_users(SETTINGS.with_(clickhouse_password="a<b&c"), "pw"))
    assert root.findtext("users/default/password") == "a<b&c"


def test_topics_have_the_configured_partitions_and_the_log_is_kept_forever():
    specs = {s.name: s for s in topic_specs(SETTINGS.with_(partitions=6))}
    topics = SETTINGS.topics
    for name in (topics.intake, topics.state, topics.events, topics.deadletter):
        assert specs[name].partitions == 6
    assert specs[topics.events].configs["retention.ms"] == "-1"
    assert specs[topics.state].configs["cleanup.policy"] == "compact"
    assert specs[topics.org].configs == {"cleanup.policy": "compact"}


def test_the_intake_takes_records_up_to_kafkas_own_limit_so_oversized_ones_are_dead_lettered():
    from events.codec import MAX_RECORD_BYTES

    specs = {s.name: s for s in topic_specs(SETTINGS)}
    assert int(specs[SETTINGS.topics.intake].configs["max.message.bytes"]) > MAX_RECORD_BYTES


def test_the_status_table_lines_up():
    table = format_status([ServiceStatus("kafka", "running", 12, "127.0.0.1:9092"),
                           ServiceStatus("chdb", "available (26.1)", None, "embedded")])
    header, kafka, chdb = table.splitlines()
    assert header.split() == ["SERVICE", "STATE", "PID", "ADDRESS"]
    assert kafka.index("12") == header.index("PID") and chdb.split()[-1] == "embedded"


def test_a_stack_that_never_started_stops_as_a_no_op(tmp_path):
    stack = Stack(SETTINGS.with_(stack_dir=str(tmp_path)))
    assert [o.action for o in stack.down()] == ["not running", "not running"]


def test_a_detached_process_is_found_by_its_pid_file_and_stopped(tmp_path):
    pid_file, marker = tmp_path / "x.pid", f"import time; time.sleep(60)  # {tmp_path}"
    proc = start_detached([sys.executable, "-c", marker], pid_file=pid_file, log_file=tmp_path / "x.log",
                          cwd=tmp_path)
    # the child's /proc cmdline shows the new program only once exec has finished there
    assert wait_until(lambda: running_pid(pid_file, str(tmp_path)) == proc.pid, timeout=10, interval=0.01) is None
    assert running_pid(pid_file, "some other service") is None  # a recycled pid is not ours
    assert stop(proc.pid, timeout=10) is True
    proc.wait(timeout=5)
    assert running_pid(pid_file, str(tmp_path)) is None


def test_a_process_that_ignores_sigterm_is_killed(tmp_path):
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('IGNORING'); time.sleep(60)"
    log = tmp_path / "x.log"
    proc = start_detached([sys.executable, "-u", "-c", code], pid_file=tmp_path / "x.pid", log_file=log, cwd=tmp_path)
    # SIGTERM must arrive after the handler is installed
    assert wait_until(lambda: "IGNORING" in log.read_text().splitlines(), timeout=10, interval=0.01) is None
    assert stop(proc.pid, timeout=0.5) is False
    assert running_pid(tmp_path / "x.pid", "IGNORING") is None
