"""The three lists (三张清单) as statistics: needs against resources, and how orders are matched,
dispatched and claimed. Each figure is defined once, here, as SQL over ``events`` (the matters'
log) and ``resource_list`` (the resources log, migration 0007); ``gridflow stats --lists``,
the demo's check and docs/statistics.md ("The three lists") read these definitions.

The scope is ``gridflow stats``'s: the needs are the matters reported under the unit, in the
window (by report time), of the categories asked for; the resources are those active at the end
of the window (or now) that cover the unit, a unit below it or above it.

- ``supply``: per category, needs (request matters) against resources serving it and their
  capacity (orders at once) — the supply/demand gap of a street's joint meeting;
- ``match_rate``: of the needs the pipeline tried to match on arrival (cycle 1), the share that
  got candidates rather than a gap (``no_resource``);
- ``claim_time``: from the first dispatch naming a resource to the first claim naming one, per
  claimed order: p50 and p80 (seconds);
- ``orders``: orders claimed per resource, most first, with its kind and co-building unit;
- ``gaps``: needs with no resource at all, per holding unit and category, most first;
- ``report_ins``: per unit summoned (社区吹哨、部门报到): summons, report-ins in time, missed
  deadlines, the report-in rate and the time from summons to report-in (p50, p80);
- ``points``: per member or unit, points awarded on the scope's orders and redeemed until the
  window's end, and the difference (the balance, for the whole city and all time); and the same
  per co-building unit (``points_by_unit``) and per community the resources serve
  (``points_by_community``: a community, level 4, of a covered unit);
- ``wishes``: 微心愿 (category ``micro_wish``): wishes collected (valid micro-wish matters in the
  scope), claimed (a member or unit took the order: a ``claimed`` event naming a resource) and
  fulfilled (closed now: resolved and the resolution verified, 结案), and ``wish_rate``, the
  fulfilment rate fulfilled / collected.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from events.levels import Level
from projections.report import Scope
from projections.store import Store, lit

QUANTILES = (("p50", 0.5), ("p80", 0.8))


def needs_sql(db: str, scope: Scope, unit_level: Level | None) -> str:
    """matter_id, category of every matter in the scope (its first ``reported`` event)."""
    where = ["type = 'reported'"]
    if scope.unit is not None and unit_level is not None:
        where.append(f"place IN (SELECT unit_id FROM {db}.org_units FINAL WHERE l{int(unit_level)} = {lit(scope.unit)})")
    if scope.since is not None:
        where.append(f"occurred_at >= {int(scope.since)}")
    if scope.until is not None:
        where.append(f"occurred_at < {int(scope.until)}")
    if scope.categories:
        where.append(f"category IN {lit(tuple(scope.categories))}")
    if scope.kind:
        where.append(f"kind = {lit(scope.kind)}")
    return f"SELECT matter_id, any(category) AS need_category, any(kind) AS need_kind FROM {db}.events " \
           f"WHERE {' AND '.join(where)} GROUP BY matter_id"


def resources_sql(db: str, scope: Scope, unit_level: Level | None, ancestors: tuple[str, ...]) -> str:
    """resource_id, capacity, categories of every resource active at the window's end covering the scope."""
    active = f"registered_at < {int(scope.until)} AND (withdrawn_at = 0 OR withdrawn_at >= {int(scope.until)})" \
        if scope.until is not None else "withdrawn_at = 0"
    covered = "1"
    if scope.unit is not None and unit_level is not None:
        inside = f"covered IN (SELECT unit_id FROM {db}.org_units FINAL WHERE l{int(unit_level)} = {lit(scope.unit)})"
        covered = f"({inside} OR covered IN {lit(ancestors)})" if ancestors else inside
    return f"""SELECT resource_id, any(capacity) AS r_capacity, any(categories) AS r_categories FROM (
    SELECT resource_id, capacity, categories, arrayJoin(splitByChar(',', covers)) AS covered
    FROM {db}.resource_list WHERE {active})
  WHERE {covered} GROUP BY resource_id"""


