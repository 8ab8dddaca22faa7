"""How the worker keeps a matter's state: bytes, in memory and in the compacted state topic
(key: the matter id; one reserved key per partition holds its event clock)."""
from __future__ import annotations

from events import codec
from events.state import MatterState

CLOCK_KEY = b"\x00clock"  # never a matter id: ids start with a letter or a digit


def dump(state: MatterState) -> bytes:
    return codec.pack(state.to_dict())


def load(raw: bytes) -> MatterState:
    return MatterState.from_dict(codec.unpack(raw))


def dump_clock(watermark: int) -> bytes:
    return codec.pack(watermark)


def load_clock(raw: bytes) -> int:
    value = codec.unpack(raw)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"event clock record: expected an integer, got {type(value).__name__}")
    return value
