"""The matter table's changelog writes can be awaited: ``confirm()`` returns once Kafka
acknowledged every record written since the last call, and fails when one was refused."""
from __future__ import annotations

import asyncio

import faust
import pytest

from streams.durable import DurableTable


@pytest.fixture
def table(monkeypatch):
    sent: list[asyncio.Future] = []

    def send_changelog(self, partition, key, value, **kw):  # stands in for the producer buffer
        fut = asyncio.get_running_loop().create_future()
        sent.append(fut)
        return fut

    monkeypatch.setattr(faust.Table, "send_changelog", send_changelog)
    app = faust.App("durable-test", store="memory://", Table=DurableTable)
    t = app.Table("t", partitions=1)
    assert isinstance(t, DurableTable)
    return t, sent


def test_confirm_waits_for_every_changelog_record_written_since_the_last_call(table):
    t, sent = table

    async def scenario():
        t.send_changelog(0, b"a", b"1")
        t.send_changelog(0, b"b", b"2")
        waiting = asyncio.ensure_future(t.confirm())
        sent[0].set_result("ack")
        await asyncio.sleep(0)  # one turn of the event loop, not a timed wait
        assert not waiting.done()  # the second record is not acknowledged yet
        sent[1].set_result("ack")
        await asyncio.wait_for(waiting, 1)
        await asyncio.wait_for(t.confirm(), 1)  # nothing new: returns at once

    asyncio.run(scenario())


def test_a_refused_changelog_record_fails_the_confirmation(table):
    t, sent = table

    async def scenario():
        t.send_changelog(0, b"a", b"1")
        sent[0].set_exception(OSError("not leader"))
        with pytest.raises(OSError, match="not leader"):
            await t.confirm()

    asyncio.run(scenario())
