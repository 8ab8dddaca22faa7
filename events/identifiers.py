"""What an identifier may look like: vocabulary, never personal data.

Identifier fields (event, matter and producer ids; units, places, handlers, reporters,
verifiers, the matter a duplicate points to) reach the analysts' ClickHouse and metrics
dashboards. A resident's name or phone number typed into one of them is a leak, so every
identifier must be a slug: ASCII letters, digits and ``-_.:``, starting with a letter or a
digit, 1 to 128 characters, with at least one ASCII letter (a bare phone number has none).
A canonical UUID is accepted as it is, even in the rare case that it has no letter.

What a pattern cannot catch: a name in pinyin (``zhangsan``), or a phone number behind a
letter (``tel13800000000``), looks like an id. The pattern keeps out Chinese names,
spaces, ``+86`` numbers and addresses; pseudonymising people is still the sender's duty.
"""
from __future__ import annotations

import re
from functools import lru_cache

ID_MAX = 128
_SLUG = r"(?=[A-Za-z0-9._:-]*[A-Za-z])[A-Za-z0-9][A-Za-z0-9._:-]{0,127}"
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# The same text is the JSON Schema ``pattern`` (ECMA 262 and Python agree on this subset).
ID_PATTERN = f"^(?:{_UUID}|{_SLUG})$"
ID_RULE = ("an identifier: 1-128 ASCII letters, digits and -_.: starting with a letter or digit, "
           "with at least one letter (never a name or phone number)")

_fullmatch = re.compile(ID_PATTERN).fullmatch  # fullmatch: no trailing newline slips past ``$``


def is_identifier(value: object) -> bool:
    """True for a string that fits ``ID_PATTERN``."""
    return isinstance(value, str) and len(value) <= ID_MAX and _known(value)


@lru_cache(maxsize=1 << 16)  # units, producers, categories and a matter's id come again and again
def _known(value: str) -> bool:
    return _fullmatch(value) is not None
