"""Faults on the real stack (docs/reliability.md): after each, the event log equals what one
writer per matter gives for the same input, the statistics equal the simulator's ground truth,
no event id is twice in ClickHouse, and nothing is dead-lettered that should not be."""
from __future__ import annotations

import threading
import time

import pytest

from harness import Pipeline

pytestmark = [pytest.mark.integration, pytest.mark.reliability]


def wait_for(what: str, condition, pipeline: Pipeline, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        pipeline.check_alive()
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}", pytrace=False)
        time.sleep(0.2)


def log_size(p: Pipeline) -> int:
    from gridflow.pipeline import PipelineWatch
    from streams.app import app_id

    watch = PipelineWatch(p.settings, worker_group=app_id(p.settings), projector_group=p.settings.projector_group)
    try:
        return watch.backlog().log_size
    finally:
        watch.close()


def test_a_brand_new_broker_and_a_busy_core_give_no_dead_letter(private_kafka, cpu_hog, pipelines, tmp_path):
    settings, _ = private_kafka
    p = Pipeline(settings, tmp_path)  # topics created a moment before the worker asks for them
    pipelines.append(p)
    p.start()
    p.publish(p.events)
    p.drain()
    p.stop()
    p.check(deadletters=0)


def test_a_broker_stopped_and_started_mid_stream_loses_nothing(private_kafka, pipelines, tmp_path):
    settings, stack = private_kafka
    p = Pipeline(settings, tmp_path)
    pipelines.append(p)
    p.start()
    first, second, third = p.parts(3)
    p.publish(first)
    wait_for("the first events in the log", lambda: log_size(p) > 500, p)
    publisher = threading.Thread(target=p.publish, args=(second,))
    publisher.start()
    stack.down()  # while the second part is on its way
    stack.up()
    publisher.join(timeout=180)
    p.publish(third)
    p.drain()
    p.stop()
    p.check(deadletters=0)


def test_worker_and_projector_killed_mid_stream_lose_and_double_nothing(settings, kafka_bootstrap, pipelines,
                                                                        tmp_path):
    p = Pipeline(settings, tmp_path)
    pipelines.append(p)
    p.start()
    parts = p.parts(4)
    p.publish(parts[0])
    wait_for("the first events in the log", lambda: log_size(p) > 500, p)
    for part, victim in zip(parts[1:3], (p.workers[0], p.projector)):
        size = log_size(p)
        publisher = threading.Thread(target=p.publish, args=(part,))
        publisher.start()
        wait_for(f"{victim.name} to be busy", lambda: log_size(p) > size + 200, p)
        victim.kill()
        publisher.join(timeout=120)
        victim.start()
    p.publish(parts[3])
    p.drain()
    p.stop()
    p.check(deadletters=0)


def test_clickhouse_away_for_thirty_seconds_loses_and_doubles_nothing(settings, kafka_bootstrap, clickhouse_server,
                                                                     pipelines, tmp_path):
    from projection_support import Outage

    outage = Outage(settings.clickhouse_host, settings.clickhouse_port)
    try:
        p = Pipeline(settings, tmp_path, store="server", clickhouse_host="127.0.0.1", clickhouse_port=outage.port)
        pipelines.append(p)
        p.start()
        first, second = p.parts(2)
        p.publish(first)
        wait_for("the first events in the log", lambda: log_size(p) > 500, p)
        outage.cut()
        p.publish(second)
        time.sleep(30)  # the fault itself: ClickHouse stays away for thirty seconds
        outage.restore()
        p.drain()
        p.stop()
        p.check(deadletters=0)
    finally:
        outage.cut()  # closes the proxy
