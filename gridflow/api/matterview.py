"""What the API knows of one matter, folded from the event log: a pure function per event.

A view keeps only what the status API shows — the service, the place, the unit and level
holding the matter, its step, the current deadlines, the escalations and breaches — and a
few digests for idempotency; never the text or the reporter. Packed (``pack``), it takes
about 150 bytes, so a million matters fit in a few hundred MB.

The log is at-least-once and a replayed stretch repeats events in their order, so every
step is idempotent: escalations and breaches are kept once per (cycle) and (cycle, deadline),
times only move forward."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from events import codec
from gridflow.api.idempotency import content_digest, id_digest, is_keyed

KEYED_MAX = 32  # idempotency digests kept per matter, as the worker keeps its last 32 event ids
STEPS = {"accepted": "accepted", "dispatched": "dispatched", "claimed": "claimed", "resolved": "resolved",
         "verified": "closed", "verification_failed": "new", "reopened": "new", "cancelled": "cancelled"}
IGNORED = frozenset({"sla_warning"})  # says nothing the view shows; the most frequent derived event


@dataclass(slots=True)
class MatterView:
    matter_id: str
    category: str = ""
    priority: str = "normal"
    place: str = ""
    requested_at: int = 0
    updated_at: int = 0
    state: str = "reported"  # reported (not routed yet), new, accepted, dispatched, claimed, resolved, closed, cancelled
    suspended: bool = False
    unit: str | None = None
    level: str | None = None
    cycle: int = 0
    accept_by: int = 0
    resolve_by: int = 0
    resolved_level: str | None = None
    cancel_reason: str | None = None
    escalations: list = field(default_factory=list)  # [cycle, from_level, from_unit, to_level, to_unit, reason, at]
    breaches: list = field(default_factory=list)  # [cycle, level, unit, deadline, due_at]
    report_digest: bytes = b""
    keyed: list = field(default_factory=list)  # [id digest, content digest] of events posted with a key

    @property
    def closed(self) -> bool:
        return self.state in ("resolved", "closed", "cancelled")

    def pack(self) -> bytes:
        return codec.pack([self.category, self.priority, self.place, self.requested_at, self.updated_at, self.state,
                           self.suspended, self.unit, self.level, self.cycle, self.accept_by, self.resolve_by,
                           self.resolved_level, self.cancel_reason, self.escalations, self.breaches,
                           self.report_digest, self.keyed])

    @classmethod
    def unpack(cls, matter_id: str, data: bytes) -> "MatterView":
        return cls(matter_id, *codec.unpack(data))


def apply(view: MatterView | None, record: dict[str, Any]) -> MatterView | None:
    """The view after one event of the log (a wire map, trusted: the worker wrote it)."""
    type_name = record["type"]
    if type_name in IGNORED:
        return view
    data, at = record.get("data") or {}, record["at"]
    if view is None:
        view = MatterView(record["matter"], requested_at=at)
    view.updated_at = max(view.updated_at, at)
    if type_name == "reported":
        view.category, view.priority, view.place = data["category"], data["priority"], data["place"]
        view.requested_at, view.report_digest = at, content_digest("reported", data)
    elif type_name == "routed":
        view.unit, view.level = data["unit"], data["level"]
        if view.state == "reported":
            view.state = "new"
    elif type_name == "sla_started":
        view.unit, view.level, view.cycle = data["unit"], data["level"], data["cycle"]
        view.accept_by, view.resolve_by = data["accept_by"], data["resolve_by"]
        if data["reason"] == "resumed":
            view.suspended = False
        else:  # an arrival: routed, escalated, reworked or reopened; the level must accept it again
            view.state = "new"
    elif type_name == "escalated":
        if all(e[0] != data["cycle"] for e in view.escalations):
            view.escalations.append([data["cycle"], data["from_level"], data["from_unit"], data["to_level"],
                                     data["to_unit"], data["reason"], at])
        view.unit, view.level, view.cycle, view.state = data["to_unit"], data["to_level"], data["cycle"], "new"
    elif type_name == "sla_breached":
        if all((b[0], b[3]) != (data["cycle"], data["deadline"]) for b in view.breaches):
            view.breaches.append([data["cycle"], data["level"], data["unit"], data["deadline"], data["due_at"]])
    elif type_name in ("suspended", "resumed"):
        view.suspended = type_name == "suspended"
    elif type_name in STEPS:
        view.state = STEPS[type_name]
        if type_name == "resolved":
            view.resolved_level = data.get("level") or view.level
        elif type_name == "cancelled":
            view.cancel_reason = data.get("reason")
    if is_keyed(record["id"]) and type_name != "reported":
        mark = [id_digest(record["id"]), content_digest(type_name, data)]
        if mark not in view.keyed:
            view.keyed = (view.keyed + [mark])[-KEYED_MAX:]
    return view
