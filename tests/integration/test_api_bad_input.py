"""Bad input over HTTP against a real `gridflow api` and a real broker: each case gets the error
docs/api.md documents for it (its table "What a refused request gets" is read here), in
GeoReport's error-list shape, and nothing reaches the intake topic."""
from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
import requests

from api_process import ApiProcess, intake_count

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
GOOD = {"service_code": "sanitation", "address_id": "k1", "description": "rubbish at gate 3"}


def documented() -> dict[str, tuple[int, str]]:
    """case -> (status, start of the description), from docs/api.md."""
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    section = text.split("## What a refused request gets", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| ([a-z_]+) \| (\d{3}) \| `([^`]+)`", section, re.M)
    assert rows, "docs/api.md has no table of refusals"
    return {case: (int(status), start) for case, status, start in rows}


def cases(api: ApiProcess) -> dict[str, tuple]:
    """case -> (path, keyword arguments of requests.post)."""
    key = {"X-Api-Key": api.key}
    return {
        "unknown_service": ("/requests.json", {"data": {**GOOD, "service_code": "potholes"}, "headers": key}),
        "unknown_place": ("/requests.json", {"data": {**GOOD, "address_id": "u-mars"}, "headers": key}),
        "no_place": ("/requests.json", {"data": {"service_code": "sanitation", "lat": "38.5", "long": "102.2"},
                                        "headers": key}),
        "oversized_body": ("/requests.json", {"data": {**GOOD, "description": "x" * 70_000}, "headers": key}),
        "malformed_json": ("/requests.json", {"data": b'{"service_code": "sanitation",',
                                              "headers": {**key, "Content-Type": "application/json"}}),
        "malformed_form": ("/requests.json", {"data": b"service_code=sanitation&address_id", "headers": {
            **key, "Content-Type": "application/x-www-form-urlencoded"}}),
        "missing_key": ("/requests.json", {"data": GOOD}),
        "wrong_key": ("/requests.json", {"data": GOOD, "headers": {"X-Api-Key": "gf_not-a-key-of-this-api"}}),
        "bad_attribute": ("/requests.json", {"data": {**GOOD, "attribute[priority]": "high"}, "headers": key}),
        "bad_event": ("/matters/{matter}/events", {"json": {"type": "dispatched", "data": {}}, "headers": key}),
        "reused_key": ("/requests.json", {"data": {**GOOD, "description": "another matter"},
                                          "headers": {**key, "Idempotency-Key": "visit-1"}}),
    }


@pytest.fixture
def api(settings, kafka_bootstrap, tmp_path):
    from deploy.topics import delete_topics, ensure_topics
    from events import orgtree
    from streams_fixtures import org_units

    orgtree.dump_csv(org_units(), tmp_path / "org.csv")
    mine = settings.with_(topic_prefix=f"{settings.topic_prefix}-api-bad-{uuid.uuid4().hex[:6]}", partitions=2,
                          org_path=str(tmp_path / "org.csv"), api_max_body_bytes=65536)
    ensure_topics(mine)
    process = ApiProcess(mine, tmp_path).start()
    yield process
    process.stop()
    delete_topics(mine)


def test_every_refusal_is_the_documented_error_and_nothing_is_published(api):
    expected = documented()
    first = requests.post(api.url + "/requests.json", data=GOOD, timeout=30,
                          headers={"X-Api-Key": api.key, "Idempotency-Key": "visit-1"})
    assert first.status_code == 201, first.text
    matter = first.json()[0]["service_request_id"]
    published = intake_count(api.settings)
    assert published == 1
    todo = cases(api)
    assert set(todo) == set(expected), "docs/api.md and this test list different cases"
    for case, (path, kwargs) in todo.items():
        answer = requests.post(api.url + path.format(matter=matter), timeout=30, **kwargs)
        status, start = expected[case]
        body = answer.json()
        assert answer.status_code == status, (case, answer.text)
        assert isinstance(body, list) and body[0]["code"] == status, (case, body)
        assert body[0]["description"].startswith(start), (case, body[0]["description"])
    assert intake_count(api.settings) == published, "a refused request published something"


def test_errors_come_as_xml_when_the_path_asks_for_it(api):
    answer = requests.post(api.url + "/requests.xml", data=GOOD, timeout=30)
    assert answer.status_code == 403 and answer.headers["Content-Type"].startswith("text/xml")
    assert b"<errors><error><code>403</code><description>api_key: required" in answer.content
