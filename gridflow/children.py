"""Child processes of the demo (and of the end-to-end test): ``gridflow`` subcommands run
with a given ``Settings`` in their environment, output to a log file, stopped cleanly."""
from __future__ import annotations

import dataclasses
import os
import random
import signal
import socket
import subprocess
import sys
from pathlib import Path

from gridflow.settings import ENV_PREFIX, Settings


def settings_env(settings: Settings) -> dict[str, str]:
    """This process's environment with every ``GRIDFLOW_*`` variable taken from ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    for f in dataclasses.fields(Settings):
        env[ENV_PREFIX + f.name.upper()] = str(getattr(settings, f.name))
    return env


# Servers started by tests and the demo listen below Linux's ephemeral range (32768-60999): a
# port the kernel hands out (bind to 0) is one a client polling it can also get as its own
# source port, connect to itself, and keep the server from binding for minutes.
PORT_RANGE = (20000, 32000)


def free_port(host: str = "127.0.0.1") -> int:
    """A port below the ephemeral range that nothing listens on now."""
    low, high = PORT_RANGE
    for _ in range(200):
        port = random.randrange(low, high)
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    raise OSError(f"no free port in {low}-{high} on {host}")


class Child:
    """``python -m gridflow.cli <argv>``; its log goes to ``log_path``."""

    def __init__(self, name: str, settings: Settings, argv: list[str], log_path: Path, cwd: Path | None = None):
        self.name, self.settings, self.argv, self.log_path = name, settings, argv, log_path
        self.cwd = cwd
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Child":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            # its own process group: a Ctrl-C in the terminal reaches us, and we stop it in order
            self.proc = subprocess.Popen([sys.executable, "-m", "gridflow.cli", *self.argv], cwd=self.cwd,
                                         env=settings_env(self.settings), stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout``; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return self.proc.returncode

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
            self.proc.wait(timeout=10)

    def tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return f"({self.name}: no log)"
        text = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(text[-lines:])
