"""A simulation's ground truth as the table `gridflow simulate` prints (and the demo can reuse)."""
from __future__ import annotations

from datetime import datetime

from events.calendar import CST, DAY_MS
from events.levels import CHINESE, LEVEL_NAMES, Level
from gridflow.simulate.truth import GroundTruth


def render(truth: GroundTruth, *, seconds: float | None = None, topic: str | None = None,
           truth_path: str | None = None, units: int | None = None, grids: int | None = None) -> str:
    s = truth.summary()
    start = datetime.fromtimestamp(truth.start / 1000, tz=CST).date()
    drained = max(0.0, (truth.last_event_at - truth.start) / DAY_MS - truth.days)
    city = f" · city {grids:,} grids, {units:,} units" if grids else ""
    lines = [
        f"simulated   {truth.days} days from {start} (+{drained:.1f} days draining to the last closure)"
        f" · seed {truth.seed} · run {truth.run_id}{city}",
        f"matters     {s['matters']:,} (incidents {s['incidents']:,} · requests {s['requests']:,})"
        f" · closed {s['closed']:,} · cancelled {s['cancelled']:,}",
        f"events      {s['events']:,} + {s['watermarks']:,} watermarks" + (f" -> {topic}" if topic else " (not published)"),
    ]
    if seconds:
        lines.append(f"time        {seconds:.1f} s ({(s['events'] + s['watermarks']) / seconds:,.0f} events/s)")
    if truth_path:
        lines.append(f"truth       {truth_path}")
    lines += ["", "resolved at        matters    share"]
    for label in reversed(LEVEL_NAMES):
        n = s["resolved_by_level"][label]
        lines.append(f"  {label:<9} {CHINESE[Level.parse(label)]:<3}{n:>9,}  {s['share_by_level'][label]:>6.1%}")
    escalated = s["escalated_matters"]
    reasons = " · ".join(f"{k} {v:,}" for k, v in sorted(s["escalations"].items()))
    lines += [
        "",
        f"小事不出网格 resolved at grid or below       {s['grid_or_below']:.1%}",
        f"大事不出社区 resolved at community or below  {s['community_or_below']:.1%}",
        f"escalated   {escalated:,} matters ({escalated / max(1, s['matters']):.1%}): {reasons}",
        "breaches    " + " · ".join(f"{k} {v:,}" for k, v in sorted(s["breaches"].items())),
        f"rework      {s['reworks']:,} · reopened {s['reopened']:,} · suspended {s['suspended']:,}",
        "feedback    " + " · ".join(f"{k} {v:,}" for k, v in sorted(s["feedback"].items())),
    ]
    return "\n".join(lines)
