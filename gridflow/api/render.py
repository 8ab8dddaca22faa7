"""JSON and XML bodies, and which of the two a request wants.

XML follows GeoReport v2: a declaration, a root element (``services``, ``service_requests``,
``errors``, ...) and one child per list item, lists of lists by the singular of their name
(``attributes`` -> ``attribute``). JSON is the same tree (the spec's Spark convention): the
list itself, without the root element."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

JSON, XML = "json", "xml"
CONTENT_TYPES = {JSON: "application/json; charset=utf-8", XML: "text/xml; charset=utf-8"}
# the element of one item of a list, by the list's name
ITEMS = {"services": "service", "service_requests": "request", "errors": "error", "attributes": "attribute",
         "values": "value", "endpoints": "endpoint", "formats": "format", "escalations": "escalation",
         "breaches": "breach", "levels": "level", "events": "event"}


def split_format(name: str) -> tuple[str, str | None]:
    """``"m-1.xml"`` -> ``("m-1", "xml")``; a name without a format suffix has none."""
    for fmt in (JSON, XML):
        if name.endswith("." + fmt):
            return name[: -len(fmt) - 1], fmt
    return name, None


def negotiate(suffix: str | None, accept: str) -> str:
    """The suffix decides (``/services.xml``); else an Accept header naming XML before JSON; else JSON."""
    if suffix:
        return suffix
    accept = accept.lower()
    xml_at = min((accept.find(t) for t in ("text/xml", "application/xml") if t in accept), default=-1)
    json_at = accept.find("application/json")
    if xml_at >= 0 and (json_at < 0 or xml_at < json_at):
        return XML
    return JSON


def body(value: Any, root: str, fmt: str) -> bytes:
    """``value`` (a list or a map) as JSON, or as XML under the element ``root``."""
    if fmt == JSON:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    element = ET.Element(root)
    _fill(element, value, root)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(element, encoding="utf-8", xml_declaration=False)


def _fill(element: ET.Element, value: Any, name: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), item, key)
    elif isinstance(value, (list, tuple)):
        tag = ITEMS.get(name, "item")
        for item in value:
            _fill(ET.SubElement(element, tag), item, tag)
    elif value is None:
        return
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = str(value)


def errors(status: int, description: str, fmt: str) -> bytes:
    return body([{"code": status, "description": description}], "errors", fmt)
