"""GET /requests: GeoReport's filters and the paging extension most servers implement.

``service_request_id`` (comma-separated, up to 100) overrides every other argument. Otherwise
``service_code`` and ``status`` (comma-separated), and ``start_date``/``end_date`` on the
requested time: at most 90 days apart; without either, the last 90 days. ``page`` (from 1)
and ``page_size`` (1-1000, default 1000). Newest first."""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import islice
from typing import Mapping

from gridflow.api.errors import bad
from gridflow.api.matterview import MatterView
from gridflow.api.readmodel import ReadModel

DAY_MS = 86_400_000
WINDOW_MS = 90 * DAY_MS
IDS_MAX, PAGE_MAX = 100, 1000
KNOWN = {"service_request_id", "service_code", "status", "start_date", "end_date", "page", "page_size",
         "jurisdiction_id", "api_key"}


@dataclass(frozen=True)
class Query:
    ids: tuple[str, ...] = ()
    codes: frozenset[str] = frozenset()
    statuses: frozenset[str] = frozenset()
    start: int = 0
    end: int = 0
    page: int = 1
    page_size: int = PAGE_MAX


def parse(params: Mapping[str, str], now_ms: int | None = None) -> Query:
    unknown = sorted(set(params) - KNOWN)
    if unknown:
        raise bad(unknown[0][:64], "one of the arguments " + ", ".join(sorted(KNOWN - {"api_key"})))
    ids = _list(params, "service_request_id")
    if len(ids) > IDS_MAX:
        raise bad("service_request_id", f"at most {IDS_MAX} ids", f"{len(ids)} ids")
    statuses = frozenset(_list(params, "status"))
    if statuses - {"open", "closed"}:
        raise bad("status", "open, closed or both (comma-separated)", params.get("status"))
    start, end = _time(params, "start_date"), _time(params, "end_date")
    if start is not None and end is not None and not 0 <= end - start <= WINDOW_MS:
        raise bad("end_date", "a time after start_date and at most 90 days after it", params.get("end_date"))
    now = int(time.time() * 1000) if now_ms is None else now_ms
    if start is None and end is None:
        start, end = now - WINDOW_MS, now + DAY_MS  # a day ahead: producers' clocks drift
    elif start is None:
        start = end - WINDOW_MS
    elif end is None:
        end = start + WINDOW_MS
    return Query(tuple(ids), frozenset(_list(params, "service_code")), statuses, start, end,
                 _int(params, "page", 1, 1, 10**9), _int(params, "page_size", PAGE_MAX, 1, PAGE_MAX))


def run(model: ReadModel, query: Query) -> list[MatterView]:
    if query.ids:
        return [v for v in (model.get(i) for i in dict.fromkeys(query.ids)) if v is not None]
    matching = (v for v in model.newest_first() if _matches(v, query))
    return list(islice(matching, (query.page - 1) * query.page_size, query.page * query.page_size))


def _matches(view: MatterView, q: Query) -> bool:
    return (q.start <= view.requested_at <= q.end and (not q.codes or view.category in q.codes)
            and (not q.statuses or ("closed" if view.closed else "open") in q.statuses))


def _list(params: Mapping[str, str], name: str) -> list[str]:
    return [v.strip() for v in params.get(name, "").split(",") if v.strip()]


def _time(params: Mapping[str, str], name: str) -> int | None:
    text = params.get(name)
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        when = None
    if when is None or (when.tzinfo is None and "T" in text):
        raise bad(name, "a w3 date-time with a zone, e.g. 2026-03-01T00:00:00Z, or a date", text)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return int(when.timestamp() * 1000)


def _int(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = params.get(name)
    if not text:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise bad(name, f"an integer from {low} to {high}", text)
    return int(text)

