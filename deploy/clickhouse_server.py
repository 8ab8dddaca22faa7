"""The local ClickHouse server (Debian's clickhouse-server 18.16) with a private config:
loopback only, every path under the stack dir, users from ``deploy/clickhouse/users.xml``."""
from __future__ import annotations

import hashlib
import os
import secrets
import shutil
from pathlib import Path

from deploy.process import StackError, port_open
from deploy.service import Service, render
from gridflow.settings import Settings

HERE = Path(__file__).parent / "clickhouse"
HOST = "127.0.0.1"
TIMEZONE = "UTC"
MAX_MEMORY_USAGE = 4_000_000_000  # per query; the machine has to hold Kafka and the workers too
ANALYST_USER = "analyst"  # read-only with limits (profile `analyst`), see deploy/clickhouse/users.xml
ANALYST_PASSWORD_FILE = "analyst.password"  # in <stack dir>/clickhouse/, mode 600, made once
# the analyst's limits per query: docs/operations.md, "ClickHouse access"
ANALYST_LIMITS = {"analyst_max_execution_time": 300, "analyst_max_rows_to_read": 2_000_000_000,
                  "analyst_max_memory_usage": 2_000_000_000}


def config_values(settings: Settings, base: Path) -> dict[str, object]:
    return {
        "listen_host": HOST,
        "tcp_port": settings.clickhouse_port,
        "http_port": settings.clickhouse_http_port,
        "data_dir": base / "data",
        "log_dir": base / "logs",
        "users_config": base / "users.xml",
        "timezone": TIMEZONE,
    }


def users_values(settings: Settings, analyst_password: str) -> dict[str, object]:
    # The default user's password is the pipeline's (GRIDFLOW_CLICKHOUSE_PASSWORD); the
    # analyst's is generated (analyst_password_path) and only its hash is written here.
    return {
        "default_password": _xml_text(settings.clickhouse_password),
        "analyst_password_sha256": hashlib.sha256(analyst_password.encode("utf-8")).hexdigest(),
        "max_memory_usage": MAX_MEMORY_USAGE,
        **ANALYST_LIMITS,
    }


def analyst_password_path(settings: Settings) -> Path:
    return settings.stack_path / "clickhouse" / ANALYST_PASSWORD_FILE


def analyst_password(settings: Settings, *, create: bool = False) -> str:
    """The local stack's analyst password: read from the stack dir, or (``create``) made there
    the first time, 24 random URL-safe characters in a file only its owner can read."""
    path = analyst_password_path(settings)
    if not path.exists():
        if not create:
            raise StackError(f"no analyst password at {path}: `gridflow stack up` makes it")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(18) + "\n")
    return path.read_text().strip()


def render_config(settings: Settings, base: Path) -> str:
    return render((HERE / "config.xml").read_text(), config_values(settings, base))


def render_users(settings: Settings, analyst_password: str) -> str:
    return render((HERE / "users.xml").read_text(), users_values(settings, analyst_password))


def _xml_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def server_binary() -> list[str]:
    """18.16 (Debian) ships a separate ``clickhouse-server`` in /usr/sbin; newer builds ship
    one ``clickhouse`` binary that takes ``server`` as its first argument."""
    for candidate in (shutil.which("clickhouse-server"), "/usr/sbin/clickhouse-server"):
        if candidate and Path(candidate).exists():
            return [candidate]
    single = shutil.which("clickhouse")
    if single:
        return [single, "server"]
    raise StackError("clickhouse: `clickhouse-server` not found; install it (apt-get install clickhouse-server)")


class ClickHouseServer(Service):
    name = "clickhouse"
    ready_timeout = 60.0
    stop_timeout = 30.0

    def __init__(self, settings: Settings):
        super().__init__(settings)
        self.config = self.dir / "config.xml"

    @property
    def logs(self) -> list[Path]:
        # stdout only says where the server logs; errors (bad config, port in use) land in err.log
        logs = self.dir / "logs"
        return [logs / "clickhouse-server.err.log", logs / "clickhouse-server.log", self.log_file]

    @property
    def address(self) -> str:
        return f"{HOST}:{self.settings.clickhouse_port}"

    @property
    def ports(self) -> dict[str, int]:
        return {"clickhouse_port": self.settings.clickhouse_port, "clickhouse_http_port": self.settings.clickhouse_http_port}

    @property
    def marker(self) -> str:
        return str(self.config)

    def prepare(self) -> None:
        for sub in ("data/tmp", "data/user_files", "data/format_schemas", "logs"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        self.config.write_text(render_config(self.settings, self.dir))
        (self.dir / "users.xml").write_text(render_users(self.settings, analyst_password(self.settings, create=True)))

    def command(self) -> list[str]:
        return [*server_binary(), f"--config-file={self.config}"]

    def ready(self) -> bool:
        return clickhouse_ready(HOST, self.settings.clickhouse_port, self.settings.clickhouse_user,
                                self.settings.clickhouse_password)


def clickhouse_ready(host: str, port: int, user: str = "default", password: str = "") -> bool:
    """True when the native protocol answers ``SELECT 1``."""
    if not port_open(host, port):
        return False
    from clickhouse_driver import Client
    from clickhouse_driver.errors import Error

    client = Client(host=host, port=port, user=user, password=password, connect_timeout=2, send_receive_timeout=5)
    try:
        return client.execute("SELECT 1") == [(1,)]
    except (Error, OSError, EOFError):
        return False
    finally:
        client.disconnect()
