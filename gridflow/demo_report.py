"""What the demo prints at the end: the statistics table, the check against the simulator's
ground truth, and where to look next."""
from __future__ import annotations

from events.levels import LEVEL_NAMES


def agreement(result) -> list[tuple[str, int, int]]:
    """(figure, pipeline, ground truth) for every figure both sides know."""
    total, truth = result.report.total, result.truth.summary()
    rows = [("matters", total.matters, truth["matters"]),
            ("cancelled", total.cancelled, truth["cancelled"]),
            ("escalated matters", total.escalated_matters, truth["escalated_matters"]),
            ("escalations", total.escalations, sum(truth["escalations"].values()))]
    rows += [(f"resolved at {lv}", total.resolved_by_level.get(lv, 0), truth["resolved_by_level"][lv])
             for lv in LEVEL_NAMES]
    return rows


def render(result) -> str:
    from projections.render import table

    s = result.seconds
    lines = ["", f"Simulated {result.truth.days} days: {len(result.truth):,} matters, "
                 f"{result.truth.events:,} upstream events; pipeline done in {s.get('total', 0):.0f}s "
                 f"(publish {s.get('publish', 0):.0f}s, then processing {s.get('drain', 0):.0f}s).", ""]
    lines.append(table(result.report))
    rows = agreement(result)
    mismatched = [r for r in rows if r[1] != r[2]]
    lines += ["", "Checked against the simulator's ground truth (where each matter was really resolved):"]
    width = max(len(r[0]) for r in rows)
    lines.append(f"  {'figure':<{width}}  {'pipeline':>9}  {'truth':>9}")
    for name, got, want in rows:
        lines.append(f"  {name:<{width}}  {got:>9,}  {want:>9,}{'' if got == want else '  <- differs'}")
    lines.append("  all figures agree." if not mismatched else f"  {len(mismatched)} figure(s) differ: see above.")
    city = _a_named_unit(result, "city")
    lines += ["", "Where to look next:",
              f"  gridflow stats --unit {city}            drill down: districts of that city, ranked",
              "  gridflow stats --unit <id> --format csv  any unit at any of the six levels; --from/--to, --category",
              "  gridflow sql \"SELECT resolved_level, count() AS matters FROM gridflow.matters GROUP BY resolved_level ORDER BY matters DESC\"",
              "  docs/statistics.md                      every figure defined, with its SQL",
              "  gridflow worker                         serves Prometheus metrics on http://127.0.0.1:6066/metrics",
              f"  {result.workdir}   the run: org tree, ground truth, worker and projector logs"]
    return "\n".join(lines)


def _a_named_unit(result, level: str) -> str:
    for child in result.report.children:
        if child.level == level:
            return child.unit
    return "<unit id>"
