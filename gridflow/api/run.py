"""Running the API until SIGTERM or Ctrl-C: both sites on one event loop."""
from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from gridflow.api.core import Api
from gridflow.api.middleware import AccessLogger
from gridflow.api.server import build, metrics_app

log = logging.getLogger(__name__)


async def serve(api: Api) -> None:
    settings = api.settings
    host = settings.listen_host
    runners = [web.AppRunner(build(api), access_log_class=AccessLogger, handle_signals=False),
               web.AppRunner(metrics_app(), access_log=None, handle_signals=False)]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        for runner, port in zip(runners, (settings.api_port, settings.api_metrics_port)):
            await runner.setup()
            await web.TCPSite(runner, host, port).start()
        log.info("api: GeoReport v2 on http://%s:%d/ (OpenAPI: /openapi.json), metrics on http://%s:%d/metrics; "
                 "%d app keys; reads %s", host, settings.api_port, host, settings.api_metrics_port, len(api.keys),
                 settings.api_read_access)
        await stop.wait()
        log.info("api: stopping")
    finally:
        for runner in reversed(runners):
            await runner.cleanup()
