"""A bounded load test on loopback: hundreds of concurrent POSTs (a fifth of them sent twice at
once with the same Idempotency-Key, as a client that retries too early) against `gridflow api`
and a worker on the real broker. Every accepted request is in the event log exactly once, the
retries published nothing, and the latency percentiles are printed (docs/performance.md)."""
from __future__ import annotations

import asyncio
import statistics
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from api_process import ApiProcess, intake_count, read_topic, wait_for  # noqa: E402
from events import codec, orgtree  # noqa: E402
from gridflow.children import Child, free_port  # noqa: E402
from gridflow.city import generate  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
ROOT = Path(__file__).resolve().parents[2]
REQUESTS, TWICE, CONCURRENCY = 800, 160, 200
PLACES = [f"u-beijiang-c{i:02d}" for i in range(1, 19)]


async def fire(url: str, key: str) -> list[tuple[str, int, str, float]]:
    """(idempotency key, status, matter id, seconds) of every POST, CONCURRENCY in flight at most."""
    gate = asyncio.Semaphore(CONCURRENCY)
    run = uuid.uuid4().hex[:8]

    async def post(session: aiohttp.ClientSession, i: int) -> tuple[str, int, str, float]:
        idem = f"load-{run}-{i}"
        form = {"service_code": ("sanitation", "facility_repair", "elderly_care")[i % 3],
                "address_id": PLACES[i % len(PLACES)], "description": f"load test matter {i}",
                "phone": f"1380013{i:04d}"}
        async with gate:
            started = time.perf_counter()
            async with session.post(url, data=form, headers={"X-Api-Key": key, "Idempotency-Key": idem}) as answer:
                body = await answer.json()
                elapsed = time.perf_counter() - started
        return idem, answer.status, body[0].get("service_request_id", ""), elapsed

    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:
        jobs = [post(session, i) for i in range(REQUESTS)] + [post(session, i) for i in range(TWICE)]
        return await asyncio.gather(*jobs)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def test_hundreds_of_concurrent_posts_each_land_in_the_log_exactly_once(settings, kafka_bootstrap, tmp_path):
    from deploy.topics import delete_topics, ensure_topics

    orgtree.dump_csv(generate(grids=20, seed=2), tmp_path / "city.csv")
    mine = settings.with_(topic_prefix=f"{settings.topic_prefix}-api-load-{uuid.uuid4().hex[:6]}", clock="wall",
                          org_path=str(tmp_path / "city.csv"), worker_web_port=free_port(),
                          api_rate_per_second=100_000.0, api_rate_burst=100_000)
    ensure_topics(mine)
    worker = Child("worker", mine, ["worker"], tmp_path / "worker.log", cwd=ROOT).start()
    api = ApiProcess(mine, tmp_path)
    try:
        api.start()
        started = time.perf_counter()
        results = asyncio.run(fire(api.url + "/requests.json", api.key))
        wall = time.perf_counter() - started
        statuses = Counter(status for _, status, _, _ in results)
        assert set(statuses) <= {200, 201}, statuses
        ids: dict[str, set[str]] = {}
        for idem, _, matter, _ in results:
            ids.setdefault(idem, set()).add(matter)
        assert all(len(m) == 1 for m in ids.values()), "a retried key got another matter id"
        accepted = {m for ms in ids.values() for m in ms}
        assert len(accepted) == REQUESTS and statuses[201] == REQUESTS
        assert intake_count(mine) == REQUESTS, "a retry published a second event"

        def reported() -> Counter | None:
            found = Counter(codec.unpack(v)["matter"] for v in read_topic(mine, mine.topics.events)
                            if codec.unpack(v)["type"] == "reported")
            return found if set(found) >= accepted else None

        in_log = wait_for(reported, "every accepted request in the event log", timeout=120, interval=1.0,
                          context=worker.tail)
        assert set(in_log) == accepted and set(in_log.values()) == {1}

        latencies = [seconds for _, status, _, seconds in results]
        p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
        print(f"\nAPI load: {len(results)} POSTs ({REQUESTS} new, {TWICE} retried at once), {CONCURRENCY} in flight, "
              f"{wall:.1f} s, {len(results) / wall:.0f}/s; latency p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
              f"mean {statistics.mean(latencies) * 1000:.0f} ms; {statuses[200]} replays")
        assert p99 < 10, "p99 latency above 10 s on loopback"
        metrics = api.metrics()
        assert 'gridflow_api_requests_total{method="POST",route="post_request",status="201"} 800.0' in metrics
    finally:
        api.stop()
        worker.stop()
        delete_topics(mine)
