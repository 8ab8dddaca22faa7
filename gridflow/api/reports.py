"""POST /requests: the fields of a GeoReport request, checked, turned into a ``reported`` event.

The checks come in the order a client fixes them: fields the API does not know, the service,
the place, the attributes, the text. The event is built by the SDK's ``EventFactory``, so what
it refuses is refused here with the SDK's message (the field renamed to the request's)."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from events.errors import ValidationError
from events.orgtree import OrgUnit
from events.types import TEXT_MAX, MatterReported
from gridflow.api.errors import bad, from_validation, not_found
from gridflow.api.forms import Fields
from gridflow.api.places import Places
from gridflow.api.pseudonym import Contact
from gridflow.api.services import DEFAULTS, Catalogue
from gridflow.sdk.factory import EventFactory

CONTACT_LIMITS = {"email": 254, "phone": 32, "first_name": 64, "last_name": 64, "device_id": 128, "account_id": 128}
LOCATION = ("jurisdiction_id", "lat", "long", "address_string", "address_id")
KNOWN = {"api_key", "service_code", "description", "media_url", *LOCATION, *CONTACT_LIMITS}
MEDIA_URL_MAX = 1024
# the reported event's fields, as the request names them
FIELD_NAMES = {"data.text": "description", "data.place": "address_id", "data.priority": "attribute[priority]",
               "data.channel": "attribute[channel]", "data.category": "service_code"}


@dataclass(frozen=True)
class Report:
    service_code: str
    place: OrgUnit
    text: str
    priority: str
    channel: str
    contact: Contact


def read(fields: Fields, catalogue: Catalogue, places: Places) -> Report:
    unknown = sorted(set(fields.values) - KNOWN)
    if unknown:
        raise bad(unknown[0][:64], "a GeoReport v2 field: " + ", ".join(sorted(KNOWN - {"api_key"})), None)
    code = fields.get("service_code")
    if not code:
        raise bad("service_code", "a service code (required; GET /services lists them)")
    if code not in catalogue:
        raise not_found(f"service_code: no service {code[:80]!r}; GET /services lists them")
    place = places.place(fields.values)
    chosen = _attributes(fields, catalogue, code)
    for name, limit in CONTACT_LIMITS.items():
        value = fields.get(name)
        if value is not None and len(value) > limit:  # never echoed: it is personal
            raise bad(name, f"at most {limit} characters")
    return Report(code, place, _text(fields), chosen["priority"], chosen["channel"],
                  Contact(email=fields.get("email"), phone=fields.get("phone"),
                          account_id=fields.get("account_id"), device_id=fields.get("device_id")))


def _attributes(fields: Fields, catalogue: Catalogue, code: str) -> dict[str, str]:
    chosen = dict(DEFAULTS)
    offered = {a.code: a for a in catalogue.attributes(code)}
    for name, values in fields.attributes.items():
        attribute = offered.get(name)
        where = f"attribute[{name[:64]}]"
        if attribute is None:
            raise bad(where, f"an attribute of service {code!r}: {', '.join(offered)} (GET /services/{code})")
        if len(values) != 1:
            raise bad(where, "one value (a singlevaluelist)", values)
        if values[0] not in attribute.values:
            raise bad(where, "one of " + ", ".join(attribute.values), values[0])
        chosen[name] = values[0]
    return chosen


def _text(fields: Fields) -> str:
    text = fields.get("description") or ""
    media = fields.get("media_url")
    if media is not None:
        parts = urlsplit(media) if len(media) <= MEDIA_URL_MAX else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in media):
            raise bad("media_url", f"an http(s) URL of at most {MEDIA_URL_MAX} characters", media)
        text = f"{text}\n[media] {media}" if text else f"[media] {media}"
    if len(text) > TEXT_MAX:
        raise bad("description", f"at most {TEXT_MAX} characters (media_url included)", f"{len(text)} characters")
    return text


def event(report: Report, factory: EventFactory, *, reporter: str, matter_id: str, event_id: str | None,
          at: int | None = None) -> MatterReported:
    try:
        return factory.reported(category=report.service_code, place=report.place.unit_id, reporter=reporter,
                                text=report.text, priority=report.priority, channel=report.channel,
                                matter_id=matter_id, event_id=event_id, at=at)
    except ValidationError as exc:
        raise from_validation(exc, FIELD_NAMES) from None

