"""Detached service processes: start in their own session with a pid file and a log file,
find them again from another command, stop them with SIGTERM then SIGKILL.

A pid file alone is not trusted: the pid must still be alive, not a zombie, and its
command line must contain the service's marker (its config path), so a recycled pid
that now belongs to something else reads as "not running".
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path


class StackError(Exception):
    """Root exception of the deploy package: a service could not be started, found or stopped."""


def _cmdline(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError):
        return None
    if state in ("Z", "X"):  # exited, waiting to be reaped: not running
        return None
    return raw.replace(b"\0", b" ").decode(errors="replace")


def read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def running_pid(pid_file: Path, marker: str) -> int | None:
    """The pid recorded in ``pid_file`` if that process is alive and is ours, else None."""
    pid = read_pid(pid_file)
    if pid is None:
        return None
    cmdline = _cmdline(pid)
    if cmdline is None or marker not in cmdline:
        return None
    return pid


def start_detached(
    argv: Sequence[str], *, pid_file: Path, log_file: Path, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.Popen:
    """Start ``argv`` in a new session (it outlives this command), output appended to ``log_file``."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(argv)}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    pid_file.write_text(f"{proc.pid}\n")
    return proc


def stop(pid: int, *, timeout: float) -> bool:
    """SIGTERM the process group of ``pid``; SIGKILL it if still alive after ``timeout``.
    Returns True if it stopped on SIGTERM, False if it had to be killed."""
    _signal_group(pid, signal.SIGTERM)
    if _wait_gone(pid, timeout):
        return True
    _signal_group(pid, signal.SIGKILL)
    if not _wait_gone(pid, 10.0):
        raise StackError(f"process {pid} survived SIGKILL")
    return False


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)  # the service is its session's leader: this reaches its children too
    except ProcessLookupError:
        return
    except PermissionError:
        os.kill(pid, sig)


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if _cmdline(pid) is None:
            return True
        time.sleep(0.1)
    return False


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)  # only succeeds for our own children; harmless otherwise
    except ChildProcessError:
        pass


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(
    check: Callable[[], bool], *, timeout: float, interval: float = 0.25, give_up: Callable[[], str | None] = lambda: None
) -> str | None:
    """Poll ``check`` until it is true (returns None) or ``timeout`` passes (returns a reason).
    ``give_up`` returns a reason to stop early, e.g. the process exited."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return None
        reason = give_up()
        if reason:
            return reason
        if time.monotonic() >= deadline:
            return f"not ready within {timeout:.0f}s"
        time.sleep(interval)


def tail(path: Path, lines: int = 30) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            text = f.read().decode(errors="replace")
    except FileNotFoundError:
        return f"(no log file at {path})"
    return "\n".join(text.splitlines()[-lines:])
