"""How the worker keeps a matter's state: bytes (``events.state_codec``: versioned, compact), in
memory and in the compacted state topic (key: the matter id; one reserved key per partition
holds its event clock)."""
from __future__ import annotations

from events import codec
from events.state_codec import decode_state, encode_state

CLOCK_KEY = b"\x00clock"  # never a matter id: ids start with a letter or a digit

dump = encode_state  # MatterState -> bytes, the current version
load = decode_state  # bytes of any stored version -> MatterState


def dump_clock(watermark: int) -> bytes:
    return codec.pack(watermark)


def load_clock(raw: bytes) -> int:
    value = codec.unpack(raw)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"event clock record: expected an integer, got {type(value).__name__}")
    return value
