"""One matter's life, planned at once as a discrete-event simulation of its handlers.

The planner tracks where the matter is with the pipeline's own rules (entry level from the
policy and the org tree, deadlines counted from each arrival on the official calendar,
escalation to the parent unit at the breached deadline or at a whistle, nothing above the
city, rework and reopening as a new cycle at the same unit that must be accepted again).
A handler either acts comfortably before a deadline or does nothing at that level, so the
pipeline's verdict never hangs on an instant; its ground truth is therefore exact.
"""
from __future__ import annotations

import random
import zlib
from dataclasses import dataclass

from events.calendar import DAY_MS, Calendar
from events.levels import Level
from events.orgtree import OrgTree, OrgUnit
from events.policy import Policy
from gridflow.simulate import texts
from gridflow.simulate.model import NIGHT_ACCEPT_PENALTY, URGENT_ACCEPT_PENALTY, Model
from gridflow.simulate.truth import MatterTruth

MIN, HOUR = 60_000, 3_600_000
CST_MS = 8 * HOUR
ROLES = {Level.COMPOUND: "bld", Level.GRID: "grid", Level.COMMUNITY: "comm", Level.STREET: "street",
         Level.DISTRICT: "dist", Level.CITY: "city"}
PROVIDERS = {"utility_repair": ("telecom", "gas", "water"), "facility_repair": ("property",),
             "elderly_care": ("hospital",), "illegal_construction": ("urban-mgmt",)}


@dataclass(frozen=True)
class Report:
    """What the resident or grid worker reports; the planner decides the rest."""

    matter_id: str
    at: int
    category: str
    kind: str
    priority: str
    channel: str
    place: str
    reporter: str
    text: str


Action = tuple[int, str, dict]  # (at, EventFactory method, keyword arguments)


def staff(prefix: str, unit_id: str) -> str:
    """A stable pseudonymous handler id for a role at a unit."""
    return f"h-{prefix}-{zlib.crc32(unit_id.encode()) % 100_000:05d}"


