"""The GeoReport v2 routes: services, service definitions, service requests (list, one, new)
and service discovery. Each route also answers with a ``.json`` or ``.xml`` suffix."""
from __future__ import annotations

from aiohttp import web

from events.validation import to_wire
from gridflow.api import idempotency, metrics, query, reports, views
from gridflow.api.core import API, presented_key
from gridflow.api.errors import not_found
from gridflow.api.forms import parse
from gridflow.api.matterview import MatterView
from gridflow.api.pseudonym import reporter_id
from gridflow.api.render import split_format
from gridflow.api.responses import respond

SPEC = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-01-01T00:00:00Z"


async def services(request: web.Request) -> web.Response:
    api = request.app[API]
    api.throttle(f"addr:{request.remote}")  # the catalogue is open even when matters need a read key
    api.places.city(request.query.get("jurisdiction_id"))
    return respond(request, [api.catalogue.service(c) for c in api.catalogue.codes()], "services")


async def service_definition(request: web.Request) -> web.Response:
    api = request.app[API]
    api.throttle(f"addr:{request.remote}")
    api.places.city(request.query.get("jurisdiction_id"))
    code, _ = split_format(request.match_info["service_code"])
    if code not in api.catalogue:
        raise not_found(f"service_code: no service {code[:80]!r}; GET /services lists them")
    return respond(request, api.catalogue.definition(code), "service_definition")


async def list_requests(request: web.Request) -> web.Response:
    api = request.app[API]
    api.reader(request)
    api.require_ready()
    api.places.city(request.query.get("jurisdiction_id"))
    params = {name: ",".join(request.query.getall(name)) for name in request.query}
    found = query.run(api.model, query.parse(params))
    return respond(request, [views.request(v, api.catalogue, api.places) for v in found], "service_requests")


async def get_request(request: web.Request) -> web.Response:
    api = request.app[API]
    api.reader(request)
    api.require_ready()
    matter_id, _ = split_format(request.match_info["service_request_id"])
    view = api.model.get(matter_id)
    if view is None:
        raise not_found(f"service_request_id: no request {matter_id[:80]!r}")
    return respond(request, [views.request(view, api.catalogue, api.places)], "service_requests")


async def post_request(request: web.Request) -> web.Response:
    """A new matter, answered once Kafka acknowledged its ``reported`` event."""
    api = request.app[API]
    header_key = presented_key(request)
    app = api.authorize(header_key, "write") if header_key else None
    fields = parse(request.content_type, await request.read(), list(request.query.items()))
    if app is None:
        app = api.authorize(presented_key(request, fields), "write")
    key = idempotency.check_key(request.headers.get("Idempotency-Key"))
    report = reports.read(fields, api.catalogue, api.places)
    reporter = reporter_id(api.secret, report.contact, app.app)
    factory = api.factory(app.app)
    if key is None:
        event = reports.event(report, factory, reporter=reporter, matter_id=None, event_id=None)
        await api.publisher.publish(event)
        api.model.publishing(_pending_view(event))
        replay = False
    else:
        api.require_ready()
        matter = idempotency.matter_id(app.app, key)
        event = reports.event(report, factory, reporter=reporter, matter_id=matter,
                              event_id=idempotency.report_event_id(matter))
        digest = idempotency.content_digest("reported", to_wire(event)["data"])

        def known() -> bytes | None:
            view = api.model.get(matter)
            return None if view is None else view.report_digest

        event, replay = await api.submitter.submit(event, digest, known=known, what=f"matter {matter}",
                                                   acked=lambda e: api.model.publishing(_pending_view(e)))
    if replay:
        metrics.REPLAYS.labels("post_request").inc()
    body = [{"service_request_id": event.matter_id, "service_notice": api.catalogue.notice(
        report.service_code, report.priority), "account_id": None,
        "gridflow": {"reporter": reporter, "event_id": event.event_id}}]
    return respond(request, body, "service_requests", status=200 if replay else 201,
                   headers={"Idempotent-Replayed": "true"} if replay else None)


def _pending_view(event) -> MatterView:
    data = to_wire(event)["data"]
    return MatterView(event.matter_id, category=event.category, priority=event.priority, place=event.place,
                      requested_at=event.occurred_at, updated_at=event.occurred_at,
                      report_digest=idempotency.content_digest("reported", data))


async def discovery(request: web.Request) -> web.Response:
    base = f"{request.scheme}://{request.host}/"
    return respond(request, {
        "changeset": CHANGESET, "contact": "the operator of this gridflow installation",
        "key_service": "ask the operator for a key (gridflow api --new-key APP)",
        "endpoints": [{"specification": SPEC, "url": base, "changeset": CHANGESET, "type": "production",
                       "formats": ["application/json", "text/xml"]}]}, "discovery")

