"""docs/events.md documents every event type with an example that decodes."""
from __future__ import annotations

import json
import re
from pathlib import Path

from events import REGISTRY, codec
from events.catalogue import BEGIN, END, render
from events.codec import pack

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"


def test_the_catalogue_in_the_doc_is_the_generated_one():
    text = DOC.read_text(encoding="utf-8")
    assert text[text.index(BEGIN):text.index(END) + len(END)] == render(), \
        "regenerate the catalogue section with python -m events.catalogue"


def test_every_type_has_a_section_and_every_example_decodes():
    text = DOC.read_text(encoding="utf-8")
    examples = [json.loads(block) for block in re.findall(r"```json\n(.*?)\n```", text, re.S)]
    assert sorted(e["type"] for e in examples) == sorted(REGISTRY)
    for example in examples:
        assert codec.decode(pack(example)).TYPE == example["type"]


def test_the_deadlines_in_the_examples_are_the_ones_the_shipped_policy_gives():
    """A grid sanitation matter arriving at the examples' instant (New Year's Day 2026, a
    holiday; Sunday 4 January a make-up workday): what the docs show is what the pipeline
    computes."""
    from events import policy, sla
    from events.calendar import Calendar
    from events.catalogue import EXAMPLE_AT
    from events.levels import Level

    d = sla.start(policy.load(), Calendar(), Level.parse("grid"), "sanitation", "normal", EXAMPLE_AT)
    started = REGISTRY["sla_started"].EXAMPLE
    assert (started["accept_by"], started["resolve_by"], started["warn_at"]) == \
        (d.accept_by, d.resolve_by, list(d.warn_at))
    assert started["policy_version"] == d.policy_version
    assert REGISTRY["sla_warning"].EXAMPLE["due_at"] == d.resolve_by
    assert REGISTRY["sla_breached"].EXAMPLE["due_at"] == d.resolve_by
