"""Every figure of docs/statistics.md, defined once, as data.

A ``Count`` counts the matters of a scope that satisfy a condition on the columns of the
``matters`` view (or sums a column over them); a ``Rate`` divides counts. From these
definitions come the SQL of ``gridflow stats`` (``aggregates``), the ``unit_monthly`` view
(``projections/views.py``), the attributes of ``projections.stats.Figures``, the labels and
columns of the printed report (``projections/render.py``), and the CSV and JSON fields. A new
figure is one entry in ``FIGURES``.

The order of ``FIGURES`` is the order of the report: counts and rates each keep their relative
order in JSON and CSV, and the ones with a ``column`` make the drill-down table, left to right.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Union

from events.levels import LEVEL_NAMES


@dataclass(frozen=True)
class Count:
    name: str  # the key in JSON and CSV; the column n_<name> in SQL and unit_monthly
    where: str  # SQL condition on a row of ``matters``
    label: str  # what it counts, as a person reads it
    total: str = ""  # SQL summed over the matters that satisfy ``where``, instead of counting them
    column: str = ""  # its header in the drill-down table ("": not shown there)
    level: str = ""  # one of the six levels, for the counts kept per level (``resolved_by_level``)


@dataclass(frozen=True)
class Rate:
    name: str
    numerator: tuple[str, ...]  # counts, added up
    denominator: str  # a count
    label: str  # what the numerator counts, as a person reads it
    chinese: str = ""  # the usual name in Chinese, where there is one
    column: str = ""

    def of(self, counts: Mapping[str, int]) -> float | None:
        """The rate for these counts; None when the denominator is 0."""
        den = counts[self.denominator]
        return sum(counts[n] for n in self.numerator) / den if den else None


Figure = Union[Count, Rate]
SATISFIED = "('satisfied', 'basically_satisfied')"
GRID_OR_BELOW = ("grid", "compound")  # 小事不出网格
COMMUNITY_OR_BELOW = ("community", "grid", "compound")  # 大事不出社区
FEEDBACK = "valid AND feedback_at > 0"

FIGURES: tuple[Figure, ...] = (
    Count("matters", "1", "matters", column="matters"),
    Count("cancelled", "status = 'cancelled'", "cancelled"),
    Count("valid", "valid", "valid"),
    Count("open", "status IN ('open', 'suspended')", "open"),
    Count("resolved", "is_resolved", "resolved", column="resolved"),
    Count("closed", "is_closed", "closed"),
    Count("closed_on_time", "on_time", "closed on time"),
    Count("ever_resolved", "ever_resolved", "ever resolved"),
    Count("reworked", "ever_resolved AND reworked", "reworked"),
    Rate("grid_rate", tuple(f"resolved_{lv}" for lv in GRID_OR_BELOW), "resolved", "resolved at grid or below",
         "小事不出网格", column="≤grid"),
    Rate("community_rate", tuple(f"resolved_{lv}" for lv in COMMUNITY_OR_BELOW), "resolved",
         "resolved at community or below", "大事不出社区", column="≤comm"),
    Rate("on_time_rate", ("closed_on_time",), "closed", "closed on time", "按期结案率", column="on-time"),
    Rate("closure_rate", ("closed",), "valid", "closed", "结案率", column="closure"),
    Rate("rework_rate", ("reworked",), "ever_resolved", "reworked", "返工率", column="rework"),
    Count("escalations", "valid", "escalations", total="escalations", column="escal."),
    Count("escalated_matters", "valid AND escalations > 0", "escalated matters"),
    Count("with_feedback", FEEDBACK, "with feedback"),
    Count("contacted", f"{FEEDBACK} AND contacted = 1", "contacted"),
    Count("solved", f"{FEEDBACK} AND contacted = 1 AND solved = 1", "solved"),
    Count("satisfied", f"{FEEDBACK} AND contacted = 1 AND satisfaction IN {SATISFIED}", "satisfied"),
    Count("accepted", "valid AND accepted_at > 0", "accepted"),
    *(Count(f"resolved_{lv}", f"is_resolved AND resolved_level = '{lv}'", f"resolved at {lv}", level=lv)
      for lv in LEVEL_NAMES),
    Rate("escalation_rate", ("escalated_matters",), "valid", "escalated"),
    Rate("response_rate", ("contacted",), "with_feedback", "contacted", "响应率", column="resp."),
    Rate("resolution_rate", ("solved",), "contacted", "solved", "解决率", column="solved"),
    Rate("satisfaction_rate", ("satisfied",), "contacted", "satisfied", "满意率", column="satisf."),
)


@dataclass(frozen=True)
class Catalogue:
    """A set of figures, checked: names unique, every rate built from counts of the set."""

    figures: tuple[Figure, ...] = FIGURES

    def __post_init__(self) -> None:
        names = [f.name for f in self.figures]
        if len(set(names)) != len(names):
            raise ValueError(f"two figures share a name: {sorted(n for n in names if names.count(n) > 1)}")
        counts = {c.name for c in self.counts}
        for rate in self.rates:
            missing = {*rate.numerator, rate.denominator} - counts
            if missing:
                raise ValueError(f"rate {rate.name}: no count named {', '.join(sorted(missing))}")

    @property
    def counts(self) -> tuple[Count, ...]:
        return tuple(f for f in self.figures if isinstance(f, Count))

    @property
    def rates(self) -> tuple[Rate, ...]:
        return tuple(f for f in self.figures if isinstance(f, Rate))

    @property
    def plain_counts(self) -> tuple[str, ...]:
        """Counts that are fields of their own (the per-level ones go in ``resolved_by_level``)."""
        return tuple(c.name for c in self.counts if not c.level)

    def rate(self, name: str) -> Rate:
        return next(r for r in self.rates if r.name == name)

    def aggregates(self) -> list[str]:
        """One SQL aggregate per count, as ``n_<name>``, over rows of ``matters``."""
        out = []
        for c in self.counts:
            if c.total:
                out.append(f"sumIf({c.total}, {c.where}) AS n_{c.name}")
            else:
                out.append(f"count() AS n_{c.name}" if c.where == "1" else f"countIf({c.where}) AS n_{c.name}")
        return out

    def rate_sql(self, rate: Rate) -> str:
        """The rate over the ``n_`` columns of one row: nan when its denominator is 0."""
        num = " + ".join(f"n_{n}" for n in rate.numerator)
        num = f"({num})" if len(rate.numerator) > 1 else num
        return f"if(n_{rate.denominator} = 0, nan, {num} / n_{rate.denominator}) AS {rate.name}"


CATALOGUE = Catalogue()
