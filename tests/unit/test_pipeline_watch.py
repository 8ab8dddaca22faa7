"""The pipeline watch on a broker whose group coordinator is not ready yet (a fresh broker
creates its offsets topic on the first request): the group is behind by everything, and
the demo keeps waiting instead of failing."""
from __future__ import annotations

import pytest
from kafka import TopicPartition
from kafka.errors import CoordinatorNotAvailableError, GroupAuthorizationFailedError

from gridflow.pipeline import PipelineWatch


class Consumer:
    def __init__(self, ends):
        self.ends = ends

    def end_offsets(self, tps):
        return {tp: self.ends[tp] for tp in tps}


class Admin:
    def __init__(self, answers):
        self.answers = list(answers)

    def list_group_offsets(self, specs):
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def watch(admin, ends) -> PipelineWatch:
    w = object.__new__(PipelineWatch)
    w.admin, w.consumer = admin, Consumer(ends)
    return w


TPS = [TopicPartition("t", 0), TopicPartition("t", 1)]
ENDS = {TPS[0]: 10, TPS[1]: 5}


def test_a_group_whose_coordinator_is_not_ready_is_behind_by_everything():
    w = watch(Admin([CoordinatorNotAvailableError("starting")]), ENDS)
    assert w._behind("g", TPS) == (15, 15)


def test_committed_offsets_count_once_the_coordinator_answers():
    class Meta:
        def __init__(self, offset):
            self.offset = offset

    w = watch(Admin([CoordinatorNotAvailableError("starting"), {"g": {TPS[0]: Meta(10), TPS[1]: Meta(-1)}}]), ENDS)
    assert w._behind("g", TPS) == (15, 15)
    assert w._behind("g", TPS) == (5, 15)


def test_an_error_that_retrying_cannot_fix_is_raised():
    w = watch(Admin([GroupAuthorizationFailedError("no")]), ENDS)
    with pytest.raises(GroupAuthorizationFailedError):
        w._behind("g", TPS)