def supply_sql(needs: str, resources: str) -> str:
    return f"""
SELECT s_category, sum(s_needs) AS n_needs, sum(s_resources) AS n_resources, sum(s_capacity) AS n_capacity FROM (
  SELECT need_category AS s_category, count() AS s_needs, 0 AS s_resources, 0 AS s_capacity
  FROM ({needs}) WHERE need_kind = 'request' GROUP BY s_category
  UNION ALL
  SELECT arrayJoin(splitByChar(',', r_categories)) AS s_category, 0 AS s_needs, 1 AS s_resources,
         r_capacity AS s_capacity
  FROM ({resources}))
GROUP BY s_category ORDER BY n_needs DESC, s_category"""


def match_sql(db: str, needs: str) -> str:
    return f"""
SELECT uniqExactIf(matter_id, type = 'candidates_proposed') AS n_matched,
       uniqExactIf(matter_id, type = 'no_resource') AS n_gap
FROM {db}.events
WHERE type IN ('candidates_proposed', 'no_resource') AND cycle = 1 AND matter_id IN (SELECT matter_id FROM ({needs}))"""


def claim_time_sql(db: str, needs: str) -> str:
    q = ", ".join(str(x) for _, x in QUANTILES)
    return f"""
SELECT count() AS n_claimed, quantilesExact({q})((c_at - d_at) / 1000) AS q_claim FROM (
  SELECT matter_id, minIf(occurred_at, type = 'dispatched' AND resource != '') AS d_at,
         minIf(occurred_at, type = 'claimed' AND resource != '') AS c_at
  FROM {db}.events
  WHERE type IN ('dispatched', 'claimed') AND matter_id IN (SELECT matter_id FROM ({needs}))
  GROUP BY matter_id)
WHERE d_at > 0 AND c_at >= d_at"""


def orders_sql(db: str, needs: str, limit: int) -> str:
    return f"""
SELECT resource AS o_resource, uniqExact(matter_id) AS n_orders FROM {db}.events
WHERE type = 'claimed' AND resource != '' AND matter_id IN (SELECT matter_id FROM ({needs}))
GROUP BY o_resource ORDER BY n_orders DESC, o_resource LIMIT {int(limit)}"""


def report_ins_sql(db: str, needs: str, limit: int) -> str:
    q = ", ".join(str(x) for _, x in QUANTILES)
    return f"""
SELECT w_unit, count() AS n_summoned, countIf(in_at > 0 AND missed = 0) AS n_on_time, countIf(missed) AS n_missed,
       countIf(in_at > 0) AS n_in,
       quantilesExactIf({q})((in_at - s_at) / 1000, in_at > 0) AS q_in
FROM (
  SELECT unit AS w_unit, matter_id, minIf(occurred_at, type = 'summoned') AS s_at,
         minIf(occurred_at, type = 'reported_in') AS in_at, countIf(type = 'report_in_missed') > 0 AS missed
  FROM {db}.events
  WHERE type IN ('summoned', 'reported_in', 'report_in_missed') AND matter_id IN (SELECT matter_id FROM ({needs}))
  GROUP BY w_unit, matter_id)
WHERE s_at > 0
GROUP BY w_unit ORDER BY n_summoned DESC, w_unit LIMIT {int(limit)}"""


def points_sql(db: str, needs: str, until: int | None, limit: int) -> str:
    before = f" AND occurred_at < {int(until)}" if until is not None else ""
    return f"""
SELECT p_resource, sum(p_awarded) AS n_awarded, sum(p_redeemed) AS n_redeemed FROM (
  SELECT resource AS p_resource, event_id AS p_event, any(points) AS p_awarded, 0 AS p_redeemed FROM {db}.events
  WHERE type = 'points_awarded' AND matter_id IN (SELECT matter_id FROM ({needs}))
  GROUP BY p_resource, p_event
  UNION ALL
  SELECT resource_id AS p_resource, event_id AS p_event, 0 AS p_awarded, any(points) AS p_redeemed
  FROM {db}.resource_events WHERE type = 'points_redeemed'{before}
  GROUP BY p_resource, p_event)
GROUP BY p_resource ORDER BY n_awarded DESC, p_resource LIMIT {int(limit)}"""


WISH = "micro_wish"


