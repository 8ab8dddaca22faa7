"""Fixtures for tests against the real local stack (`gridflow stack up`), for integration and e2e tests.

A service that cannot be reached FAILS the test with a message saying how to start it:
integration tests are never skipped, because a skipped suite looks like a green one.

    settings          Settings from the environment, with a topic prefix unique to this run
    kafka_bootstrap   the broker's bootstrap address, checked reachable
    kafka_topics      the gridflow topics created under the run's prefix (deleted afterwards)
    clickhouse_server a factory: clickhouse_server(database=None, user=None) -> clickhouse_driver.Client
    ch_database       a fresh database on the server, dropped after the test
    ch_client         a Client whose default database is ch_database
    chdb_session      an embedded chdb session in a temporary directory
    private_clickhouse a clickhouse-server of this test session only, started from the users
                      file `gridflow stack up` writes (the analyst's password and limits): for
                      the analyst's tests, whatever users file the shared stack was started with
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from deploy.clickhouse_server import clickhouse_ready
from deploy.kafka_broker import kafka_ready
from deploy.process import wait_until
from gridflow.settings import Settings, Topics

RUN_ID = uuid.uuid4().hex[:8]
REACH_TIMEOUT = 30.0


def _start_hint(settings: Settings, log: str) -> str:
    return (
        f"Start the local stack with `gridflow stack up` (stack dir {settings.stack_path}); "
        f"if it is up, look at {settings.stack_path / log}"
    )


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings.from_env(topic_prefix=f"test-{RUN_ID}")


@pytest.fixture(scope="session")
def kafka_bootstrap(settings: Settings) -> str:
    bootstrap = settings.kafka_bootstrap
    if wait_until(lambda: kafka_ready(bootstrap), timeout=REACH_TIMEOUT, interval=1.0):
        pytest.fail(
            f"Kafka broker not reachable at {bootstrap} (GRIDFLOW_KAFKA_BOOTSTRAP) within {REACH_TIMEOUT:.0f}s. "
            + _start_hint(settings, "kafka/kafka.log"),
            pytrace=False,
        )
    return bootstrap


@pytest.fixture(scope="session")
def kafka_topics(settings: Settings, kafka_bootstrap: str) -> Iterator[Topics]:
    from deploy.topics import delete_topics, ensure_topics

    ensure_topics(settings)
    yield settings.topics
    delete_topics(settings)


@pytest.fixture(scope="session")
def clickhouse_server(settings: Settings) -> Iterator[Callable[..., "Client"]]:  # noqa: F821
    from clickhouse_driver import Client

    host, port = settings.clickhouse_host, settings.clickhouse_port
    user, password = settings.clickhouse_user, settings.clickhouse_password
    if wait_until(lambda: clickhouse_ready(host, port, user, password), timeout=REACH_TIMEOUT, interval=1.0):
        pytest.fail(
            f"ClickHouse server not reachable at {host}:{port} (GRIDFLOW_CLICKHOUSE_PORT) within "
            f"{REACH_TIMEOUT:.0f}s. " + _start_hint(settings, "clickhouse/logs/clickhouse-server.err.log"),
            pytrace=False,
        )
    clients: list[Client] = []

    def connect(database: str | None = None, user: str | None = None, password: str | None = None, **kw) -> Client:
        client = Client(
            host=host, port=port, database=database or "default",
            user=user or settings.clickhouse_user,
            password=settings.clickhouse_password if password is None else password,
            connect_timeout=5, send_receive_timeout=60, **kw,
        )
        clients.append(client)
        return client

    yield connect
    for client in clients:
        client.disconnect()


@pytest.fixture
def ch_database(clickhouse_server) -> Iterator[str]:
    name = f"test_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    admin = clickhouse_server()
    admin.execute(f"CREATE DATABASE {name}")
    yield name
    admin.execute(f"DROP DATABASE IF EXISTS {name}")


@pytest.fixture
def ch_client(clickhouse_server, ch_database: str):
    return clickhouse_server(database=ch_database)


@pytest.fixture
def chdb_session(tmp_path) -> Iterator["Session"]:  # noqa: F821
    try:
        from chdb.session import Session
    except ImportError as exc:
        pytest.fail(f"chdb is not installed ({exc}): pip install -e '.[embedded]'", pytrace=False)
    session = Session(str(tmp_path / "chdb"))
    yield session
    session.close()


@pytest.fixture(scope="session")
def private_clickhouse(settings, tmp_path_factory) -> Iterator[Settings]:
    """Settings of a clickhouse-server started for this session from the stack's own config
    (deploy/clickhouse/), on free ports; ``analyst_password(settings)`` reads its analyst's."""
    from deploy.clickhouse_server import ClickHouseServer
    from deploy.process import running_pid, start_detached, stop
    from gridflow.children import free_port

    mine = settings.with_(stack_dir=str(tmp_path_factory.mktemp("stack")), clickhouse_port=free_port(),
                          clickhouse_http_port=free_port(), clickhouse_password="")
    server = ClickHouseServer(mine)
    server.prepare()
    proc = start_detached(server.command(), pid_file=server.pid_file, log_file=server.log_file, cwd=server.dir)
    failed = wait_until(server.ready, timeout=60, give_up=lambda: None if proc.poll() is None else "it exited")
    if failed:
        stop(proc.pid, timeout=10)
        pytest.fail(f"a private clickhouse-server did not start ({failed}): see {server.dir / 'logs'}", pytrace=False)
    yield mine
    if running_pid(server.pid_file, server.marker) is not None:
        stop(proc.pid, timeout=server.stop_timeout)
