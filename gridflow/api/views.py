"""A matter as GeoReport shows a service request, with gridflow's own fields under ``gridflow``.

GeoReport's ``status`` is ``open`` or ``closed`` (closed once resolved, verified or cancelled;
a reopened matter is open again); ``agency_responsible`` is the unit holding the matter and
its level; ``expected_datetime`` the current resolve-by deadline. ``description`` and
``media_url`` are not returned: the text stays in the event log (it may name people), and
the read model does not hold it."""
from __future__ import annotations

from datetime import datetime, timezone

from gridflow.api.matterview import MatterView
from gridflow.api.places import Places
from gridflow.api.services import Catalogue

REASONS = {"breach": "missed its deadline", "whistle": "asked for help (吹哨)", "authority": "beyond its authority"}


def iso(ms: int | None) -> str | None:
    if not ms:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def status_notes(view: MatterView) -> str:
    where = f"{view.level} {view.unit}" if view.unit else ""
    if view.state == "reported":
        return "received; being routed to the level that handles it"
    if view.state == "cancelled":
        return f"cancelled ({view.cancel_reason})"
    if view.state == "closed":
        return f"closed: resolved at {view.resolved_level} level and verified"
    if view.state == "resolved":
        return f"resolved at {view.resolved_level} level; waiting for verification"
    if view.suspended:
        return f"suspended at {where}: the clock stands still until it is resumed"
    last = view.escalations[-1] if view.escalations else None
    if view.state == "new":
        came = (f"escalated from {last[1]} {last[2]}, which {REASONS.get(last[5], last[5])}; "
                if last and last[0] == view.cycle else "")
        return f"{came}waiting to be accepted at {where} by {iso(view.accept_by)}"
    return f"{view.state} at {where}; to be resolved by {iso(view.resolve_by)}"


def request(view: MatterView, catalogue: Catalogue, places: Places) -> dict:
    return {
        "service_request_id": view.matter_id,
        "status": "closed" if view.closed else "open",
        "status_notes": status_notes(view),
        "service_name": catalogue.name(view.category) if view.category in catalogue else view.category,
        "service_code": view.category,
        "description": None,
        "agency_responsible": places.agency(view.unit, view.level),
        "service_notice": None,
        "requested_datetime": iso(view.requested_at),
        "updated_datetime": iso(view.updated_at),
        "expected_datetime": None if view.closed else iso(view.resolve_by),
        "address": places.address(view.place),
        "address_id": view.place,
        "zipcode": None, "lat": None, "long": None, "media_url": None,
        "gridflow": extension(view),
    }


def extension(view: MatterView) -> dict:
    return {
        "state": view.state,
        "suspended": view.suspended,
        "priority": view.priority,
        "level": view.level,
        "unit": view.unit,
        "cycle": view.cycle,
        "deadlines": {"accept_by": iso(view.accept_by) if view.state == "new" else None,
                      "resolve_by": None if view.closed else iso(view.resolve_by)},
        "resolved_level": view.resolved_level,
        "escalations": [{"cycle": c, "from_level": fl, "from_unit": fu, "to_level": tl, "to_unit": tu,
                         "reason": r, "at": iso(at)} for c, fl, fu, tl, tu, r, at in view.escalations],
        "breaches": [{"cycle": c, "level": lv, "unit": u, "deadline": d, "due_at": iso(due)}
                     for c, lv, u, d, due in view.breaches],
    }
