"""The statistics analysts ask for, for any org unit at any level, time window (by report
time), category and kind. Definitions: docs/statistics.md. Every figure is read from the
rows of the ``matters`` view (one per matter, duplicates already harmless), merged for the
matters in scope only, and from ``events``."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from events.levels import LEVEL_NAMES, Level
from projections.errors import ProjectionError
from projections.matters import matters_sql
from projections.store import Store, lit

QUANTILES = (0.5, 0.8, 0.95)
GRID_OR_BELOW = ("grid", "compound")  # 小事不出网格
COMMUNITY_OR_BELOW = ("community", "grid", "compound")  # 大事不出社区
SATISFIED = ("satisfied", "basically_satisfied")

COUNTS = ("matters", "cancelled", "valid", "open", "resolved", "closed", "closed_on_time", "ever_resolved",
          "reworked", "escalations", "escalated_matters", "with_feedback", "contacted", "solved", "satisfied",
          "accepted")
RATES = ("grid_rate", "community_rate", "on_time_rate", "closure_rate", "rework_rate", "escalation_rate",
         "response_rate", "resolution_rate", "satisfaction_rate")


@dataclass(frozen=True)
class Scope:
    """Which matters: reported under ``unit`` (any level; None: all), in [since, until) (UTC ms)."""

    unit: str | None = None
    since: int | None = None
    until: int | None = None
    categories: tuple[str, ...] = ()
    kind: str | None = None


@dataclass
class Figures:
    unit: str
    name: str = ""
    level: str = ""
    matters: int = 0
    cancelled: int = 0
    valid: int = 0
    open: int = 0
    resolved: int = 0
    closed: int = 0
    closed_on_time: int = 0
    ever_resolved: int = 0
    reworked: int = 0
    escalations: int = 0
    escalated_matters: int = 0
    with_feedback: int = 0
    contacted: int = 0
    solved: int = 0
    satisfied: int = 0
    accepted: int = 0
    resolved_by_level: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LEVEL_NAMES, 0))
    accept_seconds: dict[str, float] | None = None  # {"p50": .., "p80": .., "p95": ..}
    resolve_seconds: dict[str, float] | None = None

    @staticmethod
    def _rate(num: int, den: int) -> float | None:
        return num / den if den else None

    @property
    def share_by_level(self) -> dict[str, float | None]:
        return {lv: self._rate(n, self.resolved) for lv, n in self.resolved_by_level.items()}

    @property
    def grid_rate(self):  # 小事不出网格
        return self._rate(sum(self.resolved_by_level[lv] for lv in GRID_OR_BELOW), self.resolved)

    @property
    def community_rate(self):  # 大事不出社区
        return self._rate(sum(self.resolved_by_level[lv] for lv in COMMUNITY_OR_BELOW), self.resolved)

    @property
    def on_time_rate(self):  # 按期结案率
        return self._rate(self.closed_on_time, self.closed)

    @property
    def closure_rate(self):  # 结案率
        return self._rate(self.closed, self.valid)

    @property
    def rework_rate(self):  # 返工率
        return self._rate(self.reworked, self.ever_resolved)

    @property
    def escalation_rate(self):
        return self._rate(self.escalated_matters, self.valid)

    @property
    def response_rate(self):  # 响应率
        return self._rate(self.contacted, self.with_feedback)

    @property
    def resolution_rate(self):  # 解决率
        return self._rate(self.solved, self.contacted)

    @property
    def satisfaction_rate(self):  # 满意率
        return self._rate(self.satisfied, self.contacted)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["share_by_level"] = self.share_by_level
        out.update({r: getattr(self, r) for r in RATES})
        return out


@dataclass
class Report:
    scope: Scope
    total: Figures
    escalations_by_level: dict[str, int]
    children: list[Figures]
    child_level: str | None
    rank_by: str

    def to_dict(self) -> dict[str, Any]:
        return {"scope": asdict(self.scope), "total": self.total.to_dict(),
                "escalations_by_level": self.escalations_by_level, "child_level": self.child_level,
                "rank_by": self.rank_by, "children": [c.to_dict() for c in self.children]}


def _figures_sql(db: str, group: str, where: str, matters: str, rollup: bool) -> str:
    # Result names carry a prefix: ClickHouse 18.16 resolves a name to a same-named alias of
    # the SELECT before the column, which would nest one aggregate in another.
    by_level = ",\n".join(f"  countIf(is_resolved AND resolved_level = {lit(lv)}) AS n_resolved_{lv}"
                          for lv in LEVEL_NAMES)
    q = ", ".join(str(x) for x in QUANTILES)
    return f"""
