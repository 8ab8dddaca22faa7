"""The timers of one partition: each open matter's next timer, in a heap ordered by due time.
Built from the states after a recovery; the partition updates it after every decision and
pops what is due when its clock moves.

Entries are replaced lazily: the dict holds the live timer per matter, the heap may hold
stale ones, skipped when popped and compacted when they outnumber the live ones.
"""
from __future__ import annotations

import heapq
from typing import NamedTuple


class Due(NamedTuple):
    matter_id: str
    due: int
    cycle: int
    deadline: str  # accept | resolve | warning


class Timers:
    __slots__ = ("_live", "_heap")

    def __init__(self) -> None:
        self._live: dict[str, tuple[int, int, str]] = {}
        self._heap: list[tuple[int, str]] = []

    def set(self, matter_id: str, timer: tuple[int, int, str] | None) -> None:
        """The matter's next timer ``(due, cycle, deadline)``, or None when it has none."""
        live = self._live
        if timer is None:
            live.pop(matter_id, None)
            return
        if live.get(matter_id) == timer:
            return
        live[matter_id] = timer
        heap = self._heap
        heapq.heappush(heap, (timer[0], matter_id))
        if len(heap) > 2 * len(live) + 1024:
            self._heap = [(t[0], m) for m, t in live.items()]
            heapq.heapify(self._heap)

    def pop_due(self, now: int, limit: int | None = None) -> list[Due]:
        """Remove and return the timers due at or before ``now``, earliest first."""
        heap, live = self._heap, self._live
        out: list[Due] = []
        while heap and heap[0][0] <= now and (limit is None or len(out) < limit):
            due, matter_id = heapq.heappop(heap)
            timer = live.get(matter_id)
            if timer is not None and timer[0] == due:
                del live[matter_id]
                out.append(Due(matter_id, due, timer[1], timer[2]))
        return out

    def next_due(self) -> int | None:
        heap, live = self._heap, self._live
        while heap and live.get(heap[0][1], (None,))[0] != heap[0][0]:
            heapq.heappop(heap)  # stale
        return heap[0][0] if heap else None

    def __len__(self) -> int:
        return len(self._live)