def wishes_sql(db: str, needs: str) -> str:
    wishes = f"SELECT matter_id FROM ({needs}) WHERE need_category = {lit(WISH)}"
    return f"""
SELECT count() AS n_collected, countIf(w_claimed) AS n_claimed, countIf(is_closed) AS n_fulfilled FROM (
  SELECT matter_id, is_closed, matter_id IN (
      SELECT matter_id FROM {db}.events WHERE type = 'claimed' AND resource != '' AND matter_id IN ({wishes})
    ) AS w_claimed
  FROM {db}.matters WHERE valid AND matter_id IN ({wishes}))"""


def gaps_sql(db: str, needs: str, limit: int) -> str:
    return f"""
SELECT unit AS g_unit, category AS g_category, uniqExact(matter_id) AS n_gaps,
       uniqExactIf(matter_id, reason = 'all_busy') AS n_busy
FROM {db}.events
WHERE type = 'no_resource' AND matter_id IN (SELECT matter_id FROM ({needs}))
GROUP BY g_unit, g_category ORDER BY n_gaps DESC, g_unit, g_category LIMIT {int(limit)}"""


@dataclass
class Lists:
    scope: Scope
    supply: list[dict[str, Any]] = field(default_factory=list)  # category, needs, resources, capacity
    matched: int = 0
    gap: int = 0
    claimed: int = 0
    claim_seconds: dict[str, float] | None = None
    orders: list[dict[str, Any]] = field(default_factory=list)  # resource, kind, unit, orders
    gaps: list[dict[str, Any]] = field(default_factory=list)  # unit, category, gaps, all_busy
    report_ins: list[dict[str, Any]] = field(default_factory=list)  # unit, summoned, on_time, missed, rate, seconds
    points: list[dict[str, Any]] = field(default_factory=list)  # resource, kind, unit, awarded, redeemed, balance
    points_by_unit: list[dict[str, Any]] = field(default_factory=list)  # unit, awarded, redeemed
    points_by_community: list[dict[str, Any]] = field(default_factory=list)  # community, awarded, redeemed, balance
    wishes: dict[str, int] = field(default_factory=lambda: {"collected": 0, "claimed": 0, "fulfilled": 0})

    @property
    def match_rate(self) -> float | None:
        tried = self.matched + self.gap
        return self.matched / tried if tried else None

    @property
    def wish_rate(self) -> float | None:
        """微心愿 fulfilment rate: fulfilled / collected."""
        return self.wishes["fulfilled"] / self.wishes["collected"] if self.wishes["collected"] else None

    def to_dict(self) -> dict[str, Any]:
        return {"supply": self.supply, "matched": self.matched, "gap": self.gap, "match_rate": self.match_rate,
                "claimed": self.claimed, "claim_seconds": self.claim_seconds, "orders": self.orders,
                "gaps": self.gaps, "report_ins": self.report_ins, "points": self.points,
                "points_by_unit": self.points_by_unit, "wishes": self.wishes, "wish_rate": self.wish_rate,
                "points_by_community": self.points_by_community}


