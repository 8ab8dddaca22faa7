"""The aiohttp application and how ``gridflow api`` runs it: the API on ``GRIDFLOW_API_PORT``,
/metrics on ``GRIDFLOW_API_METRICS_PORT``, both on ``GRIDFLOW_LISTEN_HOST`` (127.0.0.1)."""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from importlib import resources

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gridflow.api import georeport, matters, metrics
from gridflow.api.core import API, Api
from gridflow.api.middleware import cors, errors, measure

log = logging.getLogger(__name__)
FMT = r"{fmt:(?:\.json|\.xml)?}"
OPENAPI = json.loads(resources.files("gridflow.api").joinpath("openapi.json").read_text(encoding="utf-8"))


def build(api: Api) -> web.Application:
    settings = api.settings
    app = web.Application(client_max_size=settings.api_max_body_bytes,
                          middlewares=[measure, cors(settings.api_cors_origins), errors(settings.api_max_body_bytes)])
    app[API] = api
    app.router.add_get("/services" + FMT, georeport.services, name="services")
    app.router.add_get("/services/{service_code}", georeport.service_definition, name="service_definition")
    app.router.add_get("/requests" + FMT, georeport.list_requests, name="requests")
    app.router.add_post("/requests" + FMT, georeport.post_request, name="post_request")
    app.router.add_get("/requests/{service_request_id}", georeport.get_request, name="request")
    app.router.add_post("/matters/{matter_id}/events", matters.post_event, name="matter_events")
    app.router.add_get("/discovery" + FMT, georeport.discovery, name="discovery")
    app.router.add_get("/openapi.json", openapi, name="openapi")
    app.router.add_get("/health", health, name="health")
    app.router.add_get("/ready", ready, name="ready")
    app.on_startup.append(_start)
    app.on_cleanup.append(_stop)
    return app


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(OPENAPI)


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "up"})


async def ready(request: web.Request) -> web.Response:
    api = request.app[API]
    is_ready = api.follower.ready.is_set()
    return web.json_response({"ready": is_ready, "matters": len(api.model), "events": api.model.events},
                             status=200 if is_ready else 503)


async def metrics_page(request: web.Request) -> web.Response:
    return web.Response(body=generate_latest(metrics.REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _start(app: web.Application) -> None:
    api = app[API]
    await api.publisher.start()
    app[TASK] = asyncio.create_task(api.follower.run(), name="gridflow-api-follower")


async def _stop(app: web.Application) -> None:
    task = app.get(TASK)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await app[API].publisher.stop()


TASK = web.AppKey("follower", asyncio.Task)


def metrics_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/metrics", metrics_page)
    return app
