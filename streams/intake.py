"""The intake agent: raw bytes from upstream -> decode, upcast, validate -> drop exact
duplicates by event id -> the accepted topic, keyed by matter id. Everything else goes to
the dead-letter topic with the reason, the original bytes and topic/partition/offset.

Watermarks take two hops so that every event published before a watermark stays ahead
of it on every partition of the accepted topic (docs/streams.md, "Two clocks"):
1. a watermark from upstream is copied onto every intake partition (header
   ``gridflow-watermark: fanout``), behind whatever those partitions already hold;
2. each copy is forwarded to every accepted partition, tagged with the intake partition
   it passed through (header ``gridflow-source``).
"""
from __future__ import annotations

import time

from events import codec
from events.errors import DecodeError, ValidationError
from events.types import Watermark
from streams import metrics
from streams.output import Out, deadletter, guarded, send_all

STAGE = "intake"
FANOUT_HEADER, FANOUT = "gridflow-watermark", b"fanout"
SOURCE_HEADER = "gridflow-source"
SEEN_MAX = 256  # event ids remembered per matter


def register(rt) -> None:
    @rt.app.agent(rt.topics["intake"], name="intake", concurrency=1)
    async def intake_agent(stream):
        async for ev in stream.events():
            await guarded(rt, STAGE, ev, handle)


async def handle(rt, ev) -> None:
    msg = ev.message
    try:
        event = codec.decode(ev.value)
    except DecodeError as exc:
        metrics.EVENTS_IN.labels(msg.topic, "undecodable").inc()
        return await send_all(ev, [deadletter(rt, ev, stage=STAGE, code="undecodable", message=str(exc))])
    except ValidationError as exc:
        metrics.EVENTS_IN.labels(msg.topic, "invalid").inc()
        return await send_all(ev, [deadletter(rt, ev, stage=STAGE, code="invalid", message=str(exc))])
    metrics.EVENTS_IN.labels(msg.topic, event.TYPE).inc()
    if event.DERIVED or event.INTERNAL:
        return await send_all(ev, [deadletter(rt, ev, stage=STAGE, code="not_upstream", event_id=event.event_id,
                                              message=f"{event.TYPE} is derived by the pipeline, not accepted")])
    if isinstance(event, Watermark):
        return await _watermark(rt, ev, event)
    key = event.matter_id.encode("utf-8")
    seen_table = rt.tables["seen"]
    raw_seen = seen_table.get(key)
    seen = codec.unpack(raw_seen) if raw_seen else []
    if event.event_id in seen:
        metrics.DUPLICATES.labels(STAGE).inc()
        return
    await send_all(ev, [Out(rt.topics["matters"], key, codec.encode(event), type=event.TYPE)])
    seen_table[key] = codec.pack((seen + [event.event_id])[-SEEN_MAX:])
    metrics.LATENCY.labels(STAGE).observe(max(0.0, time.time() - event.occurred_at / 1000))


async def _watermark(rt, ev, event: Watermark) -> None:
    raw, key = codec.encode(event), event.matter_id.encode("utf-8")
    if ev.headers.get(FANOUT_HEADER) == FANOUT:
        source = str(ev.message.partition).encode()
        outs = [Out(rt.topics["matters"], key, raw, p, {SOURCE_HEADER: source}, event.TYPE)
                for p in range(rt.partitions)]
    else:
        outs = [Out(rt.topics["intake"], key, raw, p, {FANOUT_HEADER: FANOUT}, event.TYPE)
                for p in range(rt.partitions)]
    await send_all(ev, outs)
