"""The city simulator: an upstream app on the publisher SDK.

- ``plan(tree, policy, calendar, days=..., seed=...)`` -> ``Plan``: pure, deterministic; iterate
  it for the time-ordered events (with watermarks), then read ``plan.truth``.
- ``simulate(settings, tree, days=..., seed=..., progress=...)`` -> ``GroundTruth``: publishes.
"""
from gridflow.simulate.model import Behaviour, Model
from gridflow.simulate.plan import Plan, Progress, matters_per_day_for, plan
from gridflow.simulate.run import simulate
from gridflow.simulate.truth import GroundTruth, MatterTruth

__all__ = ["Behaviour", "GroundTruth", "MatterTruth", "Model", "Plan", "Progress", "matters_per_day_for",
           "plan", "simulate"]
