"""Headless Chromium (Debian's ``chromium`` package) driven over the Chrome DevTools Protocol.

A small client on aiohttp's websocket (already a dependency): start the browser with a
debugging port, open a page, collect console errors, uncaught exceptions and every network
request, evaluate JavaScript, take a full-page screenshot. Nothing is downloaded: the browser is
the system one.
"""
from __future__ import annotations

import asyncio
import base64
import itertools
import json
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gridflow.children import free_port

EXECUTABLES = ("chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    return next((path for path in map(shutil.which, EXECUTABLES) if path), None)


@dataclass
class PageVisit:
    console_errors: list[str] = field(default_factory=list)  # console.error/assert, uncaught exceptions, error logs
    requests: list[str] = field(default_factory=list)  # every URL the page asked for, itself included
    values: dict[str, Any] = field(default_factory=dict)  # name -> the value of an expression evaluated at the end


class Chromium:
    """``with Chromium(profile_dir) as browser: visit = browser.visit(url, ...)``"""

    def __init__(self, profile_dir: Path, executable: str | None = None, timeout: float = 30.0) -> None:
        self.executable = executable or find_chromium()
        if not self.executable:
            raise RuntimeError("chromium not found: apt-get install chromium (deploy/bootstrap.sh does)")
        self.profile_dir, self.timeout = Path(profile_dir), timeout
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "Chromium":
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.profile_dir / "chromium.log", "wb")
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start
        self.proc = subprocess.Popen([self.executable, "--headless", "--no-sandbox", "--disable-gpu",
                                      "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                                      "--disable-dev-shm-usage", "--disable-background-networking",
                                      "--disable-component-update",
                                      f"--remote-debugging-port={self.port}", "--remote-debugging-address=127.0.0.1",
                                      f"--user-data-dir={self.profile_dir / 'profile'}", "about:blank"],
                                     stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self._page_socket()  # waits until the browser answers
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def _page_socket(self) -> str:
        deadline = time.monotonic() + self.timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with code {self.proc.returncode}: "
                                   f"{(self.profile_dir / 'chromium.log').read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=2) as answer:
                    pages = [t for t in json.load(answer) if t.get("type") == "page"]
                if pages:
                    return pages[0]["webSocketDebuggerUrl"]
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"chromium did not open its debugging port {self.port} within {self.timeout:.0f}s")
            time.sleep(0.1)

    def visit(self, url: str, *, ready: str, values: dict[str, str], screenshot: Path | None = None,
              width: int = 1280) -> PageVisit:
        """Open ``url``, wait until the expression ``ready`` is true, then evaluate each of
        ``values`` (JSON-serialisable results) and save a full-page PNG to ``screenshot``."""
        return asyncio.run(self._visit(self._page_socket(), url, ready, values, screenshot, width))

    async def _visit(self, socket_url: str, url: str, ready: str, values: dict[str, str],
                     screenshot: Path | None, width: int) -> PageVisit:
        import aiohttp

        visit, ids, waiting = PageVisit(), itertools.count(1), {}
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(socket_url, max_msg_size=0) as ws:
                async def read() -> None:
                    async for message in ws:
                        event = json.loads(message.data)
                        if "id" in event and event["id"] in waiting:
                            waiting.pop(event["id"]).set_result(event)
                        else:
                            _note(visit, event)

                reader = asyncio.create_task(read())

                async def call(method: str, **params) -> dict:
                    n = next(ids)
                    waiting[n] = asyncio.get_running_loop().create_future()
                    await ws.send_str(json.dumps({"id": n, "method": method, "params": params}))
                    answer = await asyncio.wait_for(waiting[n], self.timeout)
                    if "error" in answer:
                        raise RuntimeError(f"{method}: {answer['error']}")
                    return answer["result"]

                async def evaluate(expression: str) -> Any:
                    result = await call("Runtime.evaluate", expression=expression, returnByValue=True,
                                        awaitPromise=True)
                    if "exceptionDetails" in result:
                        raise RuntimeError(f"{expression[:80]}: {result['exceptionDetails']}")
                    return result["result"].get("value")

                try:
                    for domain in ("Runtime", "Log", "Network", "Page"):
                        await call(f"{domain}.enable")
                    await call("Emulation.setDeviceMetricsOverride", width=width, height=900, deviceScaleFactor=1,
                               mobile=False)
                    await call("Page.navigate", url=url)
                    deadline = time.monotonic() + self.timeout
                    while not await evaluate(f"!!({ready})"):
                        if time.monotonic() > deadline:
                            raise RuntimeError(f"{url}: `{ready}` not true within {self.timeout:.0f}s; "
                                               f"console errors: {visit.console_errors}")
                        await asyncio.sleep(0.1)
                    visit.values = {name: await evaluate(expr) for name, expr in values.items()}
                    if screenshot is not None:
                        size = (await call("Page.getLayoutMetrics"))["cssContentSize"]
                        shot = await call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                                          clip={"x": 0, "y": 0, "width": width, "height": size["height"], "scale": 1})
                        screenshot.parent.mkdir(parents=True, exist_ok=True)
                        screenshot.write_bytes(base64.b64decode(shot["data"]))
                finally:
                    reader.cancel()
        return visit


def _note(visit: PageVisit, event: dict) -> None:
    method, params = event.get("method"), event.get("params", {})
    if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
        visit.console_errors.append("console." + params["type"] + ": " + " ".join(
            str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
    elif method == "Runtime.exceptionThrown":
        details = params.get("exceptionDetails", {})
        visit.console_errors.append("uncaught: " + str(details.get("exception", {}).get("description")
                                                       or details.get("text")))
    elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
        visit.console_errors.append("log: " + params["entry"].get("text", ""))
    elif method == "Network.requestWillBeSent":
        visit.requests.append(params.get("request", {}).get("url", ""))
