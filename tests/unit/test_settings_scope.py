"""The database and the projector's consumer group follow the topic prefix unless set."""
from __future__ import annotations

import pytest

from gridflow.settings import Settings, database_for


def test_the_default_prefix_keeps_the_names_of_earlier_releases():
    s = Settings.from_env({})
    assert (s.topic_prefix, s.clickhouse_database, s.projector_group) == ("gridflow", "gridflow", "gridflow-projector")


@pytest.mark.parametrize("prefix, database", [("city-b", "city_b"), ("test-1a.x", "test_1a_x"), ("2026-run", "_2026_run")])
def test_a_prefix_gets_its_own_database_and_group(prefix, database):
    s = Settings.from_env({"GRIDFLOW_TOPIC_PREFIX": prefix})
    assert s.clickhouse_database == database == database_for(prefix)
    assert s.projector_group == f"{prefix}-projector"


def test_explicit_names_are_kept_whatever_the_prefix():
    s = Settings.from_env({"GRIDFLOW_TOPIC_PREFIX": "city-b", "GRIDFLOW_CLICKHOUSE_DATABASE": "gridflow",
                           "GRIDFLOW_PROJECTOR_GROUP": "gridflow-projector"})
    assert (s.clickhouse_database, s.projector_group) == ("gridflow", "gridflow-projector")
    moved = s.with_(topic_prefix="city-c")
    assert (moved.clickhouse_database, moved.projector_group) == ("gridflow", "gridflow-projector")


def test_a_new_prefix_carries_its_derived_names_along():
    moved = Settings().with_(topic_prefix="city-c")
    assert (moved.clickhouse_database, moved.projector_group) == ("city_c", "city-c-projector")
    assert Settings().with_(topic_prefix="x", clickhouse_database="mine").clickhouse_database == "mine"


@pytest.mark.parametrize("env, field", [({"GRIDFLOW_CLICKHOUSE_DATABASE": "drop table"}, "clickhouse_database"),
                                        ({"GRIDFLOW_PROJECTOR_GROUP": "a group"}, "projector_group"),
                                        ({"GRIDFLOW_TOPIC_PREFIX": "a/b"}, "topic_prefix")])
def test_names_that_cannot_work_are_refused_naming_the_setting(env, field):
    with pytest.raises(ValueError, match=field):
        Settings.from_env(env)


def test_the_workers_state_directory_follows_the_stack_dir(tmp_path):
    from streams.app import state_dir

    assert state_dir(Settings()) == Settings().stack_path.parent / "worker" / "worker-1"
    moved = Settings.from_env({"GRIDFLOW_STACK_DIR": str(tmp_path / "gf" / "stack"), "GRIDFLOW_WORKER_ID": "w7"})
    assert state_dir(moved) == tmp_path / "gf" / "worker" / "w7"
