"""Routing and SLA policy: a versioned, validated YAML file.

- ``categories``: each category's kind and entry level per priority (the lowest level that
  handles it: "小事不出网格、大事不出社区").
- ``sla``: rules with optional ``level``, ``category``, ``priority``; the most specific
  matching rule wins: the one naming the most of level, category, priority; on a tie, a
  priority beats a category, which beats a level (urgent is urgent everywhere). A rule
  naming none is the default. Durations: ``30m``, ``8h``, ``2d`` (natural) or ``3wd``
  (working days on the official calendar).
- ``warn_at``: shares of the resolve time at which a warning is emitted.
- ``matching``: the resources list (三张清单): which categories are matched against it, the
  ranking rule's weights, how many candidates a proposal names, related categories that
  fit half, and the claim deadline after a dispatch naming a resource (per category).
- ``whistle``: 社区吹哨、部门报到 — ``report_within``, how long a summoned unit has to report in
  (per category, or default).
- ``points``: 积分 — points for a verified service claimed by a resource (per category), the
  on-time bonus and the satisfied-resident bonus.
- ``future_tolerance``: how far an upstream event may lie ahead of the stream clock before
  it is rejected ``from_future``: ``wall`` for the wall clock (production), ``event`` for
  event time (simulation and replay, where the clock is the newest watermark). Natural
  durations only.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from events.calendar import NATURAL, WORKING
from events.errors import PolicyError
from events.identifiers import ID_RULE, is_identifier
from events.levels import LEVEL_NAMES, Level
from events.types import KINDS, PRIORITIES

DEFAULT_PATH = Path(__file__).with_name("policy.yaml")
_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|h|d|wd)\s*$")
_UNIT_MS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "wd": 86_400_000}


@dataclass(frozen=True)
class Span:
    amount_ms: int
    basis: str  # natural | working
    text: str

    @classmethod
    def parse(cls, where: str, text: Any) -> "Span":
        match = _SPAN.match(str(text))
        if not match:
            raise PolicyError(f"{where}: expected a duration like 30m, 8h, 2d or 3wd, got {text!r}")
        amount, unit = float(match.group(1)), match.group(2)
        if amount <= 0:
            raise PolicyError(f"{where}: expected a positive duration, got {text!r}")
        return cls(int(amount * _UNIT_MS[unit]), WORKING if unit == "wd" else NATURAL, str(text).strip())


@dataclass(frozen=True)
class Sla:
    accept: Span
    resolve: Span
    warn_at: tuple[float, ...]


@dataclass(frozen=True)
class FutureTolerance:
    """How far ahead of the stream clock an upstream event may be, per kind of clock."""

    wall_ms: int = 10 * 60_000  # producers' clocks drift by seconds; ten minutes is generous
    event_ms: int = 86_400_000  # watermarks come every 15-60 simulated minutes; events run ahead

    def for_clock(self, clock: str) -> int:
        """The tolerance for ``"wall"`` or ``"event"`` time."""
        if clock not in ("wall", "event"):
            raise ValueError(f"clock: expected wall or event, got {clock!r}")
        return self.wall_ms if clock == "wall" else self.event_ms


@dataclass(frozen=True)
class Category:
    name: str
    kind: str
    entry: dict[str, Level]  # priority -> entry level


@dataclass(frozen=True)
class Matching:
    """How needs are matched with the resources list (events/matching.py applies it).

    A candidate's score is the weighted mean of four parts, each between 0 and 1: category
    fit (1 for a category the resource serves, ``related_fit`` for a related one), nearness
    (1 when a covered unit is the place itself, minus 0.2 per level between them), free
    capacity (1 - held orders / capacity) and availability at the need's time (1 or 0).
    """

    categories: frozenset[str] = frozenset()  # needs of these categories are matched
    weights: tuple[tuple[str, float], ...] = (("fit", 4.0), ("nearness", 3.0), ("load", 2.0),
                                              ("availability", 1.0))
    max_candidates: int = 5
    related: tuple[tuple[str, frozenset[str]], ...] = ()  # category -> categories that fit it half
    related_fit: float = 0.5
    claim_within: tuple[tuple[str, Span], ...] = ()  # category (or "default") -> claim deadline

    def weight(self, part: str) -> float:
        return dict(self.weights)[part]

    def related_to(self, category: str) -> frozenset[str]:
        return dict(self.related).get(category, frozenset())

    def claim_span(self, category: str) -> Span:
        spans = dict(self.claim_within)
        return spans.get(category) or spans.get("default") or _DEFAULT_CLAIM


_DEFAULT_CLAIM = Span(4 * 3_600_000, NATURAL, "4h")
WEIGHT_PARTS = ("fit", "nearness", "load", "availability")


@dataclass(frozen=True)
class Whistle:
    """社区吹哨、部门报到: how long a summoned unit has to report in, per category (or default)."""

    report_within: tuple[tuple[str, Span], ...] = ()

    def span(self, category: str) -> Span:
        spans = dict(self.report_within)
        return spans.get(category) or spans.get("default") or _DEFAULT_REPORT_IN


_DEFAULT_REPORT_IN = Span(2 * 3_600_000, NATURAL, "2h")


@dataclass(frozen=True)
class Points:
    """积分: points for a verified service claimed by a resource, per category (or default), the
    bonus when it was resolved by its deadline, and the bonus for a satisfied resident."""

    service: tuple[tuple[str, int], ...] = (("default", 10),)
    on_time: int = 5
    satisfied: int = 5

    def for_service(self, category: str) -> int:
        table = dict(self.service)
        return table.get(category, table.get("default", 0))


class Policy:
    def __init__(self, version: str, categories: dict[str, Category], rules: list[dict], warn_at: tuple[float, ...],
                 future_tolerance: FutureTolerance | None = None, matching: Matching | None = None,
                 whistle: Whistle | None = None, points: Points | None = None):
        self.version = version
        self.points = points or Points()
        self.matching = matching or Matching()
        self.whistle = whistle or Whistle()
        self.categories = categories
        self._rules = rules
        self.warn_at = warn_at
        self.future_tolerance = future_tolerance or FutureTolerance()
        self._sla_cache: dict[tuple[Level, str, str], Sla] = {}  # the rules never change: look each key up once

    def category(self, name: str) -> Category:
        try:
            return self.categories[name]
        except KeyError:
            raise PolicyError(f"category: expected one of {', '.join(sorted(self.categories))}, got {name!r}") from None

    def entry_level(self, category: str, priority: str) -> Level:
        return self.category(category).entry[priority]

    def sla(self, level: Level, category: str, priority: str) -> Sla:
        found = self._sla_cache.get((level, category, priority))
        if found is None:
            found = self._sla_cache[(level, category, priority)] = self._lookup(level, category, priority)
        return found

    def _lookup(self, level: Level, category: str, priority: str) -> Sla:
        key = {"level": level.label, "category": category, "priority": priority}
        best, best_rank = None, -1
        for rule in self._rules:
            if all(rule.get(k) in (None, v) for k, v in key.items()):
                named = [k in rule for k in ("level", "category", "priority")]
                rank = 10 * sum(named) + named[0] + 2 * named[1] + 4 * named[2]
                if rank > best_rank:
                    best, best_rank = rule, rank
        if best is None:  # unreachable: load() insists on a default rule
            raise PolicyError(f"no SLA rule for {key}")
        return Sla(best["accept"], best["resolve"], tuple(best.get("warn_at", self.warn_at)))


def load(path: str | Path | None = None) -> Policy:
    path = Path(path) if path else DEFAULT_PATH
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError(f"{path}: cannot read the policy: {exc}") from None
    return parse(raw, str(path))


def parse(raw: Any, source: str = "policy") -> Policy:
    if not isinstance(raw, dict):
        raise PolicyError(f"{source}: expected a map with version, categories, sla")
    version = raw.get("version")
    if not isinstance(version, (str, int, float)) or not str(version).strip():
        raise PolicyError(f"{source}: version: expected a non-empty version string, got {version!r}")
    warn_at = _warn(f"{source}: warn_at", raw.get("warn_at", [0.5, 0.8]))
    categories = {}
    cats = raw.get("categories")
    if not isinstance(cats, dict) or not cats:
        raise PolicyError(f"{source}: categories: expected a non-empty map")
    for name, body in cats.items():
        where = f"{source}: categories.{name}"
        if not is_identifier(name):  # a category is vocabulary events carry and analysts group by
            raise PolicyError(f"{where}: expected a category name that is {ID_RULE}")
        if not isinstance(body, dict):
            raise PolicyError(f"{where}: expected a map with kind and entry")
        if body.get("kind") not in KINDS:
            raise PolicyError(f"{where}.kind: expected one of {', '.join(KINDS)}, got {body.get('kind')!r}")
        entry = body.get("entry")
        if isinstance(entry, str):
            entry = {p: entry for p in PRIORITIES}
        if not isinstance(entry, dict) or set(entry) != set(PRIORITIES):
            raise PolicyError(f"{where}.entry: expected a level, or a level for each of {', '.join(PRIORITIES)}")
        categories[name] = Category(name, body["kind"], {p: _level(f"{where}.entry.{p}", lv) for p, lv in entry.items()})
    rules = []
    sla = raw.get("sla")
    if not isinstance(sla, list) or not sla:
        raise PolicyError(f"{source}: sla: expected a list of rules")
    for i, body in enumerate(sla):
        where = f"{source}: sla[{i}]"
        if not isinstance(body, dict):
            raise PolicyError(f"{where}: expected a map")
        unknown = set(body) - {"level", "category", "priority", "accept", "resolve", "warn_at"}
        if unknown:
            raise PolicyError(f"{where}: unknown key {sorted(unknown)[0]!r}")
        rule: dict[str, Any] = {}
        if "level" in body:
            rule["level"] = _level(f"{where}.level", body["level"]).label
        if "category" in body:
            if body["category"] not in categories:
                raise PolicyError(f"{where}.category: expected a declared category, got {body['category']!r}")
            rule["category"] = body["category"]
        if "priority" in body:
            if body["priority"] not in PRIORITIES:
                raise PolicyError(f"{where}.priority: expected one of {', '.join(PRIORITIES)}, got {body['priority']!r}")
            rule["priority"] = body["priority"]
        for key in ("accept", "resolve"):
            if key not in body:
                raise PolicyError(f"{where}.{key}: required")
            rule[key] = Span.parse(f"{where}.{key}", body[key])
        if "warn_at" in body:
            rule["warn_at"] = _warn(f"{where}.warn_at", body["warn_at"])
        rules.append(rule)
    if not any(set(r) <= {"accept", "resolve", "warn_at"} for r in rules):
        raise PolicyError(f"{source}: sla: expected a default rule (no level, category or priority)")
    return Policy(str(version), categories, rules, warn_at, _future(f"{source}: future_tolerance",
                                                                     raw.get("future_tolerance", {})),
                  _matching(f"{source}: matching", raw.get("matching", {}), categories),
                  _whistle(f"{source}: whistle", raw.get("whistle", {}), categories),
                  _points(f"{source}: points", raw.get("points", {}), categories))


def _points(where: str, value: Any, categories: dict[str, Category]) -> Points:
    if not isinstance(value, dict) or set(value) - {"service", "on_time", "satisfied"}:
        raise PolicyError(f"{where}: expected a map with service, on_time, satisfied")

    def count(at: str, n: Any) -> int:
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 1_000_000:
            raise PolicyError(f"{at}: expected a whole number of points from 0 to 1000000, got {n!r}")
        return n

    service = value.get("service", {"default": 10})
    if isinstance(service, int) and not isinstance(service, bool):
        service = {"default": service}
    if not isinstance(service, dict):
        raise PolicyError(f"{where}.service: expected points, or a map of category (or default) to points")
    table = []
    for name, n in service.items():
        if name != "default" and name not in categories:
            raise PolicyError(f"{where}.service: expected a declared category or default, got {name!r}")
        table.append((name, count(f"{where}.service.{name}", n)))
    return Points(tuple(sorted(table)), count(f"{where}.on_time", value.get("on_time", 5)),
                  count(f"{where}.satisfied", value.get("satisfied", 5)))


def _whistle(where: str, value: Any, categories: dict[str, Category]) -> Whistle:
    if not isinstance(value, dict) or set(value) - {"report_within"}:
        raise PolicyError(f"{where}: expected a map with report_within")
    within = value.get("report_within", {})
    if isinstance(within, (str, int, float)):
        within = {"default": within}
    if not isinstance(within, dict):
        raise PolicyError(f"{where}.report_within: expected a duration, or a map of category (or default) to one")
    spans = []
    for name, text in within.items():
        if name != "default" and name not in categories:
            raise PolicyError(f"{where}.report_within: expected a declared category or default, got {name!r}")
        spans.append((name, Span.parse(f"{where}.report_within.{name}", text)))
    return Whistle(tuple(sorted(spans)))


def _matching(where: str, value: Any, categories: dict[str, Category]) -> Matching:
    known = {"categories", "weights", "max_candidates", "related", "related_fit", "claim_within"}
    if not isinstance(value, dict) or set(value) - known:
        extra = sorted(set(value) - known) if isinstance(value, dict) else []
        raise PolicyError(f"{where}: expected a map with {', '.join(sorted(known))}"
                          + (f"; unknown key {extra[0]!r}" if extra else ""))

    def category(at: str, name: Any) -> str:
        if name not in categories:
            raise PolicyError(f"{at}: expected a declared category, got {name!r}")
        return name

    names = value.get("categories", [])
    if not isinstance(names, list):
        raise PolicyError(f"{where}.categories: expected a list of categories")
    matched = frozenset(category(f"{where}.categories[{i}]", n) for i, n in enumerate(names))
    weights = dict(Matching().weights)
    given = value.get("weights", {})
    if not isinstance(given, dict) or set(given) - set(WEIGHT_PARTS):
        raise PolicyError(f"{where}.weights: expected a map with some of {', '.join(WEIGHT_PARTS)}")
    for part, w in given.items():
        if isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0:
            raise PolicyError(f"{where}.weights.{part}: expected a number at least 0, got {w!r}")
        weights[part] = float(w)
    if sum(weights.values()) <= 0:
        raise PolicyError(f"{where}.weights: expected at least one weight above 0")
    most = value.get("max_candidates", 5)
    if isinstance(most, bool) or not isinstance(most, int) or not 1 <= most <= 64:
        raise PolicyError(f"{where}.max_candidates: expected an integer from 1 to 64, got {most!r}")
    related = value.get("related", {})
    if not isinstance(related, dict):
        raise PolicyError(f"{where}.related: expected a map of category to a list of categories")
    pairs = []
    for name, others in related.items():
        if not isinstance(others, list):
            raise PolicyError(f"{where}.related.{name}: expected a list of categories")
        pairs.append((category(f"{where}.related", name),
                      frozenset(category(f"{where}.related.{name}", o) for o in others)))
    fit = value.get("related_fit", 0.5)
    if isinstance(fit, bool) or not isinstance(fit, (int, float)) or not 0 <= fit <= 1:
        raise PolicyError(f"{where}.related_fit: expected a number between 0 and 1, got {fit!r}")
    claim = value.get("claim_within", {})
    if isinstance(claim, (str, int, float)):
        claim = {"default": claim}
    if not isinstance(claim, dict):
        raise PolicyError(f"{where}.claim_within: expected a duration, or a map of category (or default) to one")
    spans = []
    for name, text in claim.items():
        if name != "default":
            category(f"{where}.claim_within", name)
        spans.append((name, Span.parse(f"{where}.claim_within.{name}", text)))
    return Matching(matched, tuple((p, weights[p]) for p in WEIGHT_PARTS), most, tuple(sorted(pairs)),
                    float(fit), tuple(sorted(spans)))


def _future(where: str, value: Any) -> FutureTolerance:
    if not isinstance(value, dict) or set(value) - {"wall", "event"}:
        raise PolicyError(f"{where}: expected a map with wall and event durations, e.g. {{wall: 10m, event: 1d}}")
    spans = {}
    for clock in ("wall", "event"):
        if clock in value:
            span = Span.parse(f"{where}.{clock}", value[clock])
            if span.basis != NATURAL:
                raise PolicyError(f"{where}.{clock}: expected natural time (m, h, d), got {span.text!r}")
            spans[f"{clock}_ms"] = span.amount_ms
    return FutureTolerance(**spans)


def _level(where: str, value: Any) -> Level:
    if value not in LEVEL_NAMES:
        raise PolicyError(f"{where}: expected one of {', '.join(LEVEL_NAMES)}, got {value!r}")
    return Level.parse(value)


def _warn(where: str, value: Any) -> tuple[float, ...]:
    if not isinstance(value, list) or not all(isinstance(v, (int, float)) and 0 < v < 1 for v in value):
        raise PolicyError(f"{where}: expected a list of shares between 0 and 1, got {value!r}")
    return tuple(sorted(float(v) for v in value))
