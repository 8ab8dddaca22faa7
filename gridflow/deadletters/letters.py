"""Dead letters as an operator sees them: decoded, filtered, and what a re-drive may send.

Pure: no Kafka. A dead letter (``events.codec.encode_deadletter``) is named by its place on the
dead-letter topic, ``<partition>:<offset>`` (its *ref*). Its ``reason`` is ``<code>: <message>``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from events import EventError, codec
from events.state import REJECTIONS
from events.types import Event

# What a re-drive of the original bytes can cure, by stage and code. The fix is elsewhere (the
# org tree, the policy, the worker's code, the matter's earlier events arriving), so the event
# is sent again unchanged, under its own id: nothing was applied under that id, so the worker
# judges it afresh.
ORIGINAL_CURES = {("intake", "wrong_partition"), ("matters", "internal")} | {
    ("matters", code) for code in REJECTIONS if code not in ("conflict", "not_upstream")}
# The bytes themselves are wrong: only a corrected event (--file) under a new id can be sent.
NEEDS_FILE = {("intake", "undecodable"), ("intake", "invalid"), ("intake", "too_large"), ("matters", "conflict")}


@dataclass(frozen=True)
class Letter:
    partition: int  # on the dead-letter topic
    offset: int
    key: bytes
    stage: str
    code: str
    message: str
    source_topic: str
    source_partition: int
    source_offset: int
    at: int  # when it was dead-lettered, UTC ms
    event_id: str | None
    original: bytes
    wire: Any = None  # the original unpacked (msgpack), or None when it is not msgpack

    @property
    def ref(self) -> str:
        return f"{self.partition}:{self.offset}"

    @property
    def matter(self) -> str:
        """The matter the original names, or its key as text."""
        if isinstance(self.wire, dict) and isinstance(self.wire.get("matter"), str):
            return self.wire["matter"]
        return self.key.decode("utf-8", errors="replace")

    @property
    def original_id(self) -> str | None:
        """The event id the original carries, even when it did not validate."""
        if self.event_id is not None:
            return self.event_id
        if isinstance(self.wire, dict) and isinstance(self.wire.get("id"), str):
            return self.wire["id"]
        return None

    @property
    def type(self) -> str:
        if isinstance(self.wire, dict) and isinstance(self.wire.get("type"), str):
            return self.wire["type"]
        return ""


def parse(partition: int, offset: int, key: bytes | None, value: bytes) -> Letter:
    """A dead-letter record; raises ``EventError`` when the record is not one."""
    d = codec.decode_deadletter(value)
    code, _, message = d["reason"].partition(": ")
    try:
        wire = codec.unpack(d["original"])
    except EventError:
        wire = None
    return Letter(partition, offset, bytes(key or b""), d["stage"], code, message, d["topic"], d["partition"],
                  d["offset"], d["at"], d["event_id"], d["original"], wire)


def parse_ref(text: str) -> tuple[int, int]:
    """``"3:120"`` -> (3, 120)."""
    p, sep, o = text.partition(":")
    if not sep or not p.isdigit() or not o.isdigit():
        raise ValueError(f"a dead letter is named <partition>:<offset> (as `gridflow deadletters list` shows), "
                         f"got {text!r}")
    return int(p), int(o)


@dataclass(frozen=True)
class Filter:
    stages: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    matters: tuple[str, ...] = ()
    since: int | None = None  # dead-lettered at or after, UTC ms
    until: int | None = None  # before

    def matches(self, letter: Letter) -> bool:
        return ((not self.stages or letter.stage in self.stages)
                and (not self.codes or letter.code in self.codes)
                and (not self.matters or letter.matter in self.matters or letter.key.decode("utf-8", "replace")
                     in self.matters)
                and (self.since is None or letter.at >= self.since)
                and (self.until is None or letter.at < self.until))

    @property
    def empty(self) -> bool:
        return self == Filter()


class Refused(Exception):
    """Why a dead letter is not re-driven (the message says what to do instead)."""


@dataclass(frozen=True)
class Send:
    """What a re-drive writes to the intake for one dead letter."""

    letter: Letter
    key: bytes  # the event's matter id: Kafka's default partitioner puts it on the matter's partition
    value: bytes
    event_id: str
    how: str  # "original" | "corrected"


def plan(letter: Letter, corrected: Event | None = None) -> Send:
    """What to send for ``letter`` (with ``corrected``: that event instead), or ``Refused``."""
    where = (letter.stage, letter.code)
    if letter.stage == "projector":
        raise Refused(f"{letter.ref} is the projector's ({letter.code}): the record is in the event log, not "
                      "an intake record; after the fix `gridflow rebuild` projects the log again, this record "
                      "included")
    if where == ("intake", "not_upstream"):
        raise Refused(f"{letter.ref} is a {letter.type or 'derived'} event: only the pipeline writes those")
    if corrected is not None:
        if corrected.event_id == letter.original_id:
            raise Refused(f"{letter.ref}: the corrected event keeps the id {letter.original_id!r}; a correction "
                          "needs a new event id (docs/events.md, \"After a dead letter\")")
        return Send(letter, corrected.matter_id.encode("utf-8"), codec.encode_bounded(corrected),
                    corrected.event_id, "corrected")
    if where in NEEDS_FILE:
        why = ("the id was applied with other content; a correction needs a new id" if letter.code == "conflict"
               else "its bytes are not a valid event")
        raise Refused(f"{letter.ref} ({letter.code}): {why}; fix the event, give it a new id and pass it "
                      "with --file")
    if where not in ORIGINAL_CURES:
        raise Refused(f"{letter.ref}: no re-drive is known for stage {letter.stage!r} code {letter.code!r}")
    try:
        event = codec.decode(letter.original)
    except EventError as exc:
        raise Refused(f"{letter.ref}: the original no longer decodes ({exc}); pass a corrected event with "
                      "--file") from None
    return Send(letter, event.matter_id.encode("utf-8"), letter.original, event.event_id, "original")
