"""Derived ids are uuid5 of their cause, computed quickly but exactly as the uuid module does."""
from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from events.ids import NAMESPACE, derived_id


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(max_size=40), st.text(max_size=12), st.lists(st.integers() | st.floats(allow_nan=False) | st.text(),
                                                             max_size=4))
def test_a_derived_id_is_the_uuid5_of_its_cause(matter, kind, parts):
    name = "|".join([matter, kind, *(str(p) for p in parts)])
    assert derived_id(matter, kind, *parts) == str(uuid.uuid5(NAMESPACE, name))
