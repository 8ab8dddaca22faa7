"""Answers in the format a request asked for (its path's ``.json``/``.xml`` suffix, else its
Accept header, else JSON)."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from gridflow.api import render


def fmt_of(request: web.Request) -> str:
    last = request.path.rsplit("/", 1)[-1]
    return render.negotiate(render.split_format(last)[1], request.headers.get("Accept", ""))


def respond(request: web.Request, value: Any, root: str, *, status: int = 200,
            headers: dict[str, str] | None = None) -> web.Response:
    fmt = fmt_of(request)
    return web.Response(body=render.body(value, root, fmt), status=status,
                        headers={"Content-Type": render.CONTENT_TYPES[fmt], **(headers or {})})


def error(request: web.Request, status: int, description: str, headers: dict[str, str] | None = None) -> web.Response:
    fmt = fmt_of(request)
    return web.Response(body=render.errors(status, description, fmt), status=status,
                        headers={"Content-Type": render.CONTENT_TYPES[fmt], **(headers or {})})
