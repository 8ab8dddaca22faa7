"""The API's read model: every matter's view, packed, keyed by matter id, in the order the
log first named them; plus what this API published that the log has not shown yet (so a
client reads its own write at once, and a retry in that window is still recognised)."""
from __future__ import annotations

import time
from typing import Any, Callable, Iterator

from gridflow.api.idempotency import id_digest
from gridflow.api.matterview import MatterView, apply

PENDING_SECONDS = 600.0  # what the log has not shown after ten minutes was refused by the pipeline
PENDING_MAX = 100_000


class ReadModel:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._views: dict[str, bytes] = {}
        self._pending: dict[str, tuple[MatterView, float]] = {}  # reports not in the log yet
        self._pending_events: dict[str, tuple[bytes, float]] = {}  # keyed event id -> (content digest, until)
        self.clock = clock
        self.events = 0  # log records folded

    def __len__(self) -> int:
        return len(self._views)

    def apply(self, record: dict[str, Any]) -> None:
        matter = record["matter"]
        packed = self._views.get(matter)
        view = apply(None if packed is None else MatterView.unpack(matter, packed), record)
        if view is not None:
            self._views[matter] = view.pack()
        self.events += 1
        if record["type"] == "reported":
            self._pending.pop(matter, None)
        self._pending_events.pop(record["id"], None)

    def get(self, matter_id: str) -> MatterView | None:
        packed = self._views.get(matter_id)
        if packed is not None:
            return MatterView.unpack(matter_id, packed)
        pending = self._pending.get(matter_id)
        if pending is not None and pending[1] > self.clock():
            return pending[0]
        return None

    def known(self, matter_id: str) -> bool:
        return self.get(matter_id) is not None

    def keyed_digest(self, view: MatterView, event_id: str) -> bytes | None:
        """The content digest of a keyed event of this matter, from the log or still pending."""
        wanted = id_digest(event_id)
        for mark, digest in view.keyed:
            if mark == wanted:
                return digest
        pending = self._pending_events.get(event_id)
        return pending[0] if pending is not None and pending[1] > self.clock() else None

    def publishing(self, view: MatterView) -> None:
        """A report this API had acknowledged, shown until the log has it."""
        self._pending[view.matter_id] = (view, self.clock() + PENDING_SECONDS)
        _trim(self._pending, self.clock())

    def publishing_event(self, event_id: str, digest: bytes) -> None:
        self._pending_events[event_id] = (digest, self.clock() + PENDING_SECONDS)
        _trim(self._pending_events, self.clock())

    def newest_first(self) -> Iterator[MatterView]:
        """Pending reports, then every matter from the newest first named by the log."""
        now = self.clock()
        for matter_id, (view, until) in reversed(list(self._pending.items())):
            if until > now and matter_id not in self._views:
                yield view
        for matter_id in reversed(self._views):
            yield MatterView.unpack(matter_id, self._views[matter_id])


def _trim(entries: dict, now: float) -> None:
    """Drop what expired (oldest first: they expire in insertion order) and keep the map bounded."""
    while entries:
        first = next(iter(entries))
        if entries[first][1] > now and len(entries) <= PENDING_MAX:
            return
        del entries[first]
