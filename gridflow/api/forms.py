"""Request bodies: ``application/x-www-form-urlencoded`` (what GeoReport clients send) or a
JSON object, both read into one shape — single fields, and ``attribute[code]`` values — with
every malformation a 400 naming what was wrong. Empty values count as absent (GeoReport's
rule for optional arguments)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from gridflow.api.errors import ApiError, bad

MAX_FIELDS = 64
_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]{1,64})\](\[\])?$")
FORM, JSON_TYPE = "application/x-www-form-urlencoded", "application/json"


@dataclass
class Fields:
    values: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, list[str]] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def add(self, name: str, value: str) -> None:
        if value == "":
            return
        match = _ATTRIBUTE.match(name)
        if match:
            self.attributes.setdefault(match.group(1), []).append(value)
        elif name in self.values:
            raise bad(name, "one value", "the field twice")
        else:
            self.values[name] = value


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def parse(content_type: str, raw: bytes, query: list[tuple[str, str]] = ()) -> Fields:
    """The fields of a body of ``content_type``, plus the query string's (clients put
    ``api_key`` and ``jurisdiction_id`` there)."""
    kind = media_type(content_type) or FORM
    if kind == FORM:
        pairs = _form(raw)
    elif kind == JSON_TYPE:
        pairs = _json_pairs(parse_json(raw))
    elif kind.startswith("multipart/"):
        raise ApiError(415, "body: multipart is not accepted; send application/x-www-form-urlencoded or "
                            "application/json, and media as a media_url")
    else:
        raise ApiError(415, f"body: expected {FORM} or {JSON_TYPE}, got {kind[:60]!r}")
    fields = Fields()
    for name, value in [*query, *pairs]:
        fields.add(name, value)
    return fields


def _form(raw: bytes) -> list[tuple[str, str]]:
    try:
        text = raw.decode("utf-8")
        return parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), errors="strict",
                         max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError:
        raise bad("body", "UTF-8 form fields", "bytes that are not UTF-8") from None
    except ValueError as exc:  # a field without '=', or too many fields
        raise bad("body", f"application/x-www-form-urlencoded fields (at most {MAX_FIELDS})",
                  str(exc)) from None


def parse_json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise bad("body", "a JSON object in UTF-8", "bytes that are not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise bad("body", "a JSON object", f"invalid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    if not isinstance(value, dict):
        raise bad("body", "a JSON object", value)
    if len(value) > MAX_FIELDS:
        raise bad("body", f"at most {MAX_FIELDS} fields", f"{len(value)} fields")
    return value


def _json_pairs(obj: dict[str, Any]) -> list[tuple[str, str]]:
    pairs = []
    for name, value in obj.items():
        if name == "attribute" and isinstance(value, dict):
            for code, item in value.items():
                items = item if isinstance(item, list) else [item]
                pairs += [(f"attribute[{code}]", _scalar(f"attribute[{code}]", v)) for v in items]
        else:
            pairs.append((name, _scalar(name, value)))
    return pairs


def _scalar(name: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise bad(name, "a string or a number", value)
    return str(value)
