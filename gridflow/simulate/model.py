"""The simulator's knobs: what is reported (category, priority, channel, place, when) and how
handlers at each level behave (accept in time, whistle, resolve in time, fail verification;
residents' feedback). Tuned so most matters end at grid or community level and every level
misses some deadlines, as the source articles describe.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from events.levels import Level

# Category shares of all matters (incidents 60%, requests 40%). Categories of the policy not
# named here get DEFAULT_CATEGORY_WEIGHT.
CATEGORY_WEIGHTS = {
    "sanitation": 0.20, "facility_repair": 0.15, "neighbour_dispute": 0.10, "safety_hazard": 0.08,
    "illegal_construction": 0.04, "elder_fraud": 0.03,
    "elderly_care": 0.12, "document_delivery": 0.10, "utility_repair": 0.10, "micro_wish": 0.08,
}
DEFAULT_CATEGORY_WEIGHT = 0.02

PRIORITY_WEIGHTS = {  # low, normal, urgent
    "sanitation": (0.30, 0.65, 0.05), "facility_repair": (0.35, 0.55, 0.10),
    "neighbour_dispute": (0.40, 0.55, 0.05), "safety_hazard": (0.15, 0.60, 0.25),
    "illegal_construction": (0.30, 0.62, 0.08), "elder_fraud": (0.10, 0.55, 0.35),
    "elderly_care": (0.30, 0.62, 0.08), "document_delivery": (0.35, 0.65, 0.0),
    "utility_repair": (0.0, 0.80, 0.20), "micro_wish": (0.70, 0.30, 0.0),
}
DEFAULT_PRIORITY = (0.3, 0.65, 0.05)

CHANNEL_WEIGHTS = {  # app, hotline, patrol, wechat, mailbox, visit
    "incident": (0.30, 0.15, 0.30, 0.17, 0.03, 0.05),
    "request": (0.35, 0.20, 0.05, 0.20, 0.10, 0.10),
}
PATROL_AT_GRID = 0.5  # a grid worker on patrol reports at the grid half the time, else at a compound
RESIDENT_AT_GRID = 0.12

# Arrivals per hour of the day, China Standard Time: peaks in the working morning and afternoon.
HOURLY = (0.10, 0.06, 0.05, 0.05, 0.06, 0.12, 0.30, 0.70, 1.30, 2.00, 2.20, 1.80,
          0.90, 1.00, 1.80, 2.00, 1.90, 1.30, 0.90, 0.80, 0.70, 0.50, 0.30, 0.18)
WORKDAY_FACTOR, RESTDAY_FACTOR = 1.1, 0.75  # 5 x 1.1 + 2 x 0.75 = 7: the weekly mean is matters_per_day


@dataclass(frozen=True)
class Behaviour:
    """How the handlers of one level act on a matter that has just arrived there."""

    accept: float  # accepts before the accept deadline (else the level breaches and the matter climbs)
    whistle: float  # after accepting, asks the level above to take over
    resolve: float  # resolves before the resolve deadline (else it breaches and climbs)
    fail_verification: float  # the resolution is rejected once (rework at the same level)


BEHAVIOUR = {
    Level.COMPOUND: Behaviour(accept=0.96, whistle=0.05, resolve=0.93, fail_verification=0.03),
    Level.GRID: Behaviour(accept=0.97, whistle=0.03, resolve=0.95, fail_verification=0.04),
    Level.COMMUNITY: Behaviour(accept=0.97, whistle=0.03, resolve=0.95, fail_verification=0.03),
    Level.STREET: Behaviour(accept=0.98, whistle=0.02, resolve=0.96, fail_verification=0.02),
    Level.DISTRICT: Behaviour(accept=0.98, whistle=0.02, resolve=0.97, fail_verification=0.02),
    Level.CITY: Behaviour(accept=0.95, whistle=0.0, resolve=0.88, fail_verification=0.01),
}
# Categories a lower level often cannot finish on its own: whistle "beyond authority" more.
WHISTLE_BOOST = {("illegal_construction", Level.COMMUNITY): 0.20, ("safety_hazard", Level.GRID): 0.04,
                 ("utility_repair", Level.COMMUNITY): 0.03}
URGENT_ACCEPT_PENALTY = 0.03  # urgent windows are minutes: a few more accept breaches
NIGHT_ACCEPT_PENALTY = 0.08  # an arrival at night with a short accept window is missed more often


@dataclass(frozen=True)
class Model:
    """Every knob of the simulation in one frozen value (pass a modified copy to experiment)."""

    category_weights: dict = field(default_factory=lambda: dict(CATEGORY_WEIGHTS))
    behaviour: dict = field(default_factory=lambda: dict(BEHAVIOUR))
    cancel: float = 0.03  # cancelled at the entry level before anyone accepts
    cancel_reasons: tuple = (("duplicate", 0.5), ("invalid", 0.3), ("withdrawn", 0.2))
    dispatch_request: float = 0.8  # 居民点单、社区派单、党员接单
    dispatch_incident: float = 0.3
    claim_after_dispatch: float = 0.9
    suspend: dict = field(default_factory=lambda: {"utility_repair": 0.25, "illegal_construction": 0.10,
                                                   "facility_repair": 0.06})
    feedback: float = 0.97  # a return visit happens
    contacted: float = 0.95
    solved: float = 0.92
    reopen_unsatisfied: float = 0.6  # an unsolved, unsatisfied matter is reopened
    margin_ms: int = 10 * 60_000  # actions keep this far (at most a quarter of the window) from a deadline

    def behaviour_at(self, level: Level, category: str) -> Behaviour:
        base = self.behaviour[level]
        boost = WHISTLE_BOOST.get((category, level), 0.0)
        return Behaviour(base.accept, min(1.0, base.whistle + boost), base.resolve, base.fail_verification)
