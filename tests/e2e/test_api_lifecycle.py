"""End to end over HTTP: a real client against `gridflow api`, with a real worker (event time),
the projector writing ClickHouse at the same time (chdb, whose files it locks, or the server),
and Kafka. A request filed at a compound is routed to its grid, escalated when the grid misses
its resolve deadline in event time, and resolved at the community; GET /requests/{id} shows
each step, in JSON and XML alike; nothing personal reaches Kafka or ClickHouse."""
from __future__ import annotations

import sys
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from api_process import ApiProcess, read_topic, wait_for  # noqa: E402
from events import orgtree  # noqa: E402
from gridflow.children import Child, free_port  # noqa: E402
from gridflow.city import generate  # noqa: E402
from gridflow.sdk import Publisher  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
ROOT = Path(__file__).resolve().parents[2]
CONTACT = {"email": "zhang.san@example.com", "phone": "13800138000", "first_name": "晓明", "last_name": "欧阳",
           "device_id": "imei-356938035643809"}


def xml_request(text: bytes) -> dict:
    """The one request of a GeoReport XML list, as nested maps of text."""
    def tree(element):
        children = list(element)
        if not children:
            return element.text
        if element.tag in ("escalations", "breaches"):
            return [tree(c) for c in children]
        return {c.tag: tree(c) for c in children}

    root = ET.fromstring(text)
    assert root.tag == "service_requests" and [c.tag for c in root] == ["request"]
    return tree(root[0])


def as_text(value):
    """JSON values as XML carries them: text, empty for null, lists and maps alike inside."""
    if isinstance(value, dict):
        return {k: as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_text(v) for v in value] or None
    if value is None:
        return None
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


class Client:
    def __init__(self, api: ApiProcess) -> None:
        self.api, self.http = api, requests.Session()
        self.http.headers["X-Api-Key"] = api.key

    def request(self, matter: str) -> dict:
        """The request in JSON, checked equal to its XML read between two equal JSON reads (the
        matter may move on between two GETs while the pipeline runs)."""
        for _ in range(20):
            before = self.http.get(f"{self.api.url}/requests/{matter}.json", timeout=10)
            as_xml = self.http.get(f"{self.api.url}/requests/{matter}.xml", timeout=10)
            after = self.http.get(f"{self.api.url}/requests/{matter}.json", timeout=10)
            assert before.status_code == as_xml.status_code == after.status_code == 200, before.text
            assert as_xml.headers["Content-Type"].startswith("text/xml")
            if before.json() == after.json():
                shown = before.json()[0]
                assert xml_request(as_xml.content) == as_text(shown), "JSON and XML differ"
                return shown
        raise AssertionError(f"request {matter} changed between every pair of reads")

    def until(self, matter: str, what: str, check) -> dict:
        return wait_for(lambda: (lambda r: r if check(r) else None)(self.request(matter)), what, timeout=60,
                        context=lambda: self.api.child.tail())

    def event(self, matter: str, body: dict, key: str) -> None:
        answer = self.http.post(f"{self.api.url}/matters/{matter}/events", json=body,
                                headers={"Idempotency-Key": key}, timeout=30)
        assert answer.status_code == 202, answer.text


