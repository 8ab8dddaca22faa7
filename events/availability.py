"""A resource's weekly availability: windows like ``mon-fri 09:00-17:00``, ``sat 08:30-12:00``
or ``daily 19:00-21:00``, in China Standard Time (UTC+8, no daylight saving).

Pure: parsing and one question, "is it available at this instant?". A resource without
windows is always available. A window may end at ``24:00``; it never crosses midnight (two
windows say ``fri 20:00-24:00`` and ``sat 00:00-02:00``).
"""
from __future__ import annotations

import re
from typing import NamedTuple

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WINDOW_MAX = 32  # characters of one window's text
_WINDOW = re.compile(r"^(daily|[a-z]{3})(?:-([a-z]{3}))? ([0-2]\d):([0-5]\d)-([0-2]\d):([0-5]\d)$")
_DAY_MS, _MIN_MS, _CST_MS = 86_400_000, 60_000, 8 * 3_600_000
# 1970-01-01 was a Thursday: local day number d is weekday (d + 3) % 7 with Monday = 0
_EPOCH_WEEKDAY = 3
RULE = "a window like 'mon-fri 09:00-17:00', 'sat 08:30-12:00' or 'daily 19:00-21:00' (China time)"


class Window(NamedTuple):
    days: frozenset[int]  # 0 Monday .. 6 Sunday
    start_min: int  # minutes after local midnight
    end_min: int  # exclusive; at most 24 * 60


def parse_window(text: str) -> Window:
    """One window, or ValueError saying what was expected."""
    match = _WINDOW.match(text.strip().lower()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"expected {RULE}, got {text!r}")
    first, last, h1, m1, h2, m2 = match.groups()
    if first == "daily":
        if last is not None:
            raise ValueError(f"expected {RULE}, got {text!r} (daily takes no range)")
        days = frozenset(range(7))
    else:
        if first not in DAYS or (last is not None and last not in DAYS):
            raise ValueError(f"expected days among {', '.join(DAYS)} or daily, got {text!r}")
        a, b = DAYS.index(first), DAYS.index(last or first)
        days = frozenset(range(a, b + 1)) if a <= b else frozenset([*range(a, 7), *range(0, b + 1)])
    start, end = int(h1) * 60 + int(m1), int(h2) * 60 + int(m2)
    if start >= 24 * 60 or end > 24 * 60 or start >= end:
        raise ValueError(f"expected a start before the end, within one day (00:00-24:00), got {text!r}")
    return Window(days, start, end)


def parse(windows: list[str] | tuple[str, ...] | None) -> tuple[Window, ...]:
    return tuple(parse_window(w) for w in windows or ())


def available(windows: tuple[Window, ...], at: int) -> bool:
    """True when ``at`` (UTC epoch ms) falls in one of the windows, or there are none."""
    if not windows:
        return True
    local = at + _CST_MS
    day, minute = divmod(local, _DAY_MS)
    weekday, minute = (day + _EPOCH_WEEKDAY) % 7, minute // _MIN_MS
    return any(weekday in w.days and w.start_min <= minute < w.end_min for w in windows)
