"""The HTTP layer with a publisher that records: status codes, error lists, keys, limits,
idempotency and CORS, and that a refused request publishes nothing."""
from __future__ import annotations

import json

from api_support import READER_KEY, WRITER_KEY, make_api, with_client
from gridflow.api import metrics
from gridflow.api.matterview import MatterView

GOOD = {"service_code": "sanitation", "address_id": "u-k1", "description": "rubbish at gate 3",
        "email": "zhang@example.com", "attribute[priority]": "urgent"}
WRITE = {"X-Api-Key": WRITER_KEY}


def run(scenario, **settings) -> object:
    api = make_api(**settings)
    with_client(api, lambda client: scenario(client, api))
    return api


def test_a_request_is_published_once_acknowledged_and_a_retry_gets_the_same_id():
    async def scenario(client, api):
        headers = {**WRITE, "Idempotency-Key": "visit-42"}
        first = await client.post("/requests.json", data=GOOD, headers=headers)
        again = await client.post("/requests.json", data=GOOD, headers=headers)
        assert (first.status, again.status) == (201, 200) and again.headers["Idempotent-Replayed"] == "true"
        assert (await first.json())[0]["service_request_id"] == (await again.json())[0]["service_request_id"]
        assert len(api.publisher.sent) == 1 and api.publisher.sent[0].producer == "hotline-12345"
        shown = await client.get(f"/requests/{(await first.json())[0]['service_request_id']}.json")
        assert (await shown.json())[0]["gridflow"]["state"] == "reported"

    run(scenario)


def test_the_same_idempotency_key_with_another_body_is_a_409_and_publishes_nothing():
    async def scenario(client, api):
        headers = {**WRITE, "Idempotency-Key": "visit-42"}
        await client.post("/requests.json", data=GOOD, headers=headers)
        other = await client.post("/requests.json", data={**GOOD, "description": "other"}, headers=headers)
        assert other.status == 409 and "Idempotency-Key" in (await other.json())[0]["description"]
        assert len(api.publisher.sent) == 1

    run(scenario)


def test_a_request_without_a_key_or_with_a_wrong_one_is_a_403():
    async def scenario(client, api):
        for headers in ({}, {"X-Api-Key": "gf_wrong"}, {"X-Api-Key": READER_KEY}):
            answer = await client.post("/requests.xml", data=GOOD, headers=headers)
            assert answer.status == 403 and b"<errors><error><code>403</code>" in await answer.read()
        assert api.publisher.sent == []

    run(scenario)


def test_the_key_may_come_as_the_georeport_api_key_field():
    async def scenario(client, api):
        answer = await client.post("/requests.json", data={**GOOD, "api_key": WRITER_KEY})
        assert answer.status == 201

    run(scenario)


def test_an_oversized_body_is_a_413_and_publishes_nothing():
    async def scenario(client, api):
        answer = await client.post("/requests.json", data={**GOOD, "description": "x" * 5000}, headers=WRITE)
        assert answer.status == 413 and (await answer.json())[0]["description"].startswith("body: expected at most")
        assert api.publisher.sent == []

    run(scenario, api_max_body_bytes=2048)


def test_malformed_json_is_a_400_and_unknown_places_and_services_are_named():
    async def scenario(client, api):
        bad = await client.post("/requests.json", data=b'{"service_code":', headers={**WRITE,
                                                                                     "Content-Type": "application/json"})
        assert bad.status == 400 and (await bad.json())[0]["description"].startswith("body: expected a JSON object")
        nowhere = await client.post("/requests.json", json={**GOOD, "address_id": "u-mars"}, headers=WRITE)
        assert nowhere.status == 400 and "address_id" in (await nowhere.json())[0]["description"]
        unknown = await client.post("/requests.json", json={**GOOD, "service_code": "potholes"}, headers=WRITE)
        assert unknown.status == 404
        assert api.publisher.sent == []

    run(scenario)


def test_too_many_requests_for_a_key_is_a_429_with_retry_after():
    async def scenario(client, api):
        statuses = [(await client.post("/requests.json", data=GOOD, headers=WRITE)).status for _ in range(4)]
        assert statuses == [201, 201, 429, 429]
        limited = await client.post("/requests.json", data=GOOD, headers=WRITE)
        assert int(limited.headers["Retry-After"]) >= 1

    run(scenario, api_rate_per_second=0.01, api_rate_burst=2)


