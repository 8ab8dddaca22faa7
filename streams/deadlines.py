"""The scanner's in-memory deadline index: per partition, each open matter's next timer,
in a heap ordered by due time. Rebuilt from the matter table after every recovery; the
agent updates it after each event; the scanner pops what is due and proposes it.

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


class DeadlineIndex:
    def __init__(self) -> None:
        self._live: dict[int, dict[str, tuple[int, int, str]]] = {}
        self._heap: dict[int, list[tuple[int, str]]] = {}

    def set(self, partition: int, matter_id: str, timer: tuple[int, int, str] | None) -> None:
        """The matter's next timer ``(due, cycle, deadline)``, or None when it has none."""
        live = self._live.setdefault(partition, {})
        if timer is None:
            live.pop(matter_id, None)
            return
        if live.get(matter_id) == timer:
            return
        live[matter_id] = timer
        heap = self._heap.setdefault(partition, [])
        heapq.heappush(heap, (timer[0], matter_id))
        if len(heap) > 2 * len(live) + 1024:
            self._heap[partition] = [(t[0], m) for m, t in live.items()]
            heapq.heapify(self._heap[partition])

    def pop_due(self, partition: int, now: int, limit: int | None = None) -> list[Due]:
        """Remove and return the timers due at or before ``now``, earliest first."""
        heap, live = self._heap.get(partition, []), self._live.get(partition, {})
        out: list[Due] = []
        while heap and heap[0][0] <= now and (limit is None or len(out) < limit):
            due, matter_id = heapq.heappop(heap)
            timer = live.get(matter_id)
            if timer is not None and timer[0] == due:
                del live[matter_id]
                out.append(Due(matter_id, due, timer[1], timer[2]))
        return out

    def next_due(self, partition: int) -> int | None:
        live = self._live.get(partition, {})
        return min((t[0] for t in live.values()), default=None)

    def drop(self, partition: int) -> None:
        self._live.pop(partition, None)
        self._heap.pop(partition, None)

    def partitions(self) -> set[int]:
        return set(self._live)

    def __len__(self) -> int:
        return sum(len(live) for live in self._live.values())
