"""One frozen settings object, read from the environment, with defaults that work on localhost.

Every process (worker, projector, CLI, tests) builds its clients from a ``Settings``;
nothing else reads ``GRIDFLOW_*`` variables.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields, replace
from pathlib import Path

ENV_PREFIX = "GRIDFLOW_"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_GROUP = re.compile(r"^[A-Za-z0-9._-]+$")


@dataclass(frozen=True)
class Settings:
    # Kafka
    kafka_bootstrap: str = "127.0.0.1:9092"
    topic_prefix: str = "gridflow"
    partitions: int = 4
    replication_factor: int = 1
    # ClickHouse: store is "chdb" (embedded, default) or "server"
    store: str = "chdb"
    clickhouse_host: str = "127.0.0.1"
    clickhouse_port: int = 9000
    clickhouse_http_port: int = 8123
    clickhouse_database: str = ""  # empty: derived from the topic prefix (`database_for`)
    clickhouse_user: str = "default"
    clickhouse_password: str = ""
    chdb_path: str = ".gridflow/chdb"
    # while `gridflow project` holds chdb it answers `stats` and `sql` here (loopback, read-only)
    chdb_query_port: int = 9466
    chdb_query_timeout_seconds: float = 60.0
    # local stack
    stack_dir: str = ".gridflow/stack"
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    # where the worker's web server and the projector's metrics listen; containers set 0.0.0.0
    listen_host: str = "127.0.0.1"
    # worker
    worker_web_port: int = 6066
    worker_id: str = "worker-1"
    clock: str = "wall"  # "wall" (production) or "event" (watermarks: simulation, replay)
    scan_interval_seconds: float = 5.0
    policy_path: str = ""  # empty: the policy shipped with the events package
    org_path: str = ""  # empty: the org tree published on the org topic / demo city
    # projector
    projector_group: str = ""  # empty: "<topic prefix>-projector"
    projector_batch_size: int = 20000  # records; a batch closes at this size, ...
    projector_batch_bytes: int = 16 << 20  # ... at this many bytes of record values, ...
    projector_batch_seconds: float = 5.0  # ... or this long after its first record
    projector_settle_seconds: float = 60.0  # fold the matters' changes into settled rows this often
    projector_metrics_port: int = 9464
    # stop when more than this share of the last window of records failed unexpectedly
    projector_breaker_window: int = 1000
    projector_breaker_share: float = 0.5
    # HTTP API (`gridflow api`, docs/api.md)
    api_port: int = 8311
    api_metrics_port: int = 9465
    api_keys: str = ""  # key lines "<app> <scopes> sha256:<hex>", separated by ";" or newlines
    api_keys_path: str = ""  # a file of key lines
    api_read_access: str = "open"  # "open": anyone may read matters; "key": reads need a key with scope read
    api_secret: str = ""  # HMAC secret of reporter pseudonyms; empty: the file at api_secret_path
    api_secret_path: str = ".gridflow/api/secret"  # created (random, mode 600) when missing
    api_max_body_bytes: int = 65536
    api_rate_per_second: float = 20.0  # requests a second per key (or per client address for open reads)
    api_rate_burst: int = 40
    api_cors_origins: str = ""  # comma-separated origins allowed by CORS, "*" for any; empty: no CORS
    api_publish_timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        # Scoped by the topic prefix unless set: runs under different prefixes never share a
        # consumer group or a database (docs/operations.md, "One prefix, one database").
        if not self.clickhouse_database:
            object.__setattr__(self, "clickhouse_database", database_for(self.topic_prefix))
        if not self.projector_group:
            object.__setattr__(self, "projector_group", projector_group_for(self.topic_prefix))

    @property
    def topics(self) -> "Topics":
        return Topics(self.topic_prefix)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> "Settings":
        env = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is None:
                continue
            kind = type(f.default)
            try:
                values[f.name] = kind(raw)
            except ValueError as exc:
                raise ValueError(
                    f"{ENV_PREFIX}{f.name.upper()}: expected {kind.__name__}, got {raw!r}"
                ) from exc
        values.update(overrides)
        settings = cls(**values)
        settings.check()
        return settings

    def with_(self, **changes) -> "Settings":
        """A copy with ``changes``. A new topic prefix carries its own derived database and
        projector group along, unless they were set to something else or are given here."""
        if "topic_prefix" in changes:
            if "clickhouse_database" not in changes and self.clickhouse_database == database_for(self.topic_prefix):
                changes["clickhouse_database"] = ""
            if "projector_group" not in changes and self.projector_group == projector_group_for(self.topic_prefix):
                changes["projector_group"] = ""
        return replace(self, **changes)

    def check(self) -> None:
        if self.store not in ("chdb", "server"):
            raise ValueError(f"store: expected 'chdb' or 'server', got {self.store!r}")
        if self.clock not in ("wall", "event"):
            raise ValueError(f"clock: expected 'wall' or 'event', got {self.clock!r}")
        if self.api_read_access not in ("open", "key"):
            raise ValueError(f"api_read_access: expected 'open' or 'key', got {self.api_read_access!r}")
        if self.api_rate_per_second <= 0 or self.api_rate_burst < 1 or self.api_max_body_bytes < 1024:
            raise ValueError("api_rate_per_second, api_rate_burst, api_max_body_bytes: expected > 0, >= 1, >= 1024")
        if not _IDENTIFIER.match(self.clickhouse_database):
            raise ValueError(f"clickhouse_database: expected letters, digits and _ (not first a digit), "
                             f"got {self.clickhouse_database!r}")
        if not _GROUP.match(self.projector_group) or not _GROUP.match(self.topic_prefix):
            raise ValueError(f"topic_prefix, projector_group: expected letters, digits, '.', '_' and '-', "
                             f"got {self.topic_prefix!r}, {self.projector_group!r}")
        if self.partitions < 1:
            raise ValueError(f"partitions: expected >= 1, got {self.partitions}")
        if self.projector_batch_size < 1 or self.projector_batch_bytes < 1 or self.projector_breaker_window < 1:
            raise ValueError("projector_batch_size, projector_batch_bytes and projector_breaker_window: expected >= 1")
        if not 0 < self.projector_breaker_share <= 1:
            raise ValueError(f"projector_breaker_share: expected a share in (0, 1], got {self.projector_breaker_share}")

    @property
    def stack_path(self) -> Path:
        return Path(self.stack_dir).expanduser().resolve()


def database_for(prefix: str) -> str:
    """The ClickHouse database of a topic prefix: the prefix with every character other than a
    letter, digit or ``_`` made ``_`` (``gridflow`` -> ``gridflow``, ``city-b.test`` ->
    ``city_b_test``), and ``_`` in front when it would start with a digit."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", prefix) or "_"
    return "_" + name if name[0].isdigit() else name


