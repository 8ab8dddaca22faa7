"""Older versions of an event still decode: upcasters lift their data one version at a time."""
from __future__ import annotations

import msgpack
import pytest

from events import ValidationError, codec
from events.types import REGISTRY, Event, event, spec


@pytest.fixture
def feedback_v3():
    """A made-up future 'survey' event at version 3, registered for this test only."""

    @event("test_survey", version=3)
    class SurveyAnswered(Event):
        satisfaction: str = spec(str, choices=("satisfied", "basically_satisfied", "unsatisfied"), doc="answer")
        channel: str = spec(str, doc="how the answer came")

    upcasters = {
        # v1 had a boolean; v2 has the three-way answer
        ("test_survey", 1): lambda d: {"satisfaction": "satisfied" if d.pop("happy") else "unsatisfied"},
        # v3 adds the channel, unknown for old records
        ("test_survey", 2): lambda d: {**d, "channel": "unknown"},
    }
    yield SurveyAnswered, upcasters
    del REGISTRY["test_survey"]


def raw(version: int, data: dict) -> bytes:
    return msgpack.packb({"id": "e1", "matter": "m1", "type": "test_survey", "v": version,
                          "at": 1_767_225_600_000, "producer": "old-app", "data": data})


def test_version_one_is_lifted_through_every_step(feedback_v3):
    cls, upcasters = feedback_v3
    decoded = codec.decode(raw(1, {"happy": False}), upcasters)
    assert decoded == cls(event_id="e1", matter_id="m1", occurred_at=1_767_225_600_000, producer="old-app",
                          satisfaction="unsatisfied", channel="unknown")


def test_current_version_needs_no_upcaster(feedback_v3):
    cls, _ = feedback_v3
    assert codec.decode(raw(3, {"satisfaction": "satisfied", "channel": "app"}), {}).channel == "app"


def test_a_missing_upcaster_is_a_validation_error_on_v(feedback_v3):
    _, upcasters = feedback_v3
    with pytest.raises(ValidationError, match="^v: expected a version with an upcaster to 3"):
        codec.decode(raw(1, {"happy": True}), {("test_survey", 2): upcasters[("test_survey", 2)]})


def test_upcasted_data_is_validated_like_new_data(feedback_v3):
    _, upcasters = feedback_v3
    broken = {**upcasters, ("test_survey", 2): lambda d: {**d, "channel": ""}}
    with pytest.raises(ValidationError, match="data.channel"):
        codec.decode(raw(2, {"satisfaction": "satisfied"}), broken)
