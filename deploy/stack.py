"""The no-Docker local stack: a Kafka broker and a ClickHouse server as detached processes
under ``settings.stack_dir``, plus chdb (embedded, nothing to run).

    stack = Stack(Settings.from_env())
    stack.up()        # idempotent: starts what is not running, waits until it answers
    stack.status()    # [ServiceStatus(...)] for kafka, clickhouse, chdb
    stack.down()      # idempotent: SIGTERM, then SIGKILL after the service's deadline
"""
from __future__ import annotations

import fcntl
import importlib.metadata
import importlib.util
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from deploy.clickhouse_server import ClickHouseServer
from deploy.kafka_broker import KafkaBroker
from deploy.prometheus_config import write_local_config
from deploy.process import StackError, port_open, running_pid, start_detached, stop, tail, wait_until
from deploy.service import Service
from gridflow.settings import ENV_PREFIX, Settings

__all__ = ["Stack", "StackError", "ServiceFailed", "ServiceStatus", "Outcome", "format_status"]


class ServiceFailed(StackError):
    """A service did not become ready; carries where to look."""

    def __init__(self, service: Service, reason: str):
        self.service = service.name
        self.logs = [p for p in service.logs if p.exists()] or [service.log_file]
        where = ", ".join(str(p) for p in self.logs)
        super().__init__(f"{service.name} at {service.address} did not start: {reason}; see its log: {where}")

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(f"--- {p} (last {lines} lines)\n{tail(p, lines)}" for p in self.logs)


@dataclass(frozen=True)
class ServiceStatus:
    service: str
    state: str  # running | starting | stopped | port-in-use | available | missing
    pid: int | None
    address: str


@dataclass(frozen=True)
class Outcome:
    service: str
    action: str  # started | already running | stopped | killed | not running
    pid: int | None
    address: str
    seconds: float


class Stack:
    def __init__(self, settings: Settings, say: Callable[[str], None] | None = None):
        """``say`` gets a line for each slow step of ``up`` (fetching jars, waiting for a service)."""
        self.settings = settings
        self.say = say or (lambda line: None)
        self.services: list[Service] = [ClickHouseServer(settings), KafkaBroker(settings)]
        for service in self.services:
            service.say = self.say

    @property
    def dir(self) -> Path:
        return self.settings.stack_path

    def up(self) -> list[Outcome]:
        """Start every service that is not running and wait until all answer."""
        with self._lock():
            started: list[tuple[Service, subprocess.Popen, float]] = []
            outcomes: dict[str, Outcome] = {}
            for service in self.services:
                pid = running_pid(service.pid_file, service.marker)
                if pid is not None:
                    t0 = time.monotonic()
                    self._wait_ready(service, None)
                    outcomes[service.name] = Outcome(
                        service.name, "already running", pid, service.address, time.monotonic() - t0
                    )
                    continue
                service.pid_file.unlink(missing_ok=True)
                self._check_ports_free(service)
                t0 = time.monotonic()
                service.prepare()
                proc = start_detached(
                    service.command(), pid_file=service.pid_file, log_file=service.log_file,
                    cwd=service.dir, env=service.env(),
                )
                started.append((service, proc, t0))
            for service, proc, t0 in started:  # started together, so their start-ups overlap
                self.say(f"{service.name}: started (pid {proc.pid}), waiting until it answers on {service.address}")
                self._wait_ready(service, proc)
                outcomes[service.name] = Outcome(service.name, "started", proc.pid, service.address, time.monotonic() - t0)
            write_local_config(self.settings)  # for Prometheus, from the settings of this `up`
            return [outcomes[s.name] for s in self.services]

    def ensure_up(self) -> None:
        """Make sure the stack answers: a no-op when it already does."""
        if not self.is_up():
            self.up()

    def is_up(self) -> bool:
        return all(s.ready() for s in self.services)

    def down(self) -> list[Outcome]:
        """Stop every service of this stack dir; a stopped stack stays as it is."""
        with self._lock():
            outcomes = []
            for service in reversed(self.services):
                t0 = time.monotonic()
                pid = running_pid(service.pid_file, service.marker)
                action = "not running"
                if pid is not None:
                    action = "stopped" if stop(pid, timeout=service.stop_timeout) else "killed"
                service.pid_file.unlink(missing_ok=True)
                outcomes.append(Outcome(service.name, action, pid, service.address, time.monotonic() - t0))
            return outcomes[::-1]

    def status(self) -> list[ServiceStatus]:
        rows = []
        for service in self.services:
            pid = running_pid(service.pid_file, service.marker)
            if pid is not None:
                state = "running" if service.ready() else "starting"
            else:
                busy = any(port_open("127.0.0.1", port) for port in service.ports.values())
                state = "port-in-use" if busy else "stopped"
            rows.append(ServiceStatus(service.name, state, pid, service.address))
        rows.append(chdb_status(self.settings))
        return rows

    def _wait_ready(self, service: Service, proc: subprocess.Popen | None) -> None:
        def exited() -> str | None:
            if proc is not None and proc.poll() is not None:
                return f"its process exited with code {proc.returncode}"
            if proc is None and running_pid(service.pid_file, service.marker) is None:
                return "its process exited"
            return None

        reason = wait_until(service.ready, timeout=service.ready_timeout, give_up=exited)
        if reason is None:
            return
        if proc is not None and proc.poll() is None:
            stop(proc.pid, timeout=5.0)  # hung: stop it so the next `stack up` starts clean
            service.pid_file.unlink(missing_ok=True)
        raise ServiceFailed(service, reason)

    def _check_ports_free(self, service: Service) -> None:
        for field, port in service.ports.items():
            if port_open("127.0.0.1", port):
                raise StackError(
                    f"{service.name}: port {port} ({field}) is already in use by a process that is not "
                    f"this stack's {service.name} (stack dir {self.dir}); stop it, or pick another port "
                    f"with {ENV_PREFIX}{field.upper()}"
                )

    @contextmanager
    def _lock(self) -> Iterator[None]:
        """One `stack up` / `stack down` at a time per stack dir (engineers and tests share it)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / "stack.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def chdb_status(settings: Settings) -> ServiceStatus:
    """chdb is a library: nothing to start, only to find."""
    if importlib.util.find_spec("chdb") is None:
        return ServiceStatus("chdb", "missing", None, "pip install -e '.[embedded]'")
    try:
        version = importlib.metadata.version("chdb-core")
    except importlib.metadata.PackageNotFoundError:
        version = importlib.metadata.version("chdb")
    return ServiceStatus("chdb", f"available ({version})", None, f"embedded: {settings.chdb_path}")


def format_status(rows: list[ServiceStatus]) -> str:
    table = [("SERVICE", "STATE", "PID", "ADDRESS")]
    table += [(r.service, r.state, str(r.pid) if r.pid else "-", r.address) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table)
