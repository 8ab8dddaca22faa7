"""JSON-lines input for `gridflow publish`: wire maps, ISO times, and refusals with line numbers."""
from __future__ import annotations

import json

import pytest

from events import ValidationError
from gridflow.sdk import parse_line, read_jsonl

AT = 1_772_415_000_000  # 2026-03-02 09:30 CST


def line(**changes):
    record = {"id": "e-1", "matter": "m-1", "type": "accepted", "v": 1, "at": AT, "producer": "app",
              "data": {"unit": "u-g1", "handler": "h-1"}}
    record.update(changes)
    return json.dumps(record, ensure_ascii=False)


@pytest.mark.parametrize("at", [AT, "2026-03-02T09:30:00+08:00", "2026-03-02T01:30:00Z"])
def test_at_may_be_epoch_millis_or_iso_with_an_offset(at):
    assert parse_line(line(at=at)).occurred_at == AT


@pytest.mark.parametrize("text, field", [
    (line(at="2026-03-02T09:30:00"), "at"),
    (line(at="yesterday"), "at"),
    (line(type="escalated"), "type"),
    (line(data={"unit": "u-g1"}), "data.handler"),
    ("{not json", "line"),
    ("[1, 2]", "record"),
])
def test_bad_lines_raise_naming_the_field(text, field):
    with pytest.raises(ValidationError) as caught:
        parse_line(text)
    assert caught.value.field == field


def test_reading_a_file_numbers_lines_and_skips_blank_ones(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join([line(), "", line(id="e-2", data={"unit": "u-g1"}), line(id="e-3")]) + "\n",
                    encoding="utf-8")
    results = list(read_jsonl(path))
    assert [(r.line, r.event is not None) for r in results] == [(1, True), (3, False), (4, True)]
    assert results[1].error == "data.handler: expected a str (required), got None"
