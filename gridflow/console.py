"""What every ``gridflow`` command shares on the terminal: one-line errors with a hint, the
port check of the servers, and the progress line (docs/CONVENTIONS.md, "The command line").

    raise CliError("unknown time zone 'Mars/Base'", hint="an IANA name such as Asia/Shanghai or UTC")

``gridflow.cli.main`` prints it as ``gridflow stats: unknown time zone 'Mars/Base' (hint: ...)``
on stderr and exits with ``code`` (1 unless said otherwise). Only the standard library here:
every command imports it, ``--help`` included."""
from __future__ import annotations

import errno
import re
import socket
import sys
import time
from typing import TextIO


class CliError(Exception):
    """An error the person at the terminal can act on: one line, a hint, an exit code."""

    def __init__(self, message: str, *, hint: str | None = None, code: int = 1) -> None:
        super().__init__(message)
        self.message, self.hint, self.code = message, hint, code

    def line(self, command: str | None = None) -> str:
        who = f"gridflow {command}" if command else "gridflow"
        text = " ".join(f"{who}: {self.message}".split())  # one line, whatever the message held
        return f"{text} (hint: {self.hint})" if self.hint else text


def error(command: str | None, message: str, *, hint: str | None = None, code: int = 1,
          stream: TextIO | None = None) -> int:
    """Print the one-line error on stderr and return ``code`` (``return error("sql", ...)``)."""
    print(CliError(message, hint=hint, code=code).line(command), file=stream or sys.stderr, flush=True)
    return code


def check_ports_free(host: str, ports: list[tuple[int, str]]) -> None:
    """Refuse to start a server on a port another process holds: ``ports`` are (port, what sets
    it). Binds as the servers do (SO_REUSEADDR), so a port in TIME_WAIT counts as free."""
    for port, what in ports:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host, port))
            except OSError as exc:
                raise port_error(host, port, what, exc) from None


def port_error(host: str, port: int, what: str, exc: OSError) -> CliError:
    if exc.errno == errno.EADDRINUSE:
        return CliError(f"port {port} on {host} ({what}) is already in use",
                        hint=f"stop what holds it (`ss -ltnp 'sport = :{port}'` shows it) or pick another "
                             f"port with {what.split(',')[0]}")
    return CliError(f"cannot listen on {host}:{port} ({what}): {exc.strerror or exc}",
                    hint="check GRIDFLOW_LISTEN_HOST and the port")


class Progress:
    """One progress line. On a terminal it is redrawn in place (``\\r``); anywhere else (a log,
    a pipe, CI) a plain line is written every ``every`` seconds, the first ``every`` seconds
    after the start (a shorter task writes none), and never a ``\\r``.

        progress = Progress()
        progress.show("simulating", 0.4, "day 12/30  matters 4,210")
        progress.end()

    ``after``: on a terminal too, nothing before that many seconds (a quick scan stays quiet).
    ``clear``: ``end()`` erases the line on a terminal instead of keeping it.
    """

    def __init__(self, stream: TextIO | None = None, *, every: float = 5.0, interactive: bool | None = None,
                 after: float = 0.0, clear: bool = False):
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self.every, self.after, self.clear = every, after, clear
        self._started = self._last = time.monotonic()
        self._drawn = False

    def show(self, phase: str, done: float | None, text: str = "", *, force: bool = False) -> None:
        """``done`` is the share done (0..1), or None when the end is unknown; ``force`` writes
        the line whatever the time (a last state worth keeping)."""
        now = time.monotonic()
        if not force:
            if now - self._started < self.after:
                return
            if now - self._last < (0.1 if self.interactive else self.every):
                return  # a terminal redrawn ten times a second is smooth enough
        self._last = now
        if done is None:
            line = f"{phase:<11} {text}".rstrip()
        else:
            done = max(0.0, min(1.0, done))
            filled = int(done * 28)
            line = f"{phase:<11} {'█' * filled}{'·' * (28 - filled)} {done * 100:5.1f}%  {text}".rstrip()
        if self.interactive:
            self.stream.write("\r" + line + "\x1b[K")
            self._drawn = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def line(self, text: str) -> None:
        """A line of its own (an event worth keeping), without breaking the progress line."""
        self.end()
        self.stream.write(text + "\n")
        self.stream.flush()

    def end(self) -> None:
        if self._drawn:
            self.stream.write("\r\x1b[K" if self.clear else "\n")
            self.stream.flush()
            self._drawn = False


_CODE = re.compile(r"\bcode:?\s*(\d+)", re.I)


def store_error(exc: Exception, database: str, *, analyst_query: bool = False) -> CliError:
    """A ClickHouse store error (``projections.errors.StoreError``) as one line with a hint:
    an empty store says what to run, an unreachable one where to look."""
    message = str(exc)
    match = _CODE.search(message)
    code = int(match.group(1)) if match else None
    if code == 81 and re.search(rf"\b{re.escape(database)}\b", message):
        return CliError(f"nothing projected yet: the database {database} does not exist in this store",
                        hint="run `gridflow migrate`, then `gridflow project`, or `gridflow demo`; "
                             "GRIDFLOW_STORE and GRIDFLOW_CLICKHOUSE_DATABASE choose the store")
    if code == 60 and not analyst_query:
        return CliError(message, hint="the schema is behind this gridflow: run `gridflow migrate`")
    if code in (60, 81) and analyst_query:
        return CliError(message, hint=f"`gridflow sql \"SHOW TABLES FROM {database}\"` lists the tables")
    if type(exc).__name__ == "StoreUnavailable" and "chdb" not in message:
        return CliError(message, hint="is ClickHouse up? `gridflow stack status`; GRIDFLOW_CLICKHOUSE_HOST/PORT "
                                      "say where it is")
    return CliError(message)
