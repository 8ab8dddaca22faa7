"""Shared pieces of the API's unit tests: a small org tree, the policy, a key ring, an Api whose
publisher records instead of sending (a fake that subclasses the port) and whose read model is
fed by the tests, and an aiohttp test client around it."""
from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

from aiohttp.test_utils import TestClient, TestServer

from events import policy as policy_mod
from events.levels import Level
from events.orgtree import OrgTree, OrgUnit
from events.types import Event
from gridflow.api.core import Api
from gridflow.api.errors import ApiError
from gridflow.api.follower import LogFollower
from gridflow.api.keys import KeyRing, key_line
from gridflow.api.publisher import EventPublisher
from gridflow.api.server import build
from gridflow.api.submit import Submitter
from gridflow.settings import Settings

UNITS = [("u-city", "city", None, "金昌市"), ("u-dist", "district", "u-city", "金川区"),
         ("u-street", "street", "u-dist", "宁远堡镇"), ("u-comm", "community", "u-street", "中牌村"),
         ("u-g1", "grid", "u-comm", "中牌村第1网格"), ("u-k1", "compound", "u-g1", "一号楼"),
         ("u-city2", "city", None, "子长市")]
WRITER_KEY, READER_KEY = "gf_test-writer-key-0123456789abcdef", "gf_test-reader-key-0123456789abcdef"
KEYS = KeyRing.parse(f"{key_line('hotline-12345', WRITER_KEY)}\n{key_line('dashboard', READER_KEY, ('read',))}",
                     "test")
SECRET = b"unit-test-secret-0123456789"


def tree() -> OrgTree:
    return OrgTree(OrgUnit(u, Level.parse(lv), p, n) for u, lv, p, n in UNITS)


class RecordingPublisher(EventPublisher):
    """Acknowledges every event at once, or refuses while ``down``."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.sent: list[Event] = []
        self.down = False

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def publish(self, event: Event) -> None:
        if self.down:
            raise ApiError(503, "Kafka did not acknowledge the event", headers={"Retry-After": "5"})
        self.sent.append(event)


class FedFollower(LogFollower):
    """Ready at once; the test feeds the read model itself."""

    async def run(self) -> None:
        self.ready.set()
        await asyncio.Event().wait()


def make_api(**overrides: Any) -> Api:
    settings = Settings().with_(**{"topic_prefix": "unit", "api_rate_per_second": 1000.0, "api_rate_burst": 1000,
                                   **overrides})
    api = Api(settings, KEYS, SECRET, policy_mod.load(), tree())
    api.publisher = RecordingPublisher(settings)
    api.submitter = Submitter(api.publisher)
    api.follower = FedFollower(settings, api.model)
    return api


def with_client(api: Api, scenario: Callable[[TestClient], Awaitable[None]]) -> None:
    async def main() -> None:
        async with TestClient(TestServer(build(api))) as client:
            await asyncio.sleep(0)  # the follower task marks the model ready
            await scenario(client)

    asyncio.run(main())
