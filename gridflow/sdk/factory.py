"""Build valid upstream events without sending them: the pure half of the SDK.

Every method checks the event with ``events.validation.validate`` (the same rules the
intake applies) and raises ``events.ValidationError`` naming the field, so a bad call
fails where it is made. The simulator uses this factory to plan a stream without Kafka.
"""
from __future__ import annotations

import time
import uuid
from datetime import datetime
from typing import Callable

from events import ValidationError
from events.policy import Policy
from events.types import (REGISTRY, UPSTREAM_TYPES, EscalationRequested, Event, FeedbackGiven, MatterAccepted, MatterCancelled,
                          MatterClaimed, MatterDispatched, MatterReopened, MatterReported, MatterResolved,
                          MatterResumed, MatterSuspended, MatterVerified, VerificationFailed, Watermark, ms)
from events.validation import validate

When = int | datetime | None


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def new_id() -> str:
    return str(uuid.uuid4())


def new_matter_id() -> str:
    return f"m-{uuid.uuid4().hex}"


def to_millis(at: When, clock: Callable[[], int] = now_ms) -> int:
    """None -> the clock; an aware datetime -> UTC epoch ms; an int is taken as epoch ms."""
    if at is None:
        return clock()
    if isinstance(at, datetime):
        try:
            return ms(at)
        except ValueError:
            raise ValidationError("at", "a timezone-aware datetime", at) from None
    return at  # validation checks the range and the type


def check_upstream_type(type_name: object) -> None:
    """Only upstream types may be published; the pipeline derives the others itself. An
    unknown type is refused with the same list (not every type the log may hold)."""
    if not isinstance(type_name, str):
        return  # validation names what a type must be
    cls = REGISTRY.get(type_name)
    if cls is None or cls.DERIVED or cls.INTERNAL:
        raise ValidationError("type", "an upstream event type: " + ", ".join(UPSTREAM_TYPES), type_name)


def check_upstream(event: Event) -> Event:
    check_upstream_type(event.TYPE)
    return validate(event)