def test_kafka_not_acknowledging_is_a_503_and_the_retry_sends_the_very_same_event():
    async def scenario(client, api):
        headers = {**WRITE, "Idempotency-Key": "k"}
        api.publisher.down = True
        failed = await client.post("/requests.json", data=GOOD, headers=headers)
        assert failed.status == 503 and failed.headers["Retry-After"]
        api.publisher.down = False
        retried = await client.post("/requests.json", data=GOOD, headers=headers)
        assert retried.status == 201 and len(api.publisher.sent) == 1

    run(scenario)


def test_an_event_for_a_matter_is_checked_as_the_sdk_checks_it():
    async def scenario(client, api):
        api.model.publishing(MatterView("m-1", category="sanitation", place="u-k1", requested_at=1))
        bad = await client.post("/matters/m-1/events", json={"type": "dispatched", "data": {}}, headers=WRITE)
        assert bad.status == 400
        assert (await bad.json())[0]["description"] == "data.unit: expected a unit, a handler or a resource to dispatch to, got None"
        derived = await client.post("/matters/m-1/events", json={"type": "escalated", "data": {}}, headers=WRITE)
        assert (await derived.json())[0]["description"].startswith("type: expected an upstream event type")
        headers = {**WRITE, "Idempotency-Key": "acc-1"}
        body = {"type": "accepted", "data": {"unit": "u-g1", "handler": "h-1"}}
        first = await client.post("/matters/m-1/events", json=body, headers=headers)
        again = await client.post("/matters/m-1/events", json=body, headers=headers)
        other = await client.post("/matters/m-1/events", json={**body, "data": {"unit": "u-g1", "handler": "h-2"}},
                                  headers=headers)
        assert (first.status, again.status, other.status) == (202, 200, 409)
        assert len(api.publisher.sent) == 1 and api.publisher.sent[0].event_id.startswith("ik-")
        unknown = await client.post("/matters/m-nope/events", json=body, headers=WRITE)
        assert unknown.status == 404

    run(scenario)


def test_reads_are_open_by_default_and_need_a_read_key_when_configured():
    async def scenario(client, api):
        assert (await client.get("/requests.json")).status == 403
        assert (await client.get("/requests.json", headers={"X-Api-Key": READER_KEY})).status == 200
        assert (await client.get("/services.json")).status == 200

    run(scenario, api_read_access="key")


def test_cors_answers_an_allowed_origin_only():
    async def scenario(client, api):
        pre = await client.options("/requests.json", headers={"Origin": "https://app.example",
                                                              "Access-Control-Request-Method": "POST"})
        assert pre.status == 204 and pre.headers["Access-Control-Allow-Origin"] == "https://app.example"
        assert "Idempotency-Key" in pre.headers["Access-Control-Allow-Headers"]
        other = await client.get("/services.json", headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in other.headers

    run(scenario, api_cors_origins="https://app.example")


def test_services_and_their_definitions_in_both_formats():
    async def scenario(client, api):
        services = await (await client.get("/services.json")).json()
        assert {s["group"] for s in services} == {"incident", "request"} and all(s["metadata"] for s in services)
        definition = await (await client.get("/services/sanitation.json")).json()
        assert [a["code"] for a in definition["attributes"]] == ["priority", "channel"]
        assert b"<service_definition><service_code>sanitation" in await (await client.get("/services/sanitation.xml")).read()
        assert (await client.get("/services/potholes.json")).status == 404
        assert (await client.get("/services.json?jurisdiction_id=u-nowhere")).status == 404

    run(scenario)


def test_unknown_routes_are_a_georeport_404_and_metrics_label_routes_not_ids():
    async def scenario(client, api):
        assert (await (await client.get("/nowhere")).json())[0]["code"] == 404
        await client.get("/requests/m-secret-id.json")
        labels = {s.labels["route"] for m in metrics.REGISTRY.collect() for s in m.samples if "route" in s.labels}
        assert "request" in labels and not any("m-secret-id" in label for label in labels)

    run(scenario)


def test_the_openapi_document_is_served():
    async def scenario(client, api):
        document = json.loads(await (await client.get("/openapi.json")).read())
        assert document["openapi"].startswith("3.") and "/requests.{format}" in document["paths"]

    run(scenario)
