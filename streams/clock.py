"""The stream clock the SLA scanner uses: "now" per partition of the accepted topic.

- ``wall``: the wall clock minus a grace period (late deliveries still beat the timer).
- ``event``: the low watermark. Publishers put a copy of each watermark on every intake
  partition, behind the events it covers; the intake forwards each copy to every partition
  of the accepted topic, tagged with the intake partition it came through (header
  ``gridflow-source``). A partition's clock is the minimum over intake partitions of the
  newest watermark each has passed on, so every event published before a watermark is
  ahead of it on every partition, whichever order the intake read its partitions in.
Timers due strictly before the watermark may fire: a later event can still carry the
watermark's own instant.
"""
from __future__ import annotations

import time
from typing import Callable

WALL, EVENT = "wall", "event"


def wall_ms() -> int:
    return int(time.time() * 1000)


class StreamClock:
    def __init__(self, mode: str, *, sources: int, grace_ms: int = 0,
                 wall: Callable[[], int] = wall_ms) -> None:
        if mode not in (WALL, EVENT):
            raise ValueError(f"clock: expected wall or event, got {mode!r}")
        self.mode, self.sources, self.grace_ms, self._wall = mode, sources, grace_ms, wall
        self._marks: dict[int, dict[int, int]] = {}  # partition -> intake partition -> watermark

    def observe(self, partition: int, source: int, watermark: int) -> bool:
        """Record a watermark copy; True if that source moved forward."""
        marks = self._marks.setdefault(partition, {})
        if watermark <= marks.get(source, -1):
            return False
        marks[source] = watermark
        return True

    def marks(self, partition: int) -> dict[int, int]:
        return dict(self._marks.get(partition, {}))

    def restore(self, partition: int, marks: dict[int, int]) -> None:
        for source, watermark in marks.items():
            self.observe(partition, int(source), int(watermark))

    def forget(self, partition: int) -> None:
        self._marks.pop(partition, None)

    def watermark(self, partition: int) -> int | None:
        """The low watermark of a partition: None until every intake partition has reported."""
        marks = self._marks.get(partition, {})
        if len(marks) < self.sources:
            return None
        return min(marks.values())

    def now(self, partition: int) -> int | None:
        """Timers due at or before this instant may be proposed (None: not yet)."""
        if self.mode == WALL:
            return self._wall() - self.grace_ms
        low = self.watermark(partition)
        return None if low is None else low - 1

    def newest(self) -> int | None:
        """The newest event time this clock knows (for the event-time lag gauge)."""
        if self.mode == WALL:
            return None
        lows = [w for p in self._marks if (w := self.watermark(p)) is not None]
        return max(lows) if lows else None
