"""Natural and working-day time on China's official calendar, with the Monday–Friday fallback."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from events.calendar import CST, NATURAL, WORKING, Calendar

H = 3_600_000
DAY = 24 * H


def at(y, m, d, hh=0, mm=0) -> int:
    return int(datetime(y, m, d, hh, mm, tzinfo=CST).timestamp() * 1000)


def test_natural_hours_ignore_the_calendar():
    assert Calendar().advance(at(2026, 10, 1, 9), 8 * H, NATURAL) == at(2026, 10, 1, 17)


def test_working_days_skip_a_weekend():
    # Friday 2026-03-13 15:00 + 2 working days -> Tuesday 15:00
    assert Calendar().advance(at(2026, 3, 13, 15), 2 * DAY, WORKING) == at(2026, 3, 17, 15)


def test_working_days_skip_the_national_day_holiday():
    # 2026-09-30 (Wednesday, a workday) 10:00 + 1 working day: Oct 1-7 are holidays,
    # so the deadline lands on the next workday
    cal = Calendar()
    deadline = cal.advance(at(2026, 9, 30, 10), DAY, WORKING)
    assert datetime.fromtimestamp(deadline / 1000, tz=CST).date() > date(2026, 10, 7)
    assert not cal.is_workday(date(2026, 10, 1))


def test_a_make_up_workday_on_a_weekend_counts():
    # Sunday 2026-09-20 is a make-up workday for the National Day holiday
    cal = Calendar()
    assert date(2026, 9, 20).weekday() == 6 and cal.is_workday(date(2026, 9, 20))
    assert cal.advance(at(2026, 9, 20, 0), 12 * H, WORKING) == at(2026, 9, 20, 12)


def test_measure_is_the_inverse_of_advance():
    cal = Calendar()
    start = at(2026, 9, 29, 17)
    for amount in (H, DAY, 3 * DAY, 5 * DAY + 7 * H):
        assert cal.measure(start, cal.advance(start, amount, WORKING), WORKING) == amount


def test_pausing_over_a_weekend_costs_no_working_time():
    cal = Calendar()
    assert cal.measure(at(2026, 3, 14, 8), at(2026, 3, 16, 0), WORKING) == 0
    assert cal.measure(at(2026, 3, 14, 8), at(2026, 3, 16, 0), NATURAL) == 40 * H


def test_beyond_the_calendar_data_falls_back_to_monday_to_friday_and_says_so():
    seen = []

    def beyond(day):
        raise NotImplementedError(f"no data for {day.year}")

    cal = Calendar(is_workday=beyond, on_fallback=seen.append)
    # Friday 2031-01-03 12:00 + 1 working day -> Monday 12:00 (weekend skipped by the fallback)
    assert cal.advance(at(2031, 1, 3, 12), DAY, WORKING) == at(2031, 1, 6, 12)
    assert date(2031, 1, 3) in seen and len(seen) == len(set(seen))


def test_unknown_basis_is_refused():
    with pytest.raises(ValueError, match="basis"):
        Calendar().advance(0, H, "lunar")