def projector_group_for(prefix: str) -> str:
    """The projector's consumer group of a topic prefix (the worker's is ``<prefix>-streams``)."""
    return f"{prefix}-projector"


@dataclass(frozen=True)
class Topics:
    """Topic names, all derived from one prefix so test runs can use their own."""

    prefix: str

    @property
    def intake(self) -> str:  # raw msgpack from upstream apps
        return f"{self.prefix}.matters.intake"

    @property
    def state(self) -> str:  # compacted: the worker's matter states and event clocks, per partition
        return f"{self.prefix}.matters.state"

    @property
    def events(self) -> str:  # the event log: source of truth
        return f"{self.prefix}.matters.events"

    @property
    def deadletter(self) -> str:
        return f"{self.prefix}.matters.deadletter"

    @property
    def redriven(self) -> str:  # compacted: one marker per dead letter re-driven (gridflow deadletters)
        return f"{self.prefix}.matters.redriven"

    @property
    def org(self) -> str:  # compacted: one record per org unit
        return f"{self.prefix}.org.units"

    @property
    def resources(self) -> str:  # the resources log: every accepted resource event, forever
        return f"{self.prefix}.resources.events"

    @property
    def holds(self) -> str:  # compacted: which resource holds which claimed order (the load)
        return f"{self.prefix}.resources.holds"
