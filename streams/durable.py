"""A Faust table whose changelog writes can be awaited.

Faust sends a table's changelog records through its producer buffer and, before it commits
the source offsets, flushes that buffer for at most 0.1 s per record. A record still in the
buffer then — typical right after start-up, while the first sends wait for topic metadata —
is lost in a crash although the input that produced it counts as processed: after the
restart the matter's state is older than its committed input (seen here: SIGKILL a second
after start-up left a state without an `accepted` whose offset had been committed, and
the matter was escalated again).

So the matter agent awaits ``confirm()`` before it returns: an input is acknowledged to
Faust only once the state it produced is in Kafka, and a crash leaves either the old state
with the input redone, or the new state with its outputs already durable.
"""
from __future__ import annotations

import asyncio

import faust


class DurableTable(faust.Table):
    def _unconfirmed(self) -> list:
        return self.__dict__.setdefault("_gridflow_unconfirmed", [])

    def send_changelog(self, *args, **kwargs):
        fut = super().send_changelog(*args, **kwargs)
        self._unconfirmed().append(fut)
        return fut

    async def confirm(self) -> None:
        """Wait until Kafka acknowledged every changelog record written since the last call."""
        futures = self._unconfirmed()
        if futures:
            self.__dict__["_gridflow_unconfirmed"] = []
            await asyncio.gather(*futures)