class Planner:
    def __init__(self, tree: OrgTree, policy: Policy, calendar: Calendar, model: Model, rng: random.Random,
                 coverage=None):
        self.tree, self.policy, self.cal, self.model, self.rng = tree, policy, calendar, model, rng
        self.coverage = coverage  # gridflow.simulate.resources.Coverage, when the city keeps a resources list
        self.last_in_grid: dict[str, str] = {}  # grid -> latest matter reported there (for duplicates)
        self._slas: dict = {}

    # -- time ------------------------------------------------------------------------------

    def deadlines(self, level: Level, report: Report, at: int) -> tuple[int, int]:
        """Accept-by and resolve-by for an arrival at ``at``, as ``events.sla.start`` counts them."""
        key = (level, report.category, report.priority)
        sla = self._slas.get(key) or self._slas.setdefault(key, self.policy.sla(*key))
        return (self.cal.advance(at, sla.accept.amount_ms, sla.accept.basis),
                self.cal.advance(at, sla.resolve.amount_ms, sla.resolve.basis))

    def act(self, lo: int, deadline: int, *, urgent: bool, a: float = 1.2, b: float = 3.0) -> int:
        """A human action after ``lo`` and comfortably before ``deadline``; daytime when it can wait."""
        margin = min(self.model.margin_ms, (deadline - lo) // 4)
        top = deadline - margin
        if top - lo <= 2000:  # no room left: halfway, still strictly inside the window
            return lo + max(1, (deadline - lo) // 2)
        t = lo + 1000 + int((top - lo - 1000) * self.rng.betavariate(a, b))
        return t if urgent else self.daytime(t, top)

    def later(self, lo: int, least: int, most: int) -> int:
        """An action some time after ``lo`` with no deadline to respect, in the daytime."""
        t = lo + self.rng.randint(least, most)
        return self.daytime(t, t + 2 * DAY_MS)

    def daytime(self, t: int, top: int) -> int:
        hour = (t + CST_MS) % DAY_MS // HOUR
        if 7 <= hour < 22:
            return t
        day_start = (t + CST_MS) // DAY_MS * DAY_MS - CST_MS + (DAY_MS if hour >= 22 else 0)
        morning = day_start + 7 * HOUR + 30 * MIN + self.rng.randrange(90 * MIN)
        return morning if morning < top else t

    # -- the life of one matter ------------------------------------------------------------

    def plan(self, r: Report) -> tuple[list[Action], MatterTruth]:
        rng, m = self.rng, r.matter_id
        urgent = r.priority == "urgent"
        unit = self.tree.ancestor_at(r.place, self.policy.entry_level(r.category, r.priority))
        truth = MatterTruth(m, r.kind, r.category, r.priority, r.channel, r.place, r.at,
                            unit.level.label, unit.unit_id, level=unit.level.label, unit=unit.unit_id)
        out: list[Action] = [(r.at, "reported", dict(
            matter_id=m, category=r.category, kind=r.kind, priority=r.priority, channel=r.channel,
            place=r.place, reporter=r.reporter, text=r.text))]
        if self.coverage is not None and self.coverage.matched(r.category):  # candidates or a gap at routing
            truth.match = "matched" if self.coverage.serving(r.category, r.place) else "gap"
        grid = self.tree.ancestor_at(r.place, Level.GRID).unit_id
        duplicate_of = self.last_in_grid.get(grid)
        self.last_in_grid[grid] = m

        arrive, cycle = r.at, 1
        if rng.random() < self.model.cancel:
            accept_by, _ = self.deadlines(unit.level, r, arrive)
            reason = self.choose(self.model.cancel_reasons)
            if reason == "duplicate" and duplicate_of is None:
                reason = "invalid"
            out.append((self.act(arrive, accept_by, urgent=urgent), "cancelled",
                        dict(reason=reason, duplicate_of=duplicate_of if reason == "duplicate" else None)))
            truth.status, truth.cancelled_reason = "cancelled", reason
            return out, truth

        award = None  # 积分: (resource, on_time) when the order was claimed in the cycle that resolved it
        while True:  # one pass per arrival at a level
            self._claimed_by = None
            level = unit.level
            parent = self.tree.parent(unit.unit_id)
            accept_by, resolve_by = self.deadlines(level, r, arrive)
            b = self.model.behaviour_at(level, r.category)
            p_accept = b.accept - (URGENT_ACCEPT_PENALTY if urgent else 0.0)
            if accept_by - arrive <= 4 * HOUR and not 7 <= (arrive + CST_MS) % DAY_MS // HOUR < 21:
                p_accept -= NIGHT_ACCEPT_PENALTY
            # the first deadline to pass decides (a policy could make resolve_by the earlier one)
            first, missed = (accept_by, "accept") if accept_by < resolve_by else (resolve_by, "resolve")
            if rng.random() < p_accept or (parent is None and missed != "accept"):
                t = self.act(arrive, first, urgent=urgent)
            else:
                self.breach(truth, unit, cycle, missed, first)
                if parent is not None:
                    unit, arrive, cycle = self.escalate(truth, unit, parent, "breach", first, cycle)
                    continue
                t = self.act(accept_by, resolve_by, urgent=urgent)  # the city accepts late: breach recorded
            out.append((t, "accepted", dict(unit=unit.unit_id, handler=staff(ROLES[level], unit.unit_id))))
            truth.first_accepted_at = truth.first_accepted_at or t

            if parent is not None and rng.random() < b.whistle:
                reason = "beyond_authority" if rng.random() < 0.6 else "needs_help"
                t = self.act(t, resolve_by, urgent=urgent, a=1.0, b=4.0)
                out.append((t, "escalation_requested", dict(handler=staff(ROLES[level], unit.unit_id),
                                                            reason=reason, note=texts.WHISTLE_NOTE[reason])))
                unit, arrive, cycle = self.escalate(truth, unit, parent, "whistle" if reason == "needs_help"
                                                    else "authority", t, cycle)
                continue

            t, resolve_by = self.work(out, truth, r, unit, t, resolve_by, urgent)
            if rng.random() < b.resolve:
                t = self.act(t, resolve_by, urgent=urgent, a=1.5, b=2.5)
            else:
                self.breach(truth, unit, cycle, "resolve", resolve_by)
                if parent is not None:
                    unit, arrive, cycle = self.escalate(truth, unit, parent, "breach", resolve_by, cycle)
                    continue
                t = self.later(max(t, resolve_by), HOUR, 2 * DAY_MS)  # the city finishes late
            self.resolve(out, truth, unit, t)
            if self._claimed_by is not None:
                award = (self._claimed_by, t <= resolve_by)
            break

        self.after(out, truth, r, unit, t, cycle, award)
        return out, truth

    def work(self, out: list[Action], truth: MatterTruth, r: Report, unit: OrgUnit, t: int, resolve_by: int,
             urgent: bool) -> tuple[int, int]:
        """Dispatch, claim, maybe a pause: every step early in the resolve window."""
        rng, model = self.rng, self.model
        provider = PROVIDERS.get(r.category)
        p_dispatch = model.dispatch_request if r.kind == "request" else model.dispatch_incident
        nearest = self.coverage.exact(r.category, r.place) if self.coverage is not None and r.kind == "request" \
            else []
        if nearest and rng.random() < p_dispatch:
            t = self.order(out, truth, r, nearest[0], t, resolve_by, urgent)
        elif not nearest and rng.random() < p_dispatch:
            if provider:
                district = self.tree.ancestor_at(unit.unit_id, Level.DISTRICT).unit_id.removeprefix("u-")
                cb_unit = f"cb-{rng.choice(provider)}-{district}"
                handler = f"h-cb-{rng.randrange(100_000):05d}"
                t = self.act(t, resolve_by, urgent=urgent, a=1.0, b=6.0)
                out.append((t, "dispatched", dict(unit=cb_unit)))
            else:
                cb_unit, handler = None, f"h-pm-{rng.randrange(100_000):05d}"
                t = self.act(t, resolve_by, urgent=urgent, a=1.0, b=6.0)
                out.append((t, "dispatched", dict(handler=handler)))
            if rng.random() < model.claim_after_dispatch:
                t = self.act(t, resolve_by, urgent=urgent, a=1.0, b=6.0)
                out.append((t, "claimed", dict(handler=handler, unit=cb_unit)))
        if self.coverage is not None and r.kind == "incident" and unit.level <= Level.COMMUNITY \
                and rng.random() < 0.4:
            t = self.summon(out, truth, r, unit, t, resolve_by, urgent)
        if not urgent and rng.random() < model.suspend.get(r.category, 0.0):
            paused = self.act(t, resolve_by, urgent=False, a=1.0, b=5.0)
            resumed = self.later(paused, 4 * HOUR, 3 * DAY_MS)
            out.append((paused, "suspended", dict(reason=rng.choice(texts.SUSPEND))))
            out.append((resumed, "resumed", {}))
            basis = self.policy.sla(unit.level, r.category, r.priority).resolve.basis
            # what was left at the pause is left at the resume (events.sla.shift)
            resolve_by = self.cal.advance(resumed, self.cal.measure(paused, resolve_by, basis), basis)
            truth.suspended += 1
            t = resumed
        return t, resolve_by

    def order(self, out: list[Action], truth: MatterTruth, r: Report, resource, t: int, resolve_by: int,
              urgent: bool) -> int:
        """社区派单、党员接单: dispatched to the nearest resource serving the category, which claims
        it comfortably before its claim deadline (and the resolve deadline)."""
        handler = f"h-{'pm' if resource.kind == 'member' else 'cb'}-{zlib.crc32(resource.resource_id.encode()) % 100_000:05d}"
        dispatched = self.act(t, resolve_by, urgent=urgent, a=1.0, b=6.0)
        out.append((dispatched, "dispatched", dict(resource=resource.resource_id, unit=resource.unit)))
        span = self.policy.matching.claim_span(r.category)
        claim_by = self.cal.advance(dispatched, span.amount_ms, span.basis)
        claimed = self.act(dispatched, min(claim_by, resolve_by), urgent=True, a=1.0, b=6.0)
        out.append((claimed, "claimed", dict(handler=handler, unit=resource.unit, resource=resource.resource_id)))
        truth.orders.append(dict(resource=resource.resource_id, dispatched_at=dispatched, claimed_at=claimed))
        self._claimed_by = resource.resource_id
        return claimed

    def summon(self, out: list[Action], truth: MatterTruth, r: Report, unit: OrgUnit, t: int, resolve_by: int,
               urgent: bool) -> int:
        """社区吹哨、部门报到: a department is called in; it reports in before its deadline, or misses it
        while the matter is still open (the work then goes on past the deadline, so the pipeline
        sees the deadline pass)."""
        rng = self.rng
        district = self.tree.ancestor_at(unit.unit_id, Level.DISTRICT).unit_id.removeprefix("u-")
        dept = f"dept-{rng.choice(('urban', 'police', 'market', 'housing'))}-{district}"
        span = self.policy.whistle.span(r.category)
        summoned = self.act(t, resolve_by, urgent=True, a=1.0, b=8.0)
        due = self.cal.advance(summoned, span.amount_ms, span.basis)
        out.append((summoned, "summoned", dict(unit=dept, handler=staff(ROLES[unit.level], unit.unit_id))))
        margin = self.model.margin_ms
        if rng.random() < 0.75 or due + 2 * margin >= resolve_by:
            arrived = self.act(summoned, min(due, resolve_by), urgent=True, a=1.0, b=3.0)
            out.append((arrived, "reported_in", dict(unit=dept, handler=f"h-{dept}")))
            truth.summons.append(dict(unit=dept, summoned_at=summoned, due_at=due, reported_at=arrived, missed=False))
            return arrived
        truth.summons.append(dict(unit=dept, summoned_at=summoned, due_at=due, reported_at=None, missed=True))
        return due + margin  # the matter stays open past the missed deadline

    def after(self, out: list[Action], truth: MatterTruth, r: Report, unit: OrgUnit, t: int, cycle: int,
              award: tuple[str, bool] | None = None) -> None:
        """Verification (maybe one rework), the resident's feedback (maybe one reopening). 积分:
        the resource that claimed the order in the cycle verified earns its points; a rework or a
        reopening is a new cycle nobody claimed."""
        rng, model = self.rng, self.model
        verifier = staff("verify", (self.tree.parent(unit.unit_id) or unit).unit_id)
        t = self.later(t, 30 * MIN, 30 * HOUR)
        if rng.random() < model.behaviour[unit.level].fail_verification:
            out.append((t, "verification_failed", dict(verifier=verifier, reason=rng.choice(texts.FAIL))))
            truth.reworks += 1
            award = None
            t, cycle = self.again(out, truth, r, unit, t, cycle)
            t = self.later(t, 30 * MIN, 30 * HOUR)
        out.append((t, "verified", dict(verifier=verifier)))
        truth.status, truth.closed_at = "closed", t
        points = self.policy.points
        if award is not None:
            resource, on_time = award
            truth.points.append(dict(resource=resource, reason="service", points=points.for_service(r.category)
                                     + (points.on_time if on_time else 0)))
        for round_ in (1, 2):
            if rng.random() >= model.feedback:
                return
            t = self.later(t, 2 * HOUR, 3 * DAY_MS)
            contacted = rng.random() < model.contacted
            solved = contacted and (round_ == 2 or rng.random() < model.solved - 0.05 * len(truth.escalations))
            if not contacted:
                satisfaction = "basically_satisfied"
            elif solved:
                satisfaction = self.choose((("satisfied", 0.8), ("basically_satisfied", 0.17), ("unsatisfied", 0.03)))
            else:
                satisfaction = self.choose((("satisfied", 0.05), ("basically_satisfied", 0.35), ("unsatisfied", 0.6)))
            feedback = dict(contacted=contacted, solved=solved, satisfaction=satisfaction)
            out.append((t, "feedback", feedback))
            truth.feedback = feedback
            if award is not None and round_ == 1 and satisfaction == "satisfied" and points.satisfied:
                truth.points.append(dict(resource=award[0], reason="satisfied", points=points.satisfied))
            if round_ == 2 or solved or satisfaction != "unsatisfied" or rng.random() >= model.reopen_unsatisfied:
                return
            t = self.later(t, HOUR, DAY_MS)
            out.append((t, "reopened", dict(reason=rng.choice(texts.REOPEN))))
            truth.reopened += 1
            t, cycle = self.again(out, truth, r, unit, t, cycle)
            t = self.later(t, 30 * MIN, 30 * HOUR)
            out.append((t, "verified", dict(verifier=verifier)))
            truth.status, truth.closed_at = "closed", t

    def again(self, out: list[Action], truth: MatterTruth, r: Report, unit: OrgUnit, at: int,
              cycle: int) -> tuple[int, int]:
        """Rework or reopening: a new cycle at the same unit, accepted and resolved in time."""
        truth.status, cycle = "open", cycle + 1
        truth.cycles = cycle
        urgent = r.priority == "urgent"
        accept_by, resolve_by = self.deadlines(unit.level, r, at)
        t = self.act(at, accept_by, urgent=urgent)
        out.append((t, "accepted", dict(unit=unit.unit_id, handler=staff(ROLES[unit.level], unit.unit_id))))
        t = self.act(t, resolve_by, urgent=urgent, a=1.2, b=4.0)
        self.resolve(out, truth, unit, t)
        return t, cycle

    # -- bookkeeping -----------------------------------------------------------------------

    def resolve(self, out: list[Action], truth: MatterTruth, unit: OrgUnit, t: int) -> None:
        out.append((t, "resolved", dict(unit=unit.unit_id, handler=staff(ROLES[unit.level], unit.unit_id))))
        truth.status, truth.resolved_level, truth.resolved_unit, truth.resolved_at = (
            "resolved", unit.level.label, unit.unit_id, t)
        truth.first_resolved_at = truth.first_resolved_at or t

    def breach(self, truth: MatterTruth, unit: OrgUnit, cycle: int, deadline: str, at: int) -> None:
        truth.breaches.append(dict(level=unit.level.label, unit=unit.unit_id, cycle=cycle, deadline=deadline, at=at))

    def escalate(self, truth: MatterTruth, unit: OrgUnit, parent: OrgUnit, reason: str, at: int,
                 cycle: int) -> tuple[OrgUnit, int, int]:
        truth.escalations.append(dict(from_level=unit.level.label, from_unit=unit.unit_id,
                                      to_level=parent.level.label, to_unit=parent.unit_id, reason=reason,
                                      at=at, cycle=cycle + 1))
        truth.level, truth.unit, truth.cycles = parent.level.label, parent.unit_id, cycle + 1
        return parent, at, cycle + 1

    def choose(self, weighted) -> str:
        names, weights = zip(*weighted)
        return self.rng.choices(names, weights)[0]
