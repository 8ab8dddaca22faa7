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
