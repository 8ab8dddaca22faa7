"""A statistics report as data: the figures of one scope and of the units one level down.

``Figures`` holds the counts of ``projections/figures.py`` and answers every count and rate of
its catalogue as an attribute (``f.closed``, ``f.grid_rate``), so a figure added there is an
attribute here without a line of code.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from events.levels import LEVEL_NAMES
from projections.figures import CATALOGUE, Catalogue

QUANTILES = (("p50", 0.5), ("p80", 0.8), ("p95", 0.95))


@dataclass(frozen=True)
class Scope:
    """Which matters: reported under ``unit`` (any level; None: all), in [since, until) (UTC ms)."""

    unit: str | None = None
    since: int | None = None
    until: int | None = None
    categories: tuple[str, ...] = ()
    kind: str | None = None


class Figures:
    """The counts of one scope; rates and the share by level follow from them."""

    def __init__(self, unit: str = "", name: str = "", level: str = "", *, catalogue: Catalogue = CATALOGUE,
                 resolved_by_level: dict[str, int] | None = None, accept_seconds: dict[str, float] | None = None,
                 resolve_seconds: dict[str, float] | None = None, **counts: int) -> None:
        unknown = set(counts) - set(catalogue.plain_counts)
        if unknown:
            raise TypeError(f"Figures: no count named {', '.join(sorted(unknown))}")
        self.unit, self.name, self.level = unit, name, level
        self.catalogue = catalogue
        self.counts = {c: int(counts.get(c, 0)) for c in catalogue.plain_counts}
        self.resolved_by_level = dict.fromkeys(LEVEL_NAMES, 0) | (resolved_by_level or {})
        self.accept_seconds = accept_seconds  # {"p50": .., "p80": .., "p95": ..}, None when none accepted
        self.resolve_seconds = resolve_seconds

    def all_counts(self) -> dict[str, int]:
        return {**self.counts, **{f"resolved_{lv}": n for lv, n in self.resolved_by_level.items()}}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or "counts" not in self.__dict__:
            raise AttributeError(name)
        if name in self.counts:
            return self.counts[name]
        try:
            return self.catalogue.rate(name).of(self.all_counts())
        except StopIteration:
            raise AttributeError(f"Figures has no figure {name!r}") from None

    def numerator(self, rate: str) -> int:
        counts = self.all_counts()
        return sum(counts[n] for n in self.catalogue.rate(rate).numerator)

    @property
    def share_by_level(self) -> dict[str, float | None]:
        return {lv: n / self.resolved if self.resolved else None for lv, n in self.resolved_by_level.items()}

    def to_dict(self) -> dict[str, Any]:
        return {"unit": self.unit, "name": self.name, "level": self.level, **self.counts,
                "resolved_by_level": dict(self.resolved_by_level), "accept_seconds": self.accept_seconds,
                "resolve_seconds": self.resolve_seconds, "share_by_level": self.share_by_level,
                **{r.name: getattr(self, r.name) for r in self.catalogue.rates}}


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


def rank_key(f: Figures, rank_by: str) -> tuple:
    """Units with the figure first, largest first, then by matters; the unit itself last."""
    value = getattr(f, rank_by)
    return (f.unit == "", value is None, -(value or 0), -f.matters, f.unit)
