from __future__ import annotations

import pytest

from gridflow.api import query
from gridflow.api.errors import ApiError
from gridflow.api.matterview import MatterView
from gridflow.api.readmodel import ReadModel

DAY = query.DAY_MS
NOW = 1_780_000_000_000


def model_of(n: int) -> ReadModel:
    model = ReadModel()
    for i in range(n):
        for record in ({"id": f"e{i}", "matter": f"m-{i}", "type": "reported", "at": NOW - (n - i) * DAY // 10,
                        "data": {"category": "sanitation" if i % 2 else "micro_wish", "priority": "normal",
                                 "place": "u-k1"}},):
            model.apply(record)
    return model


def test_without_dates_the_last_90_days_newest_first_in_pages():
    model = model_of(30)
    first = query.run(model, query.parse({"page_size": "10"}, now_ms=NOW))
    second = query.run(model, query.parse({"page_size": "10", "page": "2"}, now_ms=NOW))
    assert [v.matter_id for v in first] == [f"m-{i}" for i in range(29, 19, -1)]
    assert [v.matter_id for v in second] == [f"m-{i}" for i in range(19, 9, -1)]


def test_filters_by_service_status_and_window():
    model = model_of(30)
    found = query.run(model, query.parse({"service_code": "sanitation", "status": "open"}, now_ms=NOW))
    assert {v.category for v in found} == {"sanitation"} and len(found) == 15
    start = query.parse({"start_date": "2026-05-25T00:00:00Z", "end_date": "2026-05-28T20:26:40+00:00"}, now_ms=NOW)
    assert all(start.start <= v.requested_at <= start.end for v in query.run(model, start))


def test_ids_override_the_other_filters_and_unknown_ids_are_left_out():
    found = query.run(model_of(5), query.parse({"service_request_id": "m-3,m-nope,m-1", "status": "closed"}))
    assert [v.matter_id for v in found] == ["m-3", "m-1"]


@pytest.mark.parametrize("params, says", [
    ({"status": "pending"}, "status: expected open, closed or both"),
    ({"start_date": "yesterday"}, "start_date: expected a w3 date-time"),
    ({"start_date": "2026-01-01T00:00:00"}, "start_date: expected a w3 date-time with a zone"),
    ({"start_date": "2026-01-01", "end_date": "2026-06-01"}, "end_date: expected a time after start_date and at most 90 days"),
    ({"page_size": "5000"}, "page_size: expected an integer from 1 to 1000"),
    ({"sort": "asc"}, "sort: expected one of the arguments"),
])
def test_bad_arguments_are_a_400_naming_them(params, says):
    with pytest.raises(ApiError) as caught:
        query.parse(params)
    assert caught.value.status == 400 and caught.value.description.startswith(says)


def test_a_pending_matter_is_listed_before_the_log_has_it():
    model = model_of(2)
    model.publishing(MatterView("m-new", category="sanitation", requested_at=NOW))
    assert query.run(model, query.parse({}, now_ms=NOW))[0].matter_id == "m-new"
