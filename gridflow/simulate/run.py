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
             publisher: Publisher | None = None) -> GroundTruth:
    """Publish ``days`` simulated days of ``tree``'s matters to the intake topic, with watermarks.

    ``progress(Progress)`` is called after every ``every`` events are acknowledged and once at
    the end. The org tree goes to the org topic first (``publish_org``) so the worker knows
    the places. Returns the ground truth (also written to ``truth_path`` as JSON lines).
    """
    policy = policy or policy_module.load(settings.policy_path or None)
    plan = Plan(tree, policy, calendar, days=days, seed=seed, matters_per_day=matters_per_day, start=start,
                model=model, watermark_every=watermark_every, run_id=run_id, producer=PRODUCER)
    pub = publisher or Publisher(settings, producer=PRODUCER, check_categories=False)
    try:
        if publish_org:
            pub.publish_org(tree)
        with pub.batch(flush_every=every, check=False) as batch:
            for event in plan:
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
