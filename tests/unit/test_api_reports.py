from __future__ import annotations

import pytest

from api_support import SECRET, tree
from events import policy as policy_mod
from gridflow.api import reports
from gridflow.api.errors import ApiError
from gridflow.api.forms import Fields
from gridflow.api.places import Places
from gridflow.api.pseudonym import reporter_id
from gridflow.api.services import Catalogue
from gridflow.sdk.factory import EventFactory

POLICY = policy_mod.load()


def fields(**values: str) -> Fields:
    out = Fields()
    for name, value in values.items():
        out.add(name.replace("_attr_", "attribute[") + ("]" if name.startswith("_attr_") else ""), value)
    return out


def read(**values: str) -> reports.Report:
    return reports.read(fields(**values), Catalogue(POLICY), Places(tree()))


def refusal(**values: str) -> ApiError:
    with pytest.raises(ApiError) as caught:
        read(**values)
    return caught.value


def test_a_request_at_a_compound_becomes_a_reported_event_with_a_pseudonymous_reporter():
    report = read(service_code="sanitation", address_id="u-k1", description="垃圾", email="z@x.cn",
                  phone="13800138000", first_name="三", last_name="张", _attr_priority="urgent", lat="38.5",
                  long="102.2")
    reporter = reporter_id(SECRET, report.contact, "app")
    event = reports.event(report, EventFactory("app", policy=POLICY), reporter=reporter, matter_id="m-1",
                          event_id=None)
    assert (event.category, event.place, event.priority, event.channel, event.kind) == \
        ("sanitation", "u-k1", "urgent", "app", "incident")
    assert event.reporter == reporter and event.text == "垃圾"
    assert "13800138000" not in repr(event) and "z@x.cn" not in repr(event) and "张" not in repr(event)


def test_a_media_url_is_kept_in_the_text():
    assert read(service_code="sanitation", address_id="u-g1", description="d",
                media_url="https://img.example/1.jpg").text == "d\n[media] https://img.example/1.jpg"


@pytest.mark.parametrize("values, status, says", [
    ({"service_code": "sanitation", "address_id": "u-k1", "colour": "red"}, 400, "colour: expected a GeoReport v2 field"),
    ({"address_id": "u-k1"}, 400, "service_code: expected a service code (required"),
    ({"service_code": "potholes", "address_id": "u-k1"}, 404, "service_code: no service 'potholes'"),
    ({"service_code": "sanitation"}, 400, "address_id: expected the id of a compound or a grid"),
    ({"service_code": "sanitation", "address_id": "u-nowhere"}, 400, "address_id: expected the id of a compound or a grid of the org tree, got 'u-nowhere'"),
    ({"service_code": "sanitation", "address_id": "u-comm"}, 400, "address_id: expected the id of a compound or a grid, not of a community"),
    ({"service_code": "sanitation", "lat": "38.5", "long": "102.2"}, 400, "lat/long: cannot be placed"),
    ({"service_code": "sanitation", "address_string": "1 Main St"}, 400, "address_string: cannot be placed"),
    ({"service_code": "sanitation", "address_id": "u-k1", "lat": "91", "long": "1"}, 400, "lat: expected a number between -90 and 90"),
    ({"service_code": "sanitation", "address_id": "u-k1", "lat": "1"}, 400, "long: expected lat and long together"),
    ({"service_code": "sanitation", "address_id": "u-k1", "jurisdiction_id": "u-nowhere"}, 404, "jurisdiction_id: no city"),
    ({"service_code": "sanitation", "address_id": "u-k1", "jurisdiction_id": "u-city2"}, 400, "address_id: expected a place in jurisdiction 'u-city2'"),
    ({"service_code": "sanitation", "address_id": "u-k1", "_attr_priority": "high"}, 400, "attribute[priority]: expected one of low, normal, urgent, got 'high'"),
    ({"service_code": "sanitation", "address_id": "u-k1", "_attr_colour": "red"}, 400, "attribute[colour]: expected an attribute of service 'sanitation'"),
    ({"service_code": "sanitation", "address_id": "u-k1", "description": "x" * 2001}, 400, "description: expected at most 2000 characters"),
    ({"service_code": "sanitation", "address_id": "u-k1", "media_url": "javascript:alert(1)"}, 400, "media_url: expected an http(s) URL"),
    ({"service_code": "sanitation", "address_id": "u-k1", "phone": "1" * 40}, 400, "phone: expected at most 32 characters"),
])
def test_bad_input_is_refused_naming_the_field(values, status, says):
    error = refusal(**values)
    assert (error.status, error.description[:len(says)]) == (status, says)


def test_a_refused_contact_field_is_never_echoed():
    assert "1" * 40 not in refusal(service_code="sanitation", address_id="u-k1", phone="1" * 40).description
