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
    return rows + lists_agreement(result)


def lists_agreement(result) -> list[tuple[str, int, int]]:
    """The three lists (三张清单), when the run kept a resources list: pipeline against truth."""
    lists = getattr(result, "lists", None)
    if lists is None:
        return []
    want = result.truth.lists()
    supply = {s["category"]: s for s in lists.supply}
    rows = [("needs with candidates", lists.matched, want["matched"]),
            ("needs with no resource", lists.gap, want["gap"]),
            ("orders claimed after a dispatch", lists.claimed, want["claimed"])]
    for name in ("p50", "p80"):
        rows.append((f"time to claim {name} (s)", round((lists.claim_seconds or {}).get(name, 0)),
                     round((want["claim_seconds"] or {}).get(name, 0))))
    for category, w in want["supply"].items():
        got = supply.get(category, {"needs": 0, "resources": 0})
        rows.append((f"{category}: needs", got["needs"], w["needs"]))
        rows.append((f"{category}: resources", got["resources"], w["resources"]))
    top = lists.orders[0] if lists.orders else None
    if top is not None:
        rows.append((f"orders of {top['resource']}", top["orders"], want["orders"].get(top["resource"], 0)))
    report_ins = getattr(lists, "report_ins", [])
    rows += [("units summoned", sum(w["summoned"] for w in report_ins), want["summoned"]),
             ("report-ins in time", sum(w["on_time"] for w in report_ins), want["report_ins_on_time"]),
             ("report-in deadlines missed", sum(w["missed"] for w in report_ins), want["report_ins_missed"])]
    points = getattr(lists, "points", [])
    rows.append(("points awarded", sum(p["awarded"] for p in points), sum(want["points"].values())))
    if points:
        rows.append((f"points of {points[0]['resource']}", points[0]["awarded"], want["points"].get(points[0]["resource"], 0)))
    by_community = getattr(lists, "points_by_community", None)
    if by_community is not None and "points_by_community" in want:
        rows.append(("communities with points", len(by_community), len(want["points_by_community"])))
        if by_community:
            top = by_community[0]
            rows.append((f"points balance of {top['community']}", top["balance"],
                         want["points_by_community"].get(top["community"], 0)))
    wishes = getattr(lists, "wishes", None)
    if wishes is not None:
        rows += [(f"micro-wishes {name}", wishes[name], want["wishes"][name])
                 for name in ("collected", "claimed", "fulfilled")]
    return rows


def problems(result) -> list[str]:
    """What makes the run a failure: figures that differ from the ground truth, dead letters
    (the simulator publishes no bad input, so any dead letter is a fault of the pipeline)."""
    out = []
    mismatched = [r for r in agreement(result) if r[1] != r[2]]
    if mismatched:
        out.append(f"{len(mismatched)} figure(s) differ from the simulator's ground truth "
                   f"({', '.join(r[0] for r in mismatched)})")
    if result.deadletters:
        out.append(f"{result.deadletters:,} record(s) were dead-lettered "
                   f"(topic {result.settings.topics.deadletter})")
    return out


def render(result) -> str:
    import sys

    from gridflow.output import terminal_width
    from projections.render import table

    s = result.seconds
    failed = problems(result)
    verdict = (["FAILED: " + "; ".join(failed) + "."] if failed
               else ["OK: every figure agrees with the ground truth and nothing was dead-lettered."])
    lines = [*verdict, "", f"Simulated {result.truth.days} days: {len(result.truth):,} matters, "
                 f"{result.truth.events:,} upstream events; pipeline done in {s.get('total', 0):.0f}s "
                 f"(publish {s.get('publish', 0):.0f}s, then processing {s.get('drain', 0):.0f}s).", ""]
    lines.append(table(result.report, width=terminal_width(sys.stdout)))
    if getattr(result, "lists", None) is not None:
        from projections import lists as lists_mod

        lines += ["", lists_mod.table(result.lists, limit=10)]
    rows = agreement(result)
    mismatched = [r for r in rows if r[1] != r[2]]
    lines += ["", "Checked against the simulator's ground truth (where each matter was really resolved):"]
    width = max(len(r[0]) for r in rows)
    lines.append(f"  {'figure':<{width}}  {'pipeline':>9}  {'truth':>9}")
    for name, got, want in rows:
        lines.append(f"  {name:<{width}}  {got:>9,}  {want:>9,}{'' if got == want else '  <- differs'}")
    lines.append("  all figures agree." if not mismatched else f"  {len(mismatched)} figure(s) differ: see above.")
    if result.metrics:
        lines += ["", "From the metrics (scraped before the pipeline stopped; the full texts are in the run's folder):"]
        lines += _columns(result.metrics)
    city = _a_named_unit(result, "city")
    database = result.settings.clickhouse_database
    lines += ["", "Where to look next:"]
    lines += _columns([
        (f"gridflow stats --database {database} --unit {city}", "drill down: the districts of that city, ranked"),
        (f"gridflow stats --database {database} --unit <id> --format csv",
         "any unit at any of the six levels; --from/--to, --category"),
        (f"gridflow sql \"SELECT resolved_level, count() AS matters FROM {database}.matters "
         "GROUP BY resolved_level ORDER BY matters DESC\"", ""),
        ("docs/statistics.md", "every figure defined, with its SQL"),
        ("docs/metrics.md", "every metric, and the alerts on them"),
        (str(result.workdir), "the run: org tree, ground truth, logs and metrics of worker and projector"),
    ] + ([(str(result.report_html), "the charts: open it in a browser (`gridflow report --unit <id>` for any unit)")]
         if result.report_html else []))
    return "\n".join(lines)


def _columns(rows) -> list[str]:
    """Rows of strings as left-aligned columns; a row whose later cells are empty does not
    widen its column (a long command with nothing after it)."""
    from projections.render import pad, width

    widths = [max((width(r[i]) for r in rows if any(r[i + 1:])), default=0) for i in range(len(rows[0]) - 1)]
    return [("  " + "  ".join([pad(c, widths[i]) for i, c in enumerate(r[:-1])] + [r[-1]])).rstrip() for r in rows]


def _a_named_unit(result, level: str) -> str:
    for child in result.report.children:
        if child.level == level:
            return child.unit
    return "<unit id>"
