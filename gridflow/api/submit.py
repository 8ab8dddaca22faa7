"""Publishing a keyed request exactly once, whatever the client's retries do.

Before a keyed event is sent the API asks what it already knows under that event id — the
log, through the read model, or its own acknowledged sends the log has not shown yet: the
same content is answered as a replay and nothing is sent; other content is a 409. Two
requests with one key at the same moment are taken one after the other. When Kafka did not
acknowledge, the very event (its time included) is kept and sent again on the retry, so a
late acknowledgement of the first send cannot make the retry a conflicting twin."""
from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Callable

from events.types import Event
from gridflow.api.errors import ApiError
from gridflow.api.publisher import EventPublisher

UNSURE_MAX = 10_000


class Submitter:
    def __init__(self, publisher: EventPublisher) -> None:
        self.publisher = publisher
        self._inflight: dict[str, asyncio.Future] = {}
        self._unsure: OrderedDict[str, tuple[Event, bytes]] = OrderedDict()  # event id -> (event, digest)

    async def submit(self, event: Event, digest: bytes, *, known: Callable[[], bytes | None],
                     acked: Callable[[Event], None], what: str) -> tuple[Event, bool]:
        """Publish ``event`` (keyed by its id) unless it was; returns the event that stands and
        whether this was a replay. ``known()`` gives the digest recorded under the id, if any."""
        key = event.event_id
        while (waiting := self._inflight.get(key)) is not None:
            await asyncio.wait([waiting])
        seen = known()
        if seen is not None:
            if seen != digest:
                raise ApiError(409, f"Idempotency-Key: already used for a different request ({what}); "
                                    "send a new key for a new request")
            return event, True
        earlier = self._unsure.pop(key, None)
        if earlier is not None and earlier[1] == digest:
            event = earlier[0]
        future = self._inflight[key] = asyncio.get_running_loop().create_future()
        try:
            await self.publisher.publish(event)
        except ApiError:
            self._unsure[key] = (event, digest)
            while len(self._unsure) > UNSURE_MAX:
                self._unsure.popitem(last=False)
            raise
        else:
            acked(event)
        finally:
            del self._inflight[key]
            future.set_result(None)
        return event, False
