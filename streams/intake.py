"""The intake agent: raw bytes from upstream -> decode, upcast, validate -> drop exact
duplicates by event id -> the accepted topic, keyed by matter id. Everything else goes to
the dead-letter topic with the reason, the original bytes and topic/partition/offset.

A watermark is forwarded to every partition of the accepted topic, tagged with the intake
partition it came through (header ``gridflow-source``). Publishers send a copy of each
watermark to every intake partition, after the events it covers (the SDK's ``watermark()``
does); the event clock of an accepted partition is the minimum over intake partitions, so
every event published before a watermark is ahead of it (docs/streams.md, "Two clocks").
"""
from __future__ import annotations

import time

from events import codec
from events.errors import DecodeError, ValidationError
from events.types import Watermark
from streams import metrics
from streams.output import Out, deadletter, guarded, send_all

STAGE = "intake"
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
    source = {SOURCE_HEADER: str(ev.message.partition).encode()}
    await send_all(ev, [Out(rt.topics["matters"], key, raw, p, source, event.TYPE) for p in range(rt.partitions)])