SELECT
  {group} AS grp,
  count() AS n_matters,
  countIf(status = 'cancelled') AS n_cancelled,
  countIf(valid) AS n_valid,
  countIf(status IN ('open', 'suspended')) AS n_open,
  countIf(is_resolved) AS n_resolved,
  countIf(is_closed) AS n_closed,
  countIf(on_time) AS n_closed_on_time,
  countIf(ever_resolved) AS n_ever_resolved,
  countIf(ever_resolved AND reworked) AS n_reworked,
  sumIf(escalations, valid) AS n_escalations,
  countIf(valid AND escalations > 0) AS n_escalated_matters,
  countIf(valid AND feedback_at > 0) AS n_with_feedback,
  countIf(valid AND feedback_at > 0 AND contacted = 1) AS n_contacted,
  countIf(valid AND feedback_at > 0 AND contacted = 1 AND solved = 1) AS n_solved,
  countIf(valid AND feedback_at > 0 AND contacted = 1 AND satisfaction IN {lit(SATISFIED)}) AS n_satisfied,
  countIf(valid AND accepted_at > 0) AS n_accepted,
{by_level},
  quantilesExactIf({q})(accept_seconds, valid AND accepted_at > 0) AS q_accept,
  quantilesExactIf({q})(resolve_seconds, is_resolved) AS q_resolve
