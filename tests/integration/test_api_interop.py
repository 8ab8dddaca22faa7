"""Interoperability: published clients, written elsewhere, against a running `gridflow api`.

`georeport` (PyPI, a Python wrapper of Open311 GeoReport v2) lists the services, reads a
service definition and reads requests back, in JSON and in XML. It cannot create requests, and
the published Open311 clients that can (`three`, `open311` on PyPI; `open311` on npm) are
Python 2 only or need a git dependency; so the POST is made by `aiopenapi3` (PyPI), a generic
OpenAPI 3 client driven by our /openapi.json, which also checks the answers against the
document's schemas. docs/api.md, "Interoperability", says the same."""
from __future__ import annotations

import uuid

import pytest
from aiopenapi3 import OpenAPI
from georeport import GeoReport

from api_process import api_beside_a_worker, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def api(settings, kafka_bootstrap, tmp_path):
    with api_beside_a_worker(settings, tmp_path, "api-interop", seed=3) as process:
        yield process


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_published_georeport_client_lists_services_and_reads_a_definition(api, fmt):
    client = GeoReport(api.url, output_format=fmt)
    services = client.get_service_list()
    codes = {s["service_code"] for s in services}
    assert {"sanitation", "elder_fraud", "micro_wish"} <= codes
    assert {str(s["metadata"]).lower() for s in services} == {"true"}
    definition = client.get_service_definition("sanitation")
    attributes = definition["attributes"] if fmt == "json" else definition["attributes"]["attribute"]
    assert [a["code"] for a in attributes] == ["priority", "channel"]


def test_an_openapi_client_posts_a_request_and_the_georeport_client_reads_it_back(api):
    spec = OpenAPI.load_sync(api.url + "/openapi.json")
    posted = spec._.createRequest(
        parameters={"format": "json", "X-Api-Key": api.key, "Idempotency-Key": f"interop-{uuid.uuid4().hex}"},
        data={"service_code": "sanitation", "address_id": "u-beijiang-c03", "description": "垃圾堆在3号门",
              "email": "resident@example.com", "attribute[priority]": "urgent"})
    matter = posted[0].service_request_id

    def routed(fmt: str):
        found = GeoReport(api.url, output_format=fmt).get_service_requests(service_request_id=matter)
        request = found[0] if fmt == "json" else found
        return request if request["agency_responsible"] else None

    as_json = wait_for(lambda: routed("json"), "the request routed", timeout=60, context=api.child.tail)
    as_xml = routed("xml")
    for request in (as_json, as_xml):
        assert request["service_request_id"] == matter and request["status"] == "open"
        assert request["service_code"] == "sanitation" and request["address_id"] == "u-beijiang-c03"
        assert request["agency_responsible"] == "北江社区第1网格 (grid)"
        assert request["gridflow"]["priority"] == "urgent"
    assert as_xml["expected_datetime"] == as_json["expected_datetime"]
    checked = spec._.getRequest(parameters={"service_request_id": matter, "format": "json"})
    assert checked[0].service_request_id == matter  # the answer fits the document's schema
