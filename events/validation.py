"""Turn a wire map into a typed event, checking every field. Errors name the field,
what was expected and what came (``data.priority: expected one of low, normal, urgent, got 'high'``)."""
from __future__ import annotations

import math
from typing import Any, Callable

from events.errors import ValidationError
from events.identifiers import ID_MAX, ID_RULE, is_identifier
from events import availability
from events.types import ENVELOPE, LIST_MAX, REGISTRY, Event, payload_fields

WIRE_ENVELOPE = {"id": "event_id", "matter": "matter_id", "at": "occurred_at", "producer": "producer"}
# 2000-01-01 .. 2100-01-01: catches seconds-instead-of-milliseconds and garbage
AT_MIN, AT_MAX = 946_684_800_000, 4_102_444_800_000
INT_MAX = 2**31 - 1  # plain integer fields (a cycle) are counts: small, never negative
_TYPES = "one of " + ", ".join(sorted(REGISTRY))

Upcaster = Callable[[dict], dict]


def check_str(name: str, value: Any, *, max_len: int, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise ValidationError(name, "a string", value)
    if not value.strip() and not allow_empty:
        raise ValidationError(name, "a non-empty string", value)
    if len(value) > max_len:
        raise ValidationError(name, f"at most {max_len} characters", f"{len(value)} characters")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: JSON can carry one, msgpack cannot
            raise ValidationError(name, "valid Unicode text", "a lone surrogate") from None
    return value


def check_id(name: str, value: Any) -> str:
    check_str(name, value, max_len=ID_MAX)
    if not is_identifier(value):
        raise ValidationError(name, ID_RULE, value)
    return value


def check_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(name, "an integer", value)
    return value


def _check_number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValidationError(name, "a finite number", value)
    return float(value)


def check_millis(name: str, value: Any) -> int:
    check_int(name, value)
    if not AT_MIN <= value < AT_MAX:
        raise ValidationError(name, "UTC epoch milliseconds between 2000 and 2100", value)
    return value


def check_field(name: str, f, value: Any) -> Any:
    """One payload field against its declaration (``spec`` in events/types.py)."""
    return _checker(f)(name, value)


def _checker(f) -> Callable[[str, Any], Any]:
    """The check of one declared payload field, built once per field: ``check(name, value)``
    returns the value to keep or raises ValidationError naming the field."""
    meta = f.metadata
    kind, optional = meta["kind"], meta["optional"]
    required = f"a {kind.__name__} (required)"

    def missing(name: str, value: Any) -> Any:
        if optional:
            return None
        raise ValidationError(name, required, value)

    if kind is str and meta["ident"]:
        def check(name: str, value: Any) -> Any:
            if type(value) is str and 0 < len(value) <= ID_MAX and is_identifier(value):
                return value  # the common case, decided without the general checks
            return missing(name, value) if value is None else check_id(name, value)
    elif kind is str:
        max_len, allow_empty, choices = meta["max_len"], meta["max_len"] > 128, meta["choices"]

        def check(name: str, value: Any) -> Any:
            if value is None:
                return missing(name, value)
            if choices:
                if type(value) is str and value in choices:
                    return value
                check_str(name, value, max_len=max_len, allow_empty=allow_empty)
                raise ValidationError(name, "one of " + ", ".join(choices), value)
            return check_str(name, value, max_len=max_len, allow_empty=allow_empty)
    elif kind is bool:
        def check(name: str, value: Any) -> Any:
            if value is None:
                return missing(name, value)
            if not isinstance(value, bool):
                raise ValidationError(name, "true or false", value)
            return value
    elif kind is int and f.name.endswith(("_at", "_by")):
        def check(name: str, value: Any) -> Any:
            return missing(name, value) if value is None else check_millis(name, value)
    elif kind is int:
        def check(name: str, value: Any) -> Any:
            if value is None:
                return missing(name, value)
            if not 0 <= check_int(name, value) <= INT_MAX:
                raise ValidationError(name, f"an integer between 0 and {INT_MAX}", value)
            return value
    elif kind is float:
        def check(name: str, value: Any) -> Any:
            if value is None:
                return missing(name, value)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValidationError(name, "a finite number", value)
            return float(value)
    elif kind is list:
        item = meta["item"]
        if item is int:
            each = check_millis
        elif item is float:
            each = _check_number
        elif meta["ident"]:
            each = check_id
        else:
            max_len = meta["max_len"]

            def each(name: str, value: Any) -> str:
                return check_str(name, value, max_len=max_len)

        def check(name: str, value: Any) -> Any:
            if value is None:
                return missing(name, value)
            if not isinstance(value, (list, tuple)):
                raise ValidationError(name, f"a list of {item.__name__}", value)
            if len(value) > LIST_MAX:
                raise ValidationError(name, f"at most {LIST_MAX} items", f"{len(value)} items")
            return [each(f"{name}[{i}]", v) for i, v in enumerate(value)]
    else:
        raise TypeError(f"{f.name}: no check for a {kind.__name__}")
    return check


# Per event type: (attribute, name in messages, check) for every payload field, and the names.
_PLANS: dict[type[Event], tuple[tuple[tuple[str, str, Callable], ...], frozenset[str]]] = {}


def _plan(cls: type[Event]) -> tuple[tuple[tuple[str, str, Callable], ...], frozenset[str]]:
    plan = _PLANS.get(cls)
    if plan is None:
        fields = payload_fields(cls)
        plan = _PLANS[cls] = (tuple((f.name, f"data.{f.name}", _checker(f)) for f in fields),
                              frozenset(f.name for f in fields))
    return plan


def _envelope_id(wire: str, value: Any) -> str:
    if type(value) is str and 0 < len(value) <= ID_MAX and is_identifier(value):
        return value
    return check_id(wire, value)


def from_wire(record: Any, upcasters: dict[tuple[str, int], Upcaster] | None = None) -> Event:
    """Validate a decoded wire map and build the typed event, upcasting older versions."""
    if not isinstance(record, dict):
        raise ValidationError("record", "a map with id, matter, type, v, at, producer, data", record)
    type_name = record.get("type")
    if not isinstance(type_name, str) or type_name not in REGISTRY:  # a list is not even hashable
        raise ValidationError("type", _TYPES, type_name)
    cls = REGISTRY[type_name]
    version = check_int("v", record.get("v"))
    if not 1 <= version <= cls.VERSION:
        raise ValidationError("v", f"a version of {type_name!r} between 1 and {cls.VERSION}", version)
    data = _string_keyed("data", record.get("data", {}))
    while version < cls.VERSION:
        step = (upcasters or {}).get((type_name, version))
        if step is None:
            raise ValidationError("v", f"a version with an upcaster to {cls.VERSION}", version)
        data, version = _upcast(step, data, type_name, version), version + 1
    values: dict[str, Any] = {
        "event_id": _envelope_id("id", record.get("id")),
        "matter_id": _envelope_id("matter", record.get("matter")),
        "occurred_at": check_millis("at", record.get("at")),
        "producer": _envelope_id("producer", record.get("producer")),
    }
    checks, known = _plan(cls)
    get = data.get
    for attr, name, check in checks:
        values[attr] = check(name, get(attr))
    if len(data) > len(known) or not known.issuperset(data):
        extra = sorted(set(data) - known)
        raise ValidationError(f"data.{extra[0]}", f"only the fields of {type_name!r}", "an unknown field")
    check_rules(cls, values)
    return cls._from_values(values)  # every field checked: no need for the frozen __init__


def _string_keyed(name: str, data: Any) -> dict:
    """A map whose keys are all strings (msgpack also allows bytes keys; they never name a field)."""
    if not isinstance(data, dict):
        raise ValidationError(name, "a map", data)
    for key in data:
        if not isinstance(key, str):
            raise ValidationError(name, "a map with string keys", key)
    return data


def _upcast(step: Upcaster, data: dict, type_name: str, version: int) -> dict:
    """One upcaster step. Old data that is malformed makes an upcaster fail the way Python
    code fails on bad input; that is the record's fault, so it is a validation error."""
    try:
        lifted = step(dict(data))
    except (LookupError, TypeError, ValueError, AttributeError) as exc:
        raise ValidationError("data", f"a valid v{version} {type_name!r} payload",
                              f"{type(exc).__name__} while upcasting") from None
    return _string_keyed("data", lifted)


def check_rules(cls: type[Event], values: dict[str, Any]) -> None:
    """Rules that span fields."""
    if cls.TYPE == "cancelled" and values["reason"] == "duplicate" and not values["duplicate_of"]:
        raise ValidationError("data.duplicate_of", "the matter id it duplicates (reason is duplicate)", None)
    if cls.TYPE == "dispatched" and not (values["unit"] or values["handler"] or values["resource"]):
        raise ValidationError("data.unit", "a unit, a handler or a resource to dispatch to", None)
    if cls.TYPE in ("resource_registered", "resource_updated"):
        _resource_rules(cls.TYPE, values)
    if cls.TYPE == "points_redeemed" and values["points"] < 1:
        raise ValidationError("data.points", "at least 1 point", values["points"])


def _resource_rules(type_name: str, values: dict[str, Any]) -> None:
    if type_name == "resource_updated" and all(values[k] is None for k in
                                               ("categories", "covers", "capacity", "availability")):
        raise ValidationError("data", "at least one of categories, covers, capacity, availability", "none")
    for name in ("categories", "covers"):
        if values[name] is not None and not values[name]:
            raise ValidationError(f"data.{name}", "at least one item", [])
    if values["capacity"] is not None and values["capacity"] < 1:
        raise ValidationError("data.capacity", "at least 1 order at once", values["capacity"])
    for i, text in enumerate(values["availability"] or ()):
        try:
            availability.parse_window(text)
        except ValueError as exc:
            raise ValidationError(f"data.availability[{i}]", availability.RULE, text) from exc


def to_wire(event: Event) -> dict[str, Any]:
    """The wire map of an event (what the codec packs and what JSON-lines files hold)."""
    values = event.__dict__
    return {"id": event.event_id, "matter": event.matter_id, "type": event.TYPE, "v": event.VERSION,
            "at": event.occurred_at, "producer": event.producer,
            "data": {k: values[k] for k in event.PAYLOAD if values[k] is not None}}


def validate(event: Event) -> Event:
    """Re-check an event built in Python (the SDK's path): same rules as the wire."""
    return from_wire(to_wire(event))


assert set(WIRE_ENVELOPE.values()) == set(ENVELOPE)
