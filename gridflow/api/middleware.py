"""What every request goes through: metrics (outermost), CORS, and the turning of every refusal
into a GeoReport error list (innermost). Nothing here logs a body, a query string or a
client's address."""
from __future__ import annotations

import logging
import time
import traceback
from typing import Awaitable, Callable

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from gridflow.api import metrics, responses
from gridflow.api.errors import ApiError

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
METHODS = {"GET", "POST", "OPTIONS", "HEAD", "PUT", "DELETE", "PATCH"}
ALLOW_HEADERS = "Content-Type, X-Api-Key, Authorization, Idempotency-Key"
EXPOSE_HEADERS = "Retry-After, Idempotent-Replayed"


def route_name(request: web.Request) -> str:
    route = request.match_info.route
    return route.name if route is not None and route.name else "unmatched"


@web.middleware
async def measure(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    response = await handler(request)
    route, method = route_name(request), request.method if request.method in METHODS else "other"
    metrics.REQUESTS.labels(route, method, str(response.status)).inc()
    metrics.REQUEST_SECONDS.labels(route, method).observe(time.perf_counter() - started)
    return response


def cors(origins: str) -> Callable:
    allowed = {o.strip() for o in origins.split(",") if o.strip()}

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if not origin or not ("*" in allowed or origin in allowed):
            return await handler(request)
        headers = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            return web.Response(status=204, headers={**headers, "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
                                                     "Access-Control-Allow-Headers": ALLOW_HEADERS,
                                                     "Access-Control-Max-Age": "600"})
        response = await handler(request)
        response.headers.update({**headers, "Access-Control-Expose-Headers": EXPOSE_HEADERS})
        return response

    return middleware


def errors(max_body: int) -> Callable:
    described = {404: "no such resource (GET /services, /requests, /requests/{id}; POST /requests, "
                      "/matters/{id}/events; /openapi.json describes them all)",
                 413: f"body: expected at most {max_body} bytes"}

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            if request.content_length is not None and request.content_length > max_body:
                raise ApiError(413, described[413])
            return await handler(request)
        except ApiError as exc:
            return responses.error(request, exc.status, exc.description, exc.headers)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            text = described.get(exc.status) or (f"method {request.method} not allowed here"
                                                 if exc.status == 405 else exc.reason)
            return responses.error(request, exc.status, text)
        except Exception as exc:  # a bug: answered, counted as a 500, logged without the values it held
            log.error("api: %s %s failed with %s\n%s", request.method, route_name(request), type(exc).__name__,
                      "".join(traceback.format_tb(exc.__traceback__)))
            return responses.error(request, 500, "internal error; retry with the same Idempotency-Key")

    return middleware


class AccessLogger(AbstractAccessLogger):
    """Method, path (never the query: GeoReport clients put api_key there), status and time."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info("%s %s %d %.1fms", request.method, request.path[:200], response.status, time * 1000)
