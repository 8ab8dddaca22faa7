"""The memory of the upstream events a matter applied: what makes a re-send a no-op, and a
different event under a used id a conflict.

Each entry is 16 bytes: 8 bytes of BLAKE2b over the event id, then 8 bytes of BLAKE2b over
the event's canonical encoding (``codec.encode``: the wire map after validation and
upcasting, so the same event sent as v1 or v2 has one digest). Entries are concatenated,
oldest first, and only the newest ``APPLIED_MAX`` are kept.

Why 32: a matter's whole life is a handful of upstream events (the simulated city's longest
has 15), and what comes back in practice is recent — a publisher retrying after a timeout,
the intake or the matter agent re-reading the inputs since their last commit after a crash.
32 entries hold the whole history of nearly every matter, twice over, in at most 512 bytes.
An id older than that, re-sent, is no longer recognised; it then usually meets
``out_of_order`` (it is older than the matter's newest event) and changes nothing either.

Eight bytes of id digest make a false "seen before" among 32 entries about 2^-59 likely per
event; eight bytes of content digest let a conflicting re-send pass as a duplicate about
2^-64 likely. Entries upcast from state v1 had no content; their content digest is all
zeros and such an id stays a duplicate whatever comes, as it was in v1.
"""
from __future__ import annotations

import hashlib
from typing import Literal

from events import codec
from events.types import Event

APPLIED_MAX = 32
ENTRY = 16
UNKNOWN_CONTENT = bytes(8)

Seen = Literal["new", "duplicate", "conflict"]


def id_digest(event_id: str) -> bytes:
    return hashlib.blake2b(event_id.encode("utf-8"), digest_size=8).digest()


def entry(event: Event) -> bytes:
    """The 16-byte memory of one applied event."""
    return id_digest(event.event_id) + hashlib.blake2b(codec.encode(event), digest_size=8).digest()


def recall(applied: bytes, item: bytes) -> Seen:
    """Whether the event ``item`` (an ``entry``) is new, a duplicate, or a conflicting re-send."""
    ident = item[:8]
    at = applied.find(ident)
    while at != -1 and at % ENTRY:  # a match must start an entry, not straddle two
        at = applied.find(ident, at + 1)
    if at == -1:
        return "new"
    content = applied[at + 8:at + ENTRY]
    return "duplicate" if content == item[8:] or content == UNKNOWN_CONTENT else "conflict"


def remember(applied: bytes, item: bytes) -> bytes:
    """``applied`` with ``item`` added as the newest entry, the oldest dropped past the limit."""
    joined = applied + item
    return joined if len(joined) <= APPLIED_MAX * ENTRY else joined[-APPLIED_MAX * ENTRY:]


def from_ids(event_ids: list[str]) -> bytes:
    """The memory of a v1 state, which kept event ids only (content unknown)."""
    return b"".join(id_digest(i) + UNKNOWN_CONTENT for i in event_ids[-APPLIED_MAX:])
