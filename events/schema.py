"""The machine-readable contract: a JSON Schema of the wire map, generated from the event
declarations. ``docs/events.schema.json`` is this output; a test keeps them equal."""
from __future__ import annotations

import json
from typing import Any

from events.identifiers import ID_MAX, ID_PATTERN
from events.types import LIST_MAX, REGISTRY, payload_fields
from events.validation import AT_MAX, AT_MIN, INT_MAX

_JSON = {str: "string", int: "integer", bool: "boolean", float: "number", list: "array"}


def _field_schema(f) -> dict[str, Any]:
    meta = f.metadata
    out: dict[str, Any] = {"description": meta["doc"]}
    if meta["kind"] is str:
        out.update(type="string", maxLength=meta["max_len"])
        if meta["max_len"] <= ID_MAX:
            out["minLength"] = 1
        if meta["ident"]:
            out["pattern"] = ID_PATTERN
        if meta["choices"]:
            out["enum"] = list(meta["choices"])
    elif meta["kind"] is list:
        if meta["item"] is int:
            items: dict[str, Any] = {"type": "integer", "minimum": AT_MIN, "maximum": AT_MAX - 1}
        elif meta["item"] is float:
            items = {"type": "number"}
        elif meta["ident"]:
            items = {"type": "string", "minLength": 1, "maxLength": ID_MAX, "pattern": ID_PATTERN}
        else:
            items = {"type": "string", "minLength": 1, "maxLength": meta["max_len"]}
        out.update(type="array", items=items, maxItems=LIST_MAX)
    elif meta["kind"] is int and f.name.endswith(("_at", "_by")):
        out.update(type="integer", minimum=AT_MIN, maximum=AT_MAX - 1)
    elif meta["kind"] is int:
        out.update(type="integer", minimum=0, maximum=INT_MAX)
    else:
        out["type"] = _JSON[meta["kind"]]
    if meta["optional"]:
        out = {"description": out.pop("description"), "anyOf": [out, {"type": "null"}]}
    return out


def _event_schema(type_name: str) -> dict[str, Any]:
    cls = REGISTRY[type_name]
    fields = payload_fields(cls)
    data = {"type": "object", "additionalProperties": False,
            "properties": {f.name: _field_schema(f) for f in fields},
            "required": [f.name for f in fields if not f.metadata["optional"]]}
    ident = {"type": "string", "minLength": 1, "maxLength": ID_MAX, "pattern": ID_PATTERN}
    return {
        "title": cls.__name__,
        "description": " ".join((cls.__doc__ or "").split()),
        "type": "object",
        "required": ["id", "matter", "type", "v", "at", "producer", "data"],
        "properties": {
            "id": {**ident, "description": "event id, unique; derived events use uuid5 of their cause"},
            "matter": {**ident, "description": "matter id; the Kafka key"},
            "type": {"const": type_name},
            "v": {"type": "integer", "minimum": 1, "maximum": cls.VERSION, "description": "schema version"},
            "at": {"type": "integer", "minimum": AT_MIN, "maximum": AT_MAX - 1,
                   "description": "occurred-at, UTC epoch milliseconds"},
            "producer": {**ident, "description": "the app or component that produced it"},
            "data": data,
        },
        "x-derived": cls.DERIVED,
        "x-internal": cls.INTERNAL,
    }


def json_schema() -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "gridflow/events/v1",
        "title": "gridflow event",
        "description": "One event on a gridflow topic (msgpack on Kafka; the same map in JSON lines).",
        "oneOf": [{"$ref": f"#/$defs/{t}"} for t in REGISTRY],
        "$defs": {t: _event_schema(t) for t in REGISTRY},
    }


def render() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(render(), end="")
