from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from gridflow.api import render


def xml_to_tree(element: ET.Element):
    """Back from GeoReport XML: leaves are text, repeated children are lists."""
    children = list(element)
    if not children:
        return element.text
    if len({c.tag for c in children}) == 1 and len(children) > 1 or element.tag in render.ITEMS:
        return [xml_to_tree(c) for c in children]
    return {c.tag: xml_to_tree(c) for c in children}


def test_json_and_xml_carry_the_same_fields():
    value = [{"service_request_id": "m-1", "status": "open", "gridflow": {"escalations": [
        {"from_level": "grid", "to_level": "community"}], "cycle": 2, "suspended": False}}]
    as_json = json.loads(render.body(value, "service_requests", "json"))
    text = render.body(value, "service_requests", "xml")
    assert text.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    root = ET.fromstring(text)
    assert root.tag == "service_requests" and root[0].tag == "request"
    back = xml_to_tree(root)
    assert back == [{"service_request_id": "m-1", "status": "open", "gridflow": {
        "escalations": [{"from_level": "grid", "to_level": "community"}], "cycle": "2", "suspended": "false"}}]
    assert as_json == value


def test_errors_are_a_georeport_error_list_in_both_formats():
    assert json.loads(render.errors(404, "no", "json")) == [{"code": 404, "description": "no"}]
    root = ET.fromstring(render.errors(404, "no", "xml"))
    assert (root.tag, root[0].tag, root[0].findtext("code"), root[0].findtext("description")) == \
        ("errors", "error", "404", "no")


def test_the_suffix_decides_the_format_then_the_accept_header():
    assert render.split_format("m-1.xml") == ("m-1", "xml")
    assert render.split_format("m-1.v2") == ("m-1.v2", None)
    assert render.negotiate("json", "text/xml") == "json"
    assert render.negotiate(None, "text/xml, application/json") == "xml"
    assert render.negotiate(None, "application/json, text/xml") == "json"
    assert render.negotiate(None, "*/*") == "json"


def test_text_is_escaped_in_xml():
    root = ET.fromstring(render.body({"status_notes": "<b>&\"'"}, "x", "xml"))
    assert root.findtext("status_notes") == "<b>&\"'"