FROM ({matters})
WHERE {where}
GROUP BY grp{" WITH ROLLUP" if rollup else ""}
"""


def _where(scope: Scope, unit_level: Level | None) -> str:
    """The definition of the scope, on the columns of ``matters``."""
    cond = ["reported_at > 0"]
    if scope.unit is not None and unit_level is not None:
        cond.append(f"l{int(unit_level)} = {lit(scope.unit)}")
    if scope.since is not None:
        cond.append(f"reported_at >= {int(scope.since)}")
    if scope.until is not None:
        cond.append(f"reported_at < {int(scope.until)}")
    if scope.categories:
        cond.append(f"category IN {lit(tuple(scope.categories))}")
    if scope.kind:
        cond.append(f"kind = {lit(scope.kind)}")
    return " AND ".join(cond)


def _scope_ids(db: str, scope: Scope, unit_level: Level | None) -> str:
    """The same scope as matter ids, from the ``reported`` events: cheap to compute, and it
    lets the per-matter states be merged for these matters only."""
    cond = ["type = 'reported'"]
    if scope.unit is not None and unit_level is not None:
        cond.append(f"place IN (SELECT unit_id FROM {db}.org_units FINAL WHERE l{int(unit_level)} = {lit(scope.unit)})")
    if scope.since is not None:
        cond.append(f"occurred_at >= {int(scope.since)}")
    if scope.until is not None:
        cond.append(f"occurred_at < {int(scope.until)}")
    if scope.categories:
        cond.append(f"category IN {lit(tuple(scope.categories))}")
    if scope.kind:
        cond.append(f"kind = {lit(scope.kind)}")
    return f"SELECT matter_id FROM {db}.events WHERE {' AND '.join(cond)}"


def _to_figures(row: dict[str, Any]) -> Figures:
    f = Figures(unit=row["grp"], **{c: int(row[f"n_{c}"]) for c in COUNTS})
    f.resolved_by_level = {lv: int(row[f"n_resolved_{lv}"]) for lv in LEVEL_NAMES}
    if f.accepted:
        f.accept_seconds = dict(zip(("p50", "p80", "p95"), (float(x) for x in row["q_accept"])))
    if f.resolved:
        f.resolve_seconds = dict(zip(("p50", "p80", "p95"), (float(x) for x in row["q_resolve"])))
    return f


def unit_info(store: Store, unit_id: str) -> tuple[Level, str]:
    rows = store.query(f"SELECT argMax(level, version), argMax(name, version) FROM {store.table('org_units')} "
                       f"WHERE unit_id = %(u)s GROUP BY unit_id", {"u": unit_id})
    if not rows:
        raise ProjectionError(f"unknown org unit {unit_id!r}: not in {store.database}.org_units "
                              "(load the tree with `gridflow migrate --org FILE`)")
    return Level(int(rows[0][0])), rows[0][1]


def compute(store: Store, scope: Scope = Scope(), *, drill: bool = True, rank_by: str = "grid_rate") -> Report:
    """The figures for the scope, the escalations by level, and the next level down, ranked."""
    if rank_by not in RATES + COUNTS:
        raise ProjectionError(f"rank_by: expected one of {', '.join(RATES + COUNTS)}, got {rank_by!r}")
    db = store.database
    level, name = (unit_info(store, scope.unit) if scope.unit else (None, "all units"))
    where = _where(scope, level)
    ids = _scope_ids(db, scope, level)
    filtered = scope.unit or scope.since is not None or scope.until is not None or scope.categories or scope.kind
    matters = matters_sql(db, ids if filtered else None)
    child = None
    if drill and (level is None or level < Level.COMPOUND):
        child = Level.CITY if level is None else Level(level + 1)
    # One pass: with a drill-down, children are grouped by '>' + their id and the ROLLUP row
    # (grp = '') is the total; the marker keeps "reported at the unit itself" apart from it.
    group = f"concat('>', l{int(child)})" if child else "''"
    rows = store.query_dicts(_figures_sql(db, group, where, matters, rollup=child is not None))
    total_row = [r for r in rows if r["grp"] == ""]
    total = _to_figures(total_row[0]) if total_row else Figures(unit="")
    total.unit, total.name, total.level = scope.unit or "", name, level.label if level else ""
    esc = store.query(f"SELECT from_level, uniqExact(event_id) FROM {db}.events WHERE type = 'escalated' "
                      f"AND matter_id IN ({ids}) "
                      f"AND matter_id NOT IN (SELECT matter_id FROM {db}.events WHERE type = 'cancelled') "
                      f"GROUP BY from_level")
    escalations_by_level = {lv: 0 for lv in LEVEL_NAMES if lv != "city"}
    escalations_by_level.update({lv: int(n) for lv, n in esc})
    children: list[Figures] = []
    if child is not None:
        children = [_to_figures(dict(r, grp=r["grp"][1:])) for r in rows if r["grp"] != ""]
        _name(store, children, child, "(reported at the unit itself)" if scope.unit else "(place not in the org tree)")
        children.sort(key=lambda f: _rank_key(f, rank_by))
    return Report(scope, total, escalations_by_level, children, child.label if child else None, rank_by)


def _name(store: Store, figures: list[Figures], child: Level, blank: str) -> None:
    ids = [f.unit for f in figures if f.unit]
    names = dict(store.query(f"SELECT unit_id, argMax(name, version) FROM {store.table('org_units')} "
                             f"WHERE unit_id IN %(ids)s GROUP BY unit_id", {"ids": ids})) if ids else {}
    for f in figures:
        f.level = child.label if f.unit else ""
        f.name = names.get(f.unit, "") if f.unit else blank


def _rank_key(f: Figures, rank_by: str):
    value = getattr(f, rank_by)
    return (f.unit == "", value is None, -(value or 0), -f.matters, f.unit)
