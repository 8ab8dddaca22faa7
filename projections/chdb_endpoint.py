"""Reading the embedded store while the projector writes it.

chdb locks its directory: one process at a time. So the projector, which owns the directory,
answers read-only queries for the other commands (``gridflow stats``, ``gridflow sql``) on a
small HTTP endpoint on the loopback, and says where in an owner file inside the directory:
``<chdb_path>/gridflow-projector.json`` with its pid, port and a random token (mode 600, so
only users who could open the directory themselves can ask).

Queries run on a second chdb connection of the projector's process, made read-only
(``readonly=1``) with a time, row and memory bound, one at a time; the projector's own
session is untouched. ``INTO OUTFILE`` is refused (chdb would write the file even read-only).
A request answers Arrow IPC bytes (200), or ClickHouse's code and message as JSON (400).
"""
from __future__ import annotations

import json
import os
import random
import re
import secrets
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Callable

OWNER_FILE = "gridflow-projector.json"
TOKEN_HEADER = "X-Gridflow-Token"
MAX_QUERY_BYTES = 65536
MAX_RESULT_ROWS = 1_000_000
MAX_RESULT_BYTES = 256 << 20
MAX_MEMORY_BYTES = 2 << 30
_OUTFILE = re.compile(r"\binto\s+outfile\b", re.IGNORECASE)


def owner_path(chdb_path: str) -> Path:
    return Path(chdb_path) / OWNER_FILE


def read_owner(chdb_path: str) -> dict | None:
    """The owner file of a chdb directory, if a live process wrote it."""
    try:
        owner = json.loads(owner_path(chdb_path).read_text(encoding="utf-8"))
        pid, port, token = int(owner["pid"]), int(owner["port"]), str(owner["token"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None  # a projector killed without cleaning up
    except PermissionError:
        pass  # alive, another user's
    return {"pid": pid, "host": str(owner.get("host", "127.0.0.1")), "port": port, "token": token}


class ChdbEndpoint:
    """The projector's query endpoint on its chdb directory (``start`` / ``stop``)."""

    def __init__(self, chdb_path: str, *, host: str = "127.0.0.1", port: int = 0, timeout_seconds: float = 60.0,
                 log: Callable[[str], None] = print) -> None:
        self.chdb_path, self.host, self.port = chdb_path, host, port
        self.timeout_seconds, self.log = timeout_seconds, log
        self.token = secrets.token_hex(16)
        self._server: HTTPServer | None = None
        self._conn = None

    def start(self) -> "ChdbEndpoint":
        import chdb

        conn = chdb.connect(self.chdb_path)  # a second connection of this process: its settings are its own
        for setting in (f"max_execution_time = {int(self.timeout_seconds)}", f"max_result_rows = {MAX_RESULT_ROWS}",
                        f"max_result_bytes = {MAX_RESULT_BYTES}", "result_overflow_mode = 'throw'",
                        f"max_memory_usage = {MAX_MEMORY_BYTES}", "readonly = 1"):
            conn.query(f"SET {setting}")
        self._conn = conn
        handler = type("Handler", (_Handler,), {"endpoint": self})
        try:
            self._server = HTTPServer((self.host, self.port), handler)
        except OSError as exc:
            self.log(f"projector: query endpoint port {self.port} unavailable ({exc.strerror}); using another")
            self._server = _bind_free(self.host, handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name="chdb-endpoint", daemon=True).start()
        self._write_owner()
        self.log(f"projector: read-only queries on chdb at http://{self.host}:{self.port}/query "
                 f"(for gridflow stats and sql; {owner_path(self.chdb_path)})")
        return self

    def _write_owner(self) -> None:
        path = owner_path(self.chdb_path)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"pid": os.getpid(), "host": self.host, "port": self.port, "token": self.token}, f)
        os.replace(tmp, path)

    def stop(self) -> None:
        path = owner_path(self.chdb_path)
        try:
            if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
                path.unlink()
        except (OSError, ValueError):
            pass
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def answer(self, sql: str) -> tuple[int, bytes, str]:
        """(HTTP status, body, content type) for one query."""
        from projections.store_errors import code_in

        if _OUTFILE.search(sql):
            return _error(400, 164, "INTO OUTFILE is refused: the endpoint only reads")
        try:
            result = self._conn.query(sql, "Arrow")
        except Exception as exc:  # chdb raises RuntimeError with ClickHouse's message
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return _error(400, code_in(message), message)
        return 200, bytes(result.bytes()) if len(result) else b"", "application/vnd.apache.arrow.file"


def _bind_free(host: str, handler) -> HTTPServer:
    """A server on a free port below the ephemeral range (the owner file tells clients which)."""
    for _ in range(100):
        try:
            return HTTPServer((host, random.randrange(20000, 32000)), handler)
        except OSError:
            continue
    raise OSError(f"no free port for the query endpoint on {host}")


def _error(status: int, code: int | None, message: str) -> tuple[int, bytes, str]:
    return status, json.dumps({"code": code, "message": message}).encode(), "application/json"


class _Handler(BaseHTTPRequestHandler):
    endpoint: ChdbEndpoint
    server_version = "gridflow-chdb"

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        if self.path != "/query":
            return self._send(*_error(404, None, "POST /query"))
        if not secrets.compare_digest(self.headers.get(TOKEN_HEADER, ""), self.endpoint.token):
            return self._send(*_error(403, None, f"{TOKEN_HEADER}: not the token of this projector's owner file"))
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return self._send(*_error(411, None, "Content-Length: required"))
        if not 0 < length <= MAX_QUERY_BYTES:
            return self._send(*_error(413, None, f"query: 1 to {MAX_QUERY_BYTES} bytes, got {length}"))
        sql = self.rfile.read(length).decode("utf-8", errors="replace")
        self._send(*self.endpoint.answer(sql))

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # queries are not the projector's log
        pass
