"""The business calendar: natural time, or working days under China's official calendar
(holidays and make-up workdays, from the ``chinesecalendar`` package).

Working time is measured in China Standard Time (UTC+8, no daylight saving): a working day
contributes its 24 hours, a holiday or weekend contributes nothing. "3 working days" is
the instant at which 72 hours of working-day time have passed since the start — continuous,
so pausing and resuming is plain subtraction and addition. Beyond the package's data the
calendar falls back to Monday–Friday and reports each fallback day through ``on_fallback``.
"""
from __future__ import annotations

from datetime import date, timedelta, timezone
from typing import Callable

DAY_MS = 86_400_000
CST = timezone(timedelta(hours=8))
NATURAL, WORKING = "natural", "working"
_CST_MS = 8 * 3_600_000  # China Standard Time has no daylight saving: a local day is plain arithmetic
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def _official_workday(day: date) -> bool:
    import chinese_calendar  # the data, not I/O; kept local so a missing package fails loudly here

    return chinese_calendar.is_workday(day)


class Calendar:
    def __init__(self, is_workday: Callable[[date], bool] | None = None,
                 on_fallback: Callable[[date], None] | None = None) -> None:
        self._is_workday = is_workday or _official_workday
        self._on_fallback = on_fallback
        self._cache: dict[date, bool] = {}
        self._by_day: dict[int, bool] = {}  # the same answers keyed by local day number, for the loops below
        self.fallback_days: set[date] = set()

    def is_workday(self, day: date) -> bool:
        known = self._cache.get(day)
        if known is not None:
            return known
        try:
            answer = bool(self._is_workday(day))
        except NotImplementedError:  # outside the package's years
            answer = day.weekday() < 5
            if day not in self.fallback_days:
                self.fallback_days.add(day)
                if self._on_fallback is not None:
                    self._on_fallback(day)
        self._cache[day] = answer
        return answer

    def _workday(self, day_number: int) -> bool:
        """``is_workday`` of the local day ``day_number`` days after 1970-01-01 (CST)."""
        known = self._by_day.get(day_number)
        if known is None:
            known = self._by_day[day_number] = self.is_workday(date.fromordinal(_EPOCH_ORDINAL + day_number))
        return known

    def advance(self, start_ms: int, amount_ms: int, basis: str) -> int:
        """The instant ``amount_ms`` of ``basis`` time after ``start_ms``."""
        if basis == NATURAL:
            return start_ms + amount_ms
        if basis != WORKING:
            raise ValueError(f"basis: expected natural or working, got {basis!r}")
        t, left = start_ms, amount_ms
        day = (t + _CST_MS) // DAY_MS
        while True:
            day_end = (day + 1) * DAY_MS - _CST_MS
            if self._workday(day):
                if t + left <= day_end:
                    return t + left
                left -= day_end - t
            t, day = day_end, day + 1

    def measure(self, start_ms: int, end_ms: int, basis: str) -> int:
        """How much ``basis`` time lies between two instants (0 if end is before start)."""
        if end_ms <= start_ms:
            return 0
        if basis == NATURAL:
            return end_ms - start_ms
        total, t = 0, start_ms
        day = (t + _CST_MS) // DAY_MS
        while t < end_ms:
            stop = min((day + 1) * DAY_MS - _CST_MS, end_ms)
            if self._workday(day):
                total += stop - t
            t, day = stop, day + 1
        return total