def compute(store: Store, scope: Scope = Scope(), *, limit: int = 20) -> Lists:
    from projections.stats import unit_info

    db = store.database
    level, ancestors = None, ()
    if scope.unit is not None:
        level, _ = unit_info(store, scope.unit)
        row = store.query(f"SELECT l1, l2, l3, l4, l5, l6 FROM {store.table('org_units')} FINAL "
                          f"WHERE unit_id = %(u)s", {"u": scope.unit})
        ancestors = tuple(u for u in (row[0][:int(level) - 1] if row else ()) if u)
    needs = needs_sql(db, scope, level)
    out = Lists(scope)
    out.supply = [{"category": r["s_category"], "needs": int(r["n_needs"]), "resources": int(r["n_resources"]),
                   "capacity": int(r["n_capacity"])}
                  for r in store.query_dicts(supply_sql(needs, resources_sql(db, scope, level, ancestors)))]
    m = store.query_dicts(match_sql(db, needs))[0]
    out.matched, out.gap = int(m["n_matched"]), int(m["n_gap"])
    c = store.query_dicts(claim_time_sql(db, needs))[0]
    out.claimed = int(c["n_claimed"])
    if out.claimed:
        out.claim_seconds = {name: float(x) for (name, _), x in zip(QUANTILES, c["q_claim"])}
    orders = store.query_dicts(orders_sql(db, needs, limit))
    ids = [r["o_resource"] for r in orders]
    about = {r[0]: (r[1], r[2]) for r in store.query(
        f"SELECT resource_id, kind, unit FROM {store.table('resource_list')} WHERE resource_id IN %(ids)s",
        {"ids": ids})} if ids else {}
    out.orders = [{"resource": r["o_resource"], "kind": about.get(r["o_resource"], ("", ""))[0],
                   "unit": about.get(r["o_resource"], ("", ""))[1], "orders": int(r["n_orders"])} for r in orders]
    out.gaps = [{"unit": r["g_unit"], "category": r["g_category"], "gaps": int(r["n_gaps"]), "all_busy": int(r["n_busy"])}
                for r in store.query_dicts(gaps_sql(db, needs, limit))]
    out.report_ins = [{"unit": r["w_unit"], "summoned": int(r["n_summoned"]), "on_time": int(r["n_on_time"]),
                       "missed": int(r["n_missed"]), "rate": int(r["n_on_time"]) / int(r["n_summoned"]),
                       "seconds": {name: float(x) for (name, _), x in zip(QUANTILES, r["q_in"])}
                       if int(r["n_in"]) else None}
                      for r in store.query_dicts(report_ins_sql(db, needs, limit))]
    w = store.query_dicts(wishes_sql(db, needs))[0]
    out.wishes = {"collected": int(w["n_collected"]), "claimed": int(w["n_claimed"]),
                  "fulfilled": int(w["n_fulfilled"])}
    points = store.query_dicts(points_sql(db, needs, scope.until, 1_000_000))
    ids = [r["p_resource"] for r in points]
    about = {r[0]: (r[1], r[2], r[3]) for r in store.query(
        f"SELECT resource_id, kind, unit, covers FROM {store.table('resource_list')} WHERE resource_id IN %(ids)s",
        {"ids": ids})} if ids else {}
    everyone = [{"resource": r["p_resource"], "kind": about.get(r["p_resource"], ("", ""))[0],
                 "unit": about.get(r["p_resource"], ("", ""))[1], "awarded": int(r["n_awarded"]),
                 "redeemed": int(r["n_redeemed"]), "balance": int(r["n_awarded"]) - int(r["n_redeemed"])}
                for r in points]
    out.points = everyone[:limit]
    units: dict[str, list[int]] = {}
    for r in everyone:
        if r["unit"]:
            totals = units.setdefault(r["unit"], [0, 0])
            totals[0] += r["awarded"]
            totals[1] += r["redeemed"]
    out.points_by_unit = [{"unit": u, "awarded": a, "redeemed": d}
                          for u, (a, d) in sorted(units.items(), key=lambda kv: (-kv[1][0], kv[0]))][:limit]
    out.points_by_community = points_by_community(store, everyone, {i: a[2] for i, a in about.items()}, limit)
    return out


def points_by_community(store: Store, everyone: list[dict[str, Any]], covers: dict[str, str],
                        limit: int) -> list[dict[str, Any]]:
    """Points per community (level 4): the sums over the resources serving in it, i.e. covering
    the community or a unit below it; a resource serving several communities counts in each, one
    covering only units above a community in none."""
    units = sorted({u for c in covers.values() for u in (c or "").split(",") if u})
    community = {r[0]: r[1] for r in store.query(
        f"SELECT unit_id, l4 FROM {store.table('org_units')} FINAL WHERE unit_id IN %(units)s AND l4 != ''",
        {"units": units})} if units else {}
    totals: dict[str, list[int]] = {}
    for r in everyone:
        for c in sorted({community[u] for u in (covers.get(r["resource"]) or "").split(",") if u in community}):
            t = totals.setdefault(c, [0, 0])
            t[0] += r["awarded"]
            t[1] += r["redeemed"]
    return [{"community": c, "awarded": a, "redeemed": d, "balance": a - d}
            for c, (a, d) in sorted(totals.items(), key=lambda kv: (-kv[1][0], kv[0]))][:limit]


