"""POST /matters/{id}/events: the events an app publishes after the report, as JSON."""
from __future__ import annotations

from aiohttp import web

from events.validation import to_wire
from gridflow.api import app_events, idempotency, metrics
from gridflow.api.core import API, presented_key
from gridflow.api.errors import not_found
from gridflow.api.responses import respond
from gridflow.sdk.factory import new_id


async def post_event(request: web.Request) -> web.Response:
    api = request.app[API]
    app = api.authorize(presented_key(request), "write")
    api.require_ready()
    matter = request.match_info["matter_id"]
    view = api.model.get(matter)
    if view is None:
        raise not_found(f"matter_id: no matter {matter[:80]!r} in the event log yet (a report takes the worker "
                        "a moment to route; retry shortly)")
    key = idempotency.check_key(request.headers.get("Idempotency-Key"))
    event_id = idempotency.event_id(app.app, matter, key) if key else new_id()
    event = app_events.read(await request.read(), matter_id=matter, producer=app.app, event_id=event_id)
    digest = idempotency.content_digest(event.TYPE, to_wire(event)["data"])
    if key is None:
        await api.publisher.publish(event)
        replay = False
    else:
        event, replay = await api.submitter.submit(
            event, digest, known=lambda: _recorded(api, matter, event_id), what=f"event {event_id}",
            acked=lambda e: api.model.publishing_event(e.event_id, digest))
    if replay:
        metrics.REPLAYS.labels("matter_events").inc()
    body = {"event_id": event.event_id, "service_request_id": matter, "type": event.TYPE,
            "status": "published: the pipeline applies it, or dead-letters it with the reason if the matter's "
                      "state refuses it; GET /requests/{id} shows the result"}
    return respond(request, body, "event", status=200 if replay else 202,
                   headers={"Idempotent-Replayed": "true"} if replay else None)


def _recorded(api, matter: str, event_id: str) -> bytes | None:
    view = api.model.get(matter)  # asked afresh: the log may have moved while the request waited
    return None if view is None else api.model.keyed_digest(view, event_id)
