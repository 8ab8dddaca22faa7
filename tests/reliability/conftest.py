"""The reliability suite's fixtures: a Kafka broker of its own (brand-new, and one the tests may
stop and start), a CPU hog, and the integration helpers (tests/integration) on the path."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from harness import Pipeline  # noqa: E402  (after the path it needs)


@pytest.fixture
def private_kafka(settings, tmp_path_factory):
    """A new single-node broker on ports of its own: (settings pointing at it, its Stack)."""
    from deploy.stack import Stack
    from gridflow.children import free_port

    port = free_port()
    mine = settings.with_(stack_dir=str(tmp_path_factory.mktemp("kafka")), kafka_port=port,
                          kafka_controller_port=free_port(), kafka_bootstrap=f"127.0.0.1:{port}")
    stack = Stack(mine)
    stack.services = [s for s in stack.services if s.name == "kafka"]
    stack.up()
    yield mine, stack
    stack.down()


@pytest.fixture
def cpu_hog():
    """One core kept busy while the test runs."""
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    yield hog
    hog.kill()
    hog.wait(timeout=10)


@pytest.fixture
def pipelines():
    """Pipelines to stop, and whose databases to drop, whatever happens."""
    made: list[Pipeline] = []
    yield made
    for p in made:
        p.stop()
        p.drop_database()