def table(lists: Lists, limit: int | None = None) -> str:
    """The lists as a person reads them; ``limit`` cuts each ranked table (the figures stay whole)."""
    from projections.render import duration, pad, pct, width

    if limit is not None:
        lists = Lists(lists.scope, lists.supply, lists.matched, lists.gap, lists.claimed, lists.claim_seconds,
                      lists.orders[:limit], lists.gaps[:limit], lists.report_ins[:limit], lists.points[:limit],
                      lists.points_by_unit[:limit], wishes=lists.wishes,
                      points_by_community=lists.points_by_community[:limit])

    def grid(head: list[str], rows: list[list[str]]) -> list[str]:
        widths = [max(width(r[i]) for r in [head] + rows) for i in range(len(head))]
        return ["  ".join(pad(c, widths[i], right=i > 0 and c[:1].isdigit()) for i, c in enumerate(r)).rstrip()
                for r in [head] + rows]

    out = ["三张清单 · needs, resources, orders", ""]
    out += grid(["category", "needs", "resources", "capacity"],
                [[s["category"], str(s["needs"]), str(s["resources"]), str(s["capacity"])] for s in lists.supply])
    out.append("")
    out.append(f"{pad('match rate', 24)}{pct(lists.match_rate)}   ({lists.matched} matched / "
               f"{lists.matched + lists.gap} needs matched on arrival)")
    q = lists.claim_seconds or {}
    out.append(f"{pad('time to claim', 24)}p50 {duration(q.get('p50'))} · p80 {duration(q.get('p80'))}"
               f"   ({lists.claimed} orders claimed after a dispatch)")
    wish = lists.wishes
    out.append(f"{pad('微心愿 fulfilled', 24)}{pct(lists.wish_rate)}   ({wish['fulfilled']} fulfilled, "
               f"{wish['claimed']} claimed, of {wish['collected']} micro-wishes collected)")
    out += ["", "orders per resource"]
    out += grid(["#", "resource", "kind", "unit", "orders"],
                [[str(i), o["resource"], o["kind"] or "-", o["unit"] or "-", str(o["orders"])]
                 for i, o in enumerate(lists.orders, start=1)]) if lists.orders else ["  (none claimed)"]
    out += ["", "unmatched needs (no_resource), ranked"]
    out += grid(["#", "unit", "category", "needs", "all busy"],
                [[str(i), g["unit"], g["category"], str(g["gaps"]), str(g["all_busy"])]
                 for i, g in enumerate(lists.gaps, start=1)]) if lists.gaps else ["  (none)"]
    if lists.points:
        out += ["", "积分: points per member or unit (awarded on the scope's orders; redeemed until the window's end)"]
        out += grid(["#", "resource", "kind", "unit", "awarded", "redeemed", "balance"],
                    [[str(i), p["resource"], p["kind"] or "-", p["unit"] or "-", str(p["awarded"]), str(p["redeemed"]),
                      str(p["balance"])] for i, p in enumerate(lists.points, start=1)])
    if lists.points_by_unit:
        out += ["", "积分 per co-building unit"]
        out += grid(["#", "unit", "awarded", "redeemed"],
                    [[str(i), u["unit"], str(u["awarded"]), str(u["redeemed"])]
                     for i, u in enumerate(lists.points_by_unit, start=1)])
    if lists.points_by_community:
        out += ["", "积分 per community served"]
        out += grid(["#", "community", "awarded", "redeemed", "balance"],
                    [[str(i), c["community"], str(c["awarded"]), str(c["redeemed"]), str(c["balance"])]
                     for i, c in enumerate(lists.points_by_community, start=1)])
    if lists.report_ins:
        out += ["", "社区吹哨、部门报到: report-ins per summoned unit"]
        out += grid(["#", "unit", "summoned", "in time", "missed", "rate", "p50", "p80"],
                    [[str(i), w["unit"], str(w["summoned"]), str(w["on_time"]), str(w["missed"]), pct(w["rate"]),
                      duration((w["seconds"] or {}).get("p50")), duration((w["seconds"] or {}).get("p80"))]
                     for i, w in enumerate(lists.report_ins, start=1)])
    return "\n".join(out)
