"""Runs under different topic prefixes never mix: each prefix gets its own projector group and
its own database by default, and a projector pointed at another prefix's database refuses."""
from __future__ import annotations

import uuid

import pytest

from deploy.topics import delete_topics, ensure_topics
from gridflow.settings import database_for
from projection_support import env_for, generate, publish_org, produce
from projections.store_server import ServerStore

pytestmark = pytest.mark.integration


def project(settings, **env) -> "subprocess.CompletedProcess":  # noqa: F821
    import subprocess
    import sys

    from projection_support import ROOT

    run_env = env_for(settings)
    # as an operator starts it: neither the database nor the group set, both from the prefix
    for name in ("GRIDFLOW_CLICKHOUSE_DATABASE", "GRIDFLOW_PROJECTOR_GROUP"):
        run_env.pop(name)
    run_env.update(env)
    return subprocess.run([sys.executable, "-m", "gridflow.cli", "project", "--until-idle", "--no-metrics"],
                          cwd=ROOT, env=run_env, capture_output=True, text=True, timeout=180)


def matters(settings, database: str) -> set[str]:
    store = ServerStore(database, host=settings.clickhouse_host, port=settings.clickhouse_port,
                        user=settings.clickhouse_user, password=settings.clickhouse_password)
    try:
        return {m for (m,) in store.query(f"SELECT DISTINCT matter_id FROM {store.table('events')}")}
    finally:
        store.close()


@pytest.fixture
def two_prefixes(settings, kafka_bootstrap, clickhouse_server):
    tag = uuid.uuid4().hex[:6]
    runs = [settings.with_(topic_prefix=f"{settings.topic_prefix}-{name}-{tag}", store="server",
                           clickhouse_database="", projector_group="")
            for name in ("north", "south")]
    for run in runs:
        ensure_topics(run)
    yield runs
    for run in runs:
        delete_topics(run)
        clickhouse_server().execute(f"DROP DATABASE IF EXISTS {run.clickhouse_database}")


def test_two_prefixes_projected_side_by_side_do_not_see_each_others_matters(two_prefixes):
    north, south = two_prefixes
    assert north.clickhouse_database == database_for(north.topic_prefix) != south.clickhouse_database
    assert north.projector_group == f"{north.topic_prefix}-projector" != south.projector_group
    logs = {north: generate(seed=3, matters=12, bad=False), south: generate(seed=4, matters=9, bad=False, first=500)}
    for run, log in logs.items():
        publish_org(run, log.units)
        produce(run, log.records)
    for run in (north, south):
        done = project(run)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"-> server {run.clickhouse_database} (group {run.projector_group}," in done.stdout
    for run, log in logs.items():
        assert matters(run, run.clickhouse_database) == {e.matter_id for e in log.events}


def test_a_projector_refuses_the_database_of_another_prefix(two_prefixes):
    north, south = two_prefixes
    log = generate(seed=5, matters=6, bad=False)
    publish_org(north, log.units)
    produce(north, log.records)
    assert project(north).returncode == 0
    publish_org(south, log.units)
    produce(south, generate(seed=6, matters=4, bad=False, first=900).records)

    refused = project(south, GRIDFLOW_CLICKHOUSE_DATABASE=north.clickhouse_database)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert (f"database {north.clickhouse_database} holds the projection of topic prefix "
            f"'{north.topic_prefix}', not '{south.topic_prefix}'") in refused.stderr
    assert matters(north, north.clickhouse_database) == {e.matter_id for e in log.events}
