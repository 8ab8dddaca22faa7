"""What the stack needs to know about one service: where its files are, how to prepare
and start it, and how to tell that it is ready."""
from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

from gridflow.settings import Settings

_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def render(template: str, values: dict[str, object]) -> str:
    """Fill ``{{name}}`` placeholders; a placeholder without a value is an error, not a blank."""
    missing = sorted({m.group(1) for m in _PLACEHOLDER.finditer(template)} - values.keys())
    if missing:
        raise KeyError(f"template placeholders without a value: {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), template)


class Service(ABC):
    name: str
    ready_timeout: float
    stop_timeout: float

    def __init__(self, settings: Settings):
        self.settings = settings
        self.dir = settings.stack_path / self.name
        self.say: Callable[[str], None] = lambda line: None  # progress lines of a slow step (Stack sets it)

    @property
    def pid_file(self) -> Path:
        return self.dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.dir / f"{self.name}.log"

    @property
    def logs(self) -> list[Path]:
        """Where to look when it fails, most telling first."""
        return [self.log_file]

    @property
    @abstractmethod
    def address(self) -> str:
        """host:port clients connect to."""

    @property
    @abstractmethod
    def ports(self) -> dict[str, int]:
        """Every port the service binds, by its Settings field: checked free before starting."""

    @property
    @abstractmethod
    def marker(self) -> str:
        """A string in the running process's command line that proves it is this stack's."""

    @abstractmethod
    def prepare(self) -> None:
        """Write configuration and do one-time setup (download, format); idempotent."""

    @abstractmethod
    def command(self) -> list[str]:
        """The command line of the server process."""

    def env(self) -> dict[str, str] | None:
        return None

    @abstractmethod
    def ready(self) -> bool:
        """One quick probe: does the service answer a real request?"""