@pytest.mark.parametrize("store", ["chdb", "server"])
def test_a_request_is_routed_escalated_and_resolved_and_each_step_shows_over_http(settings, kafka_bootstrap,
                                                                                   clickhouse_server, tmp_path, store):
    from deploy.topics import delete_topics, ensure_topics

    run = uuid.uuid4().hex[:6]
    orgtree.dump_csv(generate(grids=40, seed=5), tmp_path / "city.csv")
    mine = settings.with_(topic_prefix=f"{settings.topic_prefix}-api-{run}", clock="event", partitions=2,
                          org_path=str(tmp_path / "city.csv"), store=store, clickhouse_database=f"api_{run}",
                          chdb_path=str(tmp_path / "chdb"), projector_group=f"api-{run}-projector",
                          projector_metrics_port=free_port(), worker_web_port=free_port(), scan_interval_seconds=0.5)
    ensure_topics(mine)
    worker = Child("worker", mine, ["worker", "--grace", "0.2"], tmp_path / "worker.log", cwd=ROOT).start()
    projector = Child("projector", mine, ["project", "--org", str(tmp_path / "city.csv")], tmp_path / "projector.log",
                      cwd=ROOT).start()
    api = ApiProcess(mine, tmp_path)
    clock = Publisher(mine, producer="e2e-clock", check_categories=False)
    try:
        api.start()
        client = Client(api)
        posted = client.http.post(f"{api.url}/requests.json", headers={"Idempotency-Key": f"e2e-{run}"}, timeout=30,
                                  data={"service_code": "sanitation", "address_id": "u-beijiang-c03",
                                        "description": "垃圾堆在3号门，已经三天了", **CONTACT})
        assert posted.status_code == 201, posted.text
        matter = posted.json()[0]["service_request_id"]

        routed = client.until(matter, "routing to the grid", lambda r: r["gridflow"]["state"] == "new")
        assert (routed["gridflow"]["level"], routed["gridflow"]["unit"]) == ("grid", "u-beijiang-g01")
        assert routed["status"] == "open" and routed["agency_responsible"] == "北江社区第1网格 (grid)"
        assert routed["address_id"] == "u-beijiang-c03" and routed["address"].startswith("北江明珠小区, ")
        assert routed["expected_datetime"] == routed["gridflow"]["deadlines"]["resolve_by"]

        client.event(matter, {"type": "accepted", "data": {"unit": "u-beijiang-g01", "handler": "h-grid-01"}}, "acc-grid")
        accepted = client.until(matter, "the grid's acceptance", lambda r: r["gridflow"]["state"] == "accepted")
        grid_due = datetime.fromisoformat(accepted["gridflow"]["deadlines"]["resolve_by"].replace("Z", "+00:00"))

        clock.watermark(grid_due + timedelta(minutes=1))  # event time passes the grid's resolve deadline
        escalated = client.until(matter, "the escalation", lambda r: r["gridflow"]["level"] == "community")
        assert escalated["gridflow"]["unit"] == "u-beijiang" and escalated["gridflow"]["state"] == "new"
        assert [(e["from_level"], e["to_level"], e["reason"]) for e in escalated["gridflow"]["escalations"]] == \
            [("grid", "community", "breach")]
        assert [(b["level"], b["deadline"]) for b in escalated["gridflow"]["breaches"]] == [("grid", "resolve")]
        assert escalated["agency_responsible"] == "北江社区 (community)" and "escalated from grid" in escalated["status_notes"]

        at = grid_due + timedelta(minutes=5)
        client.event(matter, {"type": "accepted", "at": at.isoformat(),
                              "data": {"unit": "u-beijiang", "handler": "h-comm-01"}}, "acc-comm")
        client.event(matter, {"type": "resolved", "at": (at + timedelta(minutes=30)).isoformat(),
                              "data": {"unit": "u-beijiang", "handler": "h-comm-01"}}, "res-comm")
        resolved = client.until(matter, "the resolution", lambda r: r["status"] == "closed")
        assert resolved["gridflow"]["resolved_level"] == "community" and resolved["expected_datetime"] is None

        listed = client.http.get(f"{api.url}/requests.json", params={"service_request_id": matter}, timeout=10).json()
        assert [r["service_request_id"] for r in listed] == [matter]

        personal = list(CONTACT.values())
        client.http.get(f"{api.url}/requests.json", params={"api_key": api.key, "service_code": "sanitation"}, timeout=10)
        logged, scraped = api.child.log_path.read_text(encoding="utf-8"), api.metrics()
        for secret in personal + [api.key]:
            assert secret not in logged and secret not in scraped, "personal data or a key in the API's log or metrics"
        for topic in (mine.topics.intake, mine.topics.events):
            for value in read_topic(mine, topic):
                assert not any(p.encode() in value for p in personal), f"personal data on {topic}"
        stored = wait_for(lambda: projected(mine, projector, matter), "the projector to write the matter", timeout=90,
                          context=projector.tail)
        assert not any(p in str(row) for row in stored for p in personal + ["垃圾堆"])
    finally:
        clock.close()
        api.stop()
        projector.stop()
        worker.stop()
        delete_topics(mine)
        if store == "server":
            clickhouse_server().execute(f"DROP DATABASE IF EXISTS {mine.clickhouse_database}")


def projected(settings, projector: Child, matter: str) -> list[tuple] | None:
    """The matter's rows in ClickHouse once the resolution is there. chdb is read only after
    the projector stopped: it locks its files while it writes, which is why the API never reads it."""
    from projections.store import open_store

    if settings.store == "chdb":
        if projector.alive():
            from gridflow.pipeline import PipelineWatch
            from streams.app import app_id

            watch = PipelineWatch(settings, worker_group=app_id(settings), projector_group=settings.projector_group)
            try:
                if not watch.backlog().done:
                    return None
            finally:
                watch.close()
            projector.stop()
    with open_store(settings) as store:
        rows = store.query(f"SELECT * FROM {settings.clickhouse_database}.events WHERE matter_id = %(m)s",
                           {"m": matter})
    return rows if any("resolved" in row for row in rows) else None
