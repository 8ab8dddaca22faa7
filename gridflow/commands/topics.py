"""``gridflow topics``: create the Kafka topics with their partition counts and retention."""
from __future__ import annotations

import argparse
import sys

from gridflow.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Create the gridflow topics (idempotent). Existing topics are checked: a different "
        "partition count or retention is an error naming the topic."
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    from kafka.errors import KafkaError

    from deploy.kafka_broker import kafka_ready
    from deploy.process import wait_until
    from deploy.topics import TopicsError, ensure_topics, topic_specs

    if wait_until(lambda: kafka_ready(settings.kafka_bootstrap), timeout=10, interval=0.5):
        print(f"gridflow topics: no Kafka broker answers at {settings.kafka_bootstrap} "
              "(GRIDFLOW_KAFKA_BOOTSTRAP); is the stack up? `gridflow stack up`", file=sys.stderr)
        return 1
    try:
        report = ensure_topics(settings)
    except TopicsError as exc:
        print(f"gridflow topics: {exc}", file=sys.stderr)
        return 1
    except KafkaError as exc:
        print(f"gridflow topics: Kafka at {settings.kafka_bootstrap}: {exc} (is the stack up? `gridflow stack up`)",
              file=sys.stderr)
        return 1
    for spec in topic_specs(settings):
        state = "created" if spec.name in report.created else "exists"
        configs = " ".join(f"{k}={v}" for k, v in spec.configs.items())
        print(f"{state:8} {spec.name:40} partitions={spec.partitions} {configs}".rstrip())
    return 0
