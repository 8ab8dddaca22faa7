"""The local stack is real: messages round-trip through the broker, rows through the
ClickHouse server and chdb, and starting or creating twice changes nothing."""
from __future__ import annotations

import json
from gridflow.children import free_port
import subprocess
import sys
import time
import uuid
from datetime import datetime

import pytest

from deploy.process import StackError
from deploy.stack import ServiceFailed, Stack
from deploy.topics import TopicSpec, TopicsError, delete_topics, ensure_topics, topic_specs

pytestmark = pytest.mark.integration


def test_a_message_round_trips_through_the_broker(settings, kafka_topics):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    key, value = b"matter-1", uuid.uuid4().bytes
    sent = producer.send(kafka_topics.intake, key=key, value=value).get(timeout=30)
    producer.close()

    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    tp = TopicPartition(kafka_topics.intake, sent.partition)
    consumer.assign([tp])
    consumer.seek(tp, sent.offset)
    deadline = time.monotonic() + 30
    received = []
    while not received and time.monotonic() < deadline:
        received = consumer.poll(timeout_ms=1000).get(tp, [])
    consumer.close()
    assert [(m.key, m.value) for m in received[:1]] == [(key, value)]


def test_the_storage_tool_formats_with_a_cluster_id_that_starts_with_a_dash(settings, kafka_bootstrap, tmp_path):
    """Stacks formatted before ids were redrawn may hold such an id; the real tool must take it."""
    from deploy.kafka_broker import KafkaBroker, format_command, format_properties, server_properties

    broker = KafkaBroker(settings)  # the running stack's jars
    config = tmp_path / "server.properties"
    config.write_text(format_properties(server_properties(settings, tmp_path / "data")))
    cluster_id = "-" + uuid.uuid4().hex[:21]
    result = subprocess.run(format_command(broker._java(), cluster_id, config), capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"cluster.id={cluster_id}" in (tmp_path / "data" / "meta.properties").read_text()


def test_rows_round_trip_through_the_clickhouse_server(ch_client):
    ch_client.execute("CREATE TABLE t (id UInt32, place String, at DateTime) ENGINE = MergeTree ORDER BY id")
    rows = [(1, "grid-1", datetime(2026, 1, 2, 3, 4, 5)), (2, "grid-2", datetime(2026, 1, 2, 3, 4, 6))]
    ch_client.execute("INSERT INTO t VALUES", rows)  # rows as data: inline VALUES hangs the driver on 18.16
    assert ch_client.execute("SELECT id, place, at FROM t ORDER BY id") == rows


def test_the_analyst_can_read_but_not_write(private_clickhouse):
    """On a server with the users file `gridflow stack up` writes (test_analyst_access.py has more)."""
    from clickhouse_driver import Client
    from clickhouse_driver.errors import ServerException

    from deploy.clickhouse_server import analyst_password

    s = private_clickhouse
    admin = Client(host=s.clickhouse_host, port=s.clickhouse_port, user="default", password="")
    admin.execute("CREATE DATABASE IF NOT EXISTS stack_analyst")
    admin.execute("CREATE TABLE stack_analyst.t (id UInt32) ENGINE = MergeTree ORDER BY id")
    try:
        admin.execute("INSERT INTO stack_analyst.t VALUES", [(1,), (2,)])
        analyst = Client(host=s.clickhouse_host, port=s.clickhouse_port, database="stack_analyst", user="analyst",
                         password=analyst_password(s))
        assert analyst.execute("SELECT count() FROM t") == [(2,)]
        with pytest.raises(ServerException) as err:
            analyst.execute("INSERT INTO t VALUES", [(3,)])
        assert err.value.code == 164  # READONLY
        analyst.disconnect()
    finally:
        admin.execute("DROP DATABASE IF EXISTS stack_analyst")
        admin.disconnect()


def test_rows_round_trip_through_chdb(chdb_session):
    chdb_session.query("CREATE DATABASE d")
    chdb_session.query("CREATE TABLE d.t (id UInt32, place String) ENGINE = MergeTree ORDER BY id")
    chdb_session.query("INSERT INTO d.t VALUES (1, 'grid-1'), (2, 'grid-2')")
    result = json.loads(chdb_session.query("SELECT id, place FROM d.t ORDER BY id", "JSONCompact").bytes())
    assert result["data"] == [[1, "grid-1"], [2, "grid-2"]]


def test_stack_up_twice_is_a_no_op_and_status_reports_running(settings, kafka_bootstrap, clickhouse_server):
    stack = Stack(settings)
    stack.up()
    again = stack.up()
    assert {o.service: o.action for o in again} == {"clickhouse": "already running", "kafka": "already running"}
    states = {row.service: row.state for row in stack.status()}
    assert states["kafka"] == states["clickhouse"] == "running"
    assert states["chdb"].startswith("available")


def test_the_cli_says_when_stack_up_has_nothing_to_do(settings, kafka_bootstrap, clickhouse_server):
    cli = subprocess.run([sys.executable, "-m", "gridflow.cli", "stack", "up"], capture_output=True, text=True,
                         timeout=120)
    assert cli.returncode == 0, cli.stderr
    assert "stack already up: nothing to do" in cli.stdout


def test_a_taken_port_is_named_with_the_variable_that_moves_it(settings, clickhouse_server, tmp_path):
    stack = Stack(settings.with_(stack_dir=str(tmp_path / "stack")))  # its own dir, the running server's port
    with pytest.raises(StackError, match=f"port {settings.clickhouse_port}.*GRIDFLOW_CLICKHOUSE_PORT"):
        stack.up()


def test_a_service_that_cannot_start_is_named_with_its_log(settings, tmp_path):
    port = free_port()  # tcp and http on one port: the server fails to bind its second listener and exits
    broken = settings.with_(stack_dir=str(tmp_path / "stack"), clickhouse_port=port, clickhouse_http_port=port)
    stack = Stack(broken)
    stack.services = [s for s in stack.services if s.name == "clickhouse"]
    with pytest.raises(ServiceFailed) as err:
        stack.up()
    assert err.value.service == "clickhouse"
    assert "see its log" in str(err.value) and str(tmp_path) in str(err.value)
    assert [o.action for o in stack.down()] == ["not running"]


def test_creating_topics_twice_is_idempotent(settings, kafka_bootstrap):
    mine = settings.with_(topic_prefix=f"{settings.topic_prefix}-idem")
    try:
        first = ensure_topics(mine)
        second = ensure_topics(mine)
    finally:
        delete_topics(mine)
    names = [s.name for s in topic_specs(mine)]
    assert sorted(first.created) == sorted(names)
    assert second.created == [] and sorted(second.existing) == sorted(names)


def test_a_topic_with_other_partitions_is_an_error_naming_it(settings, kafka_bootstrap):
    mine = settings.with_(topic_prefix=f"{settings.topic_prefix}-mismatch")
    name = mine.topics.events
    try:
        ensure_topics(mine, [TopicSpec(name, 2)])
        with pytest.raises(TopicsError, match=f"topic {name} has 2 partitions, gridflow expects 3"):
            ensure_topics(mine, [TopicSpec(name, 3)])
    finally:
        delete_topics(mine)


def test_the_org_topic_is_compacted_and_the_event_log_kept_forever(settings, kafka_topics):
    from kafka import KafkaAdminClient
    from kafka.admin import ConfigResource, ConfigResourceType

    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        topics = [kafka_topics.org, kafka_topics.events]
        configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t) for t in topics])["topic"]
    finally:
        admin.close()
    assert configs[kafka_topics.org]["cleanup.policy"]["value"] == "compact"
    assert configs[kafka_topics.events]["retention.ms"]["value"] == "-1"
