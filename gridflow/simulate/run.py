"""Run a simulation against Kafka: publish the org tree, then the planned stream in batches
(acks=all, every acknowledgement checked), reporting progress; return the ground truth."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Callable

from events import policy as policy_module
from events.calendar import Calendar
from events.orgtree import OrgTree
from events.policy import Policy
from gridflow.sdk.publisher import Publisher
from gridflow.settings import Settings
from gridflow.simulate.model import Model
from gridflow.simulate.plan import PRODUCER, Plan, Progress
from gridflow.simulate.truth import GroundTruth


def simulate(settings: Settings, tree: OrgTree, *, days: int = 30, seed: int = 1,
             matters_per_day: int | None = None, start: date | datetime | None = None,
             progress: Callable[[Progress], None] | None = None, every: int = 5000,
             model: Model | None = None, policy: Policy | None = None, calendar: Calendar | None = None,
             watermark_every: timedelta = timedelta(minutes=15), run_id: str | None = None,
             truth_path: str | Path | None = None, publish_org: bool = True,
             publisher: Publisher | None = None, resources: bool = False,
             resources_timeout: float = 120.0, resources_known: Callable[[int], None] | None = None) -> GroundTruth:
    """Publish ``days`` simulated days of ``tree``'s matters to the intake topic, with watermarks.

    ``progress(Progress)`` is called after every ``every`` events are acknowledged and once at
    the end. The org tree goes to the org topic first (``publish_org``) so the worker knows
    the places. Returns the ground truth (also written to ``truth_path`` as JSON lines).

    ``resources``: the city keeps a resources list (gridflow/simulate/resources.py). Its
    registrations are published first, and the matters only once the worker has written them
    all to the resources log (up to ``resources_timeout`` seconds): a need decided before the
    registration it depends on would be a gap the ground truth does not know.
    ``resources_known(n)``, when given, is called then and returns once every worker follows the
    n resources (the demo asks the workers' ``gridflow_worker_resources``).
    """
    policy = policy or policy_module.load(settings.policy_path or None)
    plan = Plan(tree, policy, calendar, days=days, seed=seed, matters_per_day=matters_per_day, start=start,
                model=model, watermark_every=watermark_every, run_id=run_id, producer=PRODUCER, resources=resources)
    pub = publisher or Publisher(settings, producer=PRODUCER, check_categories=False)
    try:
        if publish_org:
            pub.publish_org(tree)
        stream = iter(plan)
        if plan.resources:
            with pub.batch(flush_every=every, check=False) as batch:
                for _ in plan.resources:
                    batch.add(next(stream))
            wait_for_resources(settings, len(plan.resources), resources_timeout)
            if resources_known is not None:
                resources_known(len(plan.resources))
        with pub.batch(flush_every=every, check=False) as batch:
            for event in stream:
                batch.add(event)
                if progress is not None and batch.events % every == 0:
                    batch.flush()
                    progress(plan.progress)
        if progress is not None:
            progress(plan.progress)
    finally:
        if publisher is None:
            pub.close()
    if truth_path is not None:
        plan.truth.write(truth_path)
    return plan.truth


def wait_for_resources(settings: Settings, count: int, timeout: float) -> None:
    """Until the resources log holds at least ``count`` records (the worker accepted them)."""
    import time

    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None, enable_auto_commit=False)
    try:
        topic = settings.topics.resources
        give_up = time.monotonic() + timeout
        while True:
            parts = consumer.partitions_for_topic(topic) or set()
            have = sum(consumer.end_offsets([TopicPartition(topic, p) for p in parts]).values()) if parts else 0
            if have >= count:
                return
            if time.monotonic() > give_up:
                raise TimeoutError(f"the resources log {topic} has {have} of {count} resources after {timeout:.0f}s: "
                                   "is a worker running?")
            time.sleep(0.2)
    finally:
        consumer.close()