class EventFactory:
    """Typed constructors for every upstream event.

    ``producer`` names the app. ``policy`` (optional) lets ``reported`` fill in the kind and
    refuse categories the routing policy does not know. ``clock`` and ``ids`` are injectable
    for tests and simulations.
    """

    def __init__(self, producer: str, *, policy: Policy | None = None,
                 clock: Callable[[], int] = now_ms, ids: Callable[[], str] = new_id,
                 clock_id: str | None = None) -> None:
        self.producer = producer
        self.policy = policy
        self.clock = clock
        self.ids = ids
        self.clock_id = clock_id or f"clock-{producer}"

    def _make(self, cls: type[Event], matter_id: str, at: When, event_id: str | None, **data) -> Event:
        event = cls(event_id=self.ids() if event_id is None else event_id, matter_id=matter_id,
                    occurred_at=to_millis(at, self.clock), producer=self.producer, **data)
        return check_upstream(event)

    def reported(self, *, category: str, place: str, reporter: str, text: str, priority: str = "normal",
                 channel: str = "app", kind: str | None = None, matter_id: str | None = None,
                 at: When = None, event_id: str | None = None) -> MatterReported:
        if self.policy is not None:
            known = self.policy.categories.get(category)
            if known is None:
                raise ValidationError("data.category", "a category of policy " + self.policy.version
                                      + ": " + ", ".join(sorted(self.policy.categories)), category)
            if kind is None:
                kind = known.kind
            elif kind != known.kind:
                raise ValidationError("data.kind", f"{known.kind!r} (the kind of {category!r})", kind)
        return self._make(MatterReported, matter_id or new_matter_id(), at, event_id, kind=kind,
                          category=category, priority=priority, channel=channel, place=place,
                          reporter=reporter, text=text)

    def accepted(self, matter_id: str, *, unit: str, handler: str, at: When = None,
                 event_id: str | None = None) -> MatterAccepted:
        return self._make(MatterAccepted, matter_id, at, event_id, unit=unit, handler=handler)

    def dispatched(self, matter_id: str, *, unit: str | None = None, handler: str | None = None,
                   resource: str | None = None, at: When = None, event_id: str | None = None) -> MatterDispatched:
        return self._make(MatterDispatched, matter_id, at, event_id, unit=unit, handler=handler, resource=resource)

    def claimed(self, matter_id: str, *, handler: str, unit: str | None = None, resource: str | None = None,
                at: When = None, event_id: str | None = None) -> MatterClaimed:
        return self._make(MatterClaimed, matter_id, at, event_id, handler=handler, unit=unit, resource=resource)

    def summoned(self, matter_id: str, *, unit: str, handler: str, at: When = None,
                 event_id: str | None = None) -> Event:
        """社区吹哨: ``unit`` is called in on the matter and must report in by its deadline."""
        from events.types import UnitSummoned

        return self._make(UnitSummoned, matter_id, at, event_id, unit=unit, handler=handler)

    def reported_in(self, matter_id: str, *, unit: str, handler: str, at: When = None,
                    event_id: str | None = None) -> Event:
        """部门报到: a summoned unit reports for duty on the matter."""
        from events.types import UnitReportedIn

        return self._make(UnitReportedIn, matter_id, at, event_id, unit=unit, handler=handler)

    def points_redeemed(self, resource_id: str, *, points: int, note: str | None = None, at: When = None,
                        event_id: str | None = None) -> Event:
        """积分兑换: a member or unit spends points; keyed by its resource id."""
        from events.types import PointsRedeemed

        return self._make(PointsRedeemed, resource_id, at, event_id, points=points, note=note)

    def resource_registered(self, resource_id: str, *, kind: str, categories: list[str], covers: list[str],
                            capacity: int, availability: list[str] | None = None, unit: str | None = None,
                            at: When = None, event_id: str | None = None) -> Event:
        """A resource joins the resources list; ``resource_id`` is its key (events.md, "The resources list")."""
        from events.types import ResourceRegistered

        return self._make(ResourceRegistered, resource_id, at, event_id, kind=kind, categories=list(categories),
                          covers=list(covers), capacity=capacity, availability=availability, unit=unit)

    def suspended(self, matter_id: str, *, reason: str, at: When = None,
                  event_id: str | None = None) -> MatterSuspended:
        return self._make(MatterSuspended, matter_id, at, event_id, reason=reason)

    def resumed(self, matter_id: str, *, at: When = None, event_id: str | None = None) -> MatterResumed:
        return self._make(MatterResumed, matter_id, at, event_id)

    def resolved(self, matter_id: str, *, unit: str, handler: str, level: str | None = None,
                 at: When = None, event_id: str | None = None) -> MatterResolved:
        return self._make(MatterResolved, matter_id, at, event_id, unit=unit, handler=handler, level=level)

    def verified(self, matter_id: str, *, verifier: str, at: When = None,
                 event_id: str | None = None) -> MatterVerified:
        return self._make(MatterVerified, matter_id, at, event_id, verifier=verifier)

    def verification_failed(self, matter_id: str, *, verifier: str, reason: str, at: When = None,
                            event_id: str | None = None) -> VerificationFailed:
        return self._make(VerificationFailed, matter_id, at, event_id, verifier=verifier, reason=reason)

    def feedback(self, matter_id: str, *, contacted: bool, solved: bool, satisfaction: str,
                 at: When = None, event_id: str | None = None) -> FeedbackGiven:
        return self._make(FeedbackGiven, matter_id, at, event_id, contacted=contacted, solved=solved,
                          satisfaction=satisfaction)

    def reopened(self, matter_id: str, *, reason: str, at: When = None,
                 event_id: str | None = None) -> MatterReopened:
        return self._make(MatterReopened, matter_id, at, event_id, reason=reason)

    def cancelled(self, matter_id: str, *, reason: str, duplicate_of: str | None = None, at: When = None,
                  event_id: str | None = None) -> MatterCancelled:
        return self._make(MatterCancelled, matter_id, at, event_id, reason=reason, duplicate_of=duplicate_of)

    def escalation_requested(self, matter_id: str, *, handler: str, reason: str, note: str | None = None,
                             at: When = None, event_id: str | None = None) -> EscalationRequested:
        return self._make(EscalationRequested, matter_id, at, event_id, handler=handler, reason=reason, note=note)

    def watermark(self, at: When, *, clock_id: str | None = None, event_id: str | None = None) -> Watermark:
        """Event time has reached ``at`` for this producer's clock (simulation and replay)."""
        return self._make(Watermark, clock_id or self.clock_id, at, event_id)
