"""The matter agent: one writer per matter (concurrency 1). Reads the accepted topic, keeps
each matter's state in a table, and lets ``events.state.decide`` say what happens; writes
the emitted events to the log, rejections to the dead-letter topic, then the new state.

Watermark copies move the partition's stream clock; in event mode each one also runs the
scanner over this partition (the same proposal path as the periodic scan)."""
from __future__ import annotations

import time

from events import codec
from events.errors import EventError
from events.state import MatterState, decide
from events.types import Watermark
from streams import metrics, scanner
from streams.clock import EVENT
from streams.intake import SOURCE_HEADER
from streams.errors import LogWriteError
from streams.output import Out, deadletter, guarded, send_all

STAGE = "matters"


def register(rt) -> None:
    @rt.app.agent(rt.topics["matters"], name="matters", concurrency=1)
    async def matters_agent(stream):
        async for ev in stream.events():
            await guarded(rt, STAGE, ev, handle)


def load_state(raw: bytes | None) -> MatterState | None:
    return MatterState.from_dict(codec.unpack(raw)) if raw else None


def dump_state(state: MatterState) -> bytes:
    return codec.pack(state.to_dict())


async def handle(rt, ev) -> None:
    msg = ev.message
    try:
        event = codec.decode(ev.value)
    except EventError as exc:  # only the intake and the scanner write here: a bug or a stray producer
        metrics.EVENTS_IN.labels(msg.topic, "invalid").inc()
        return await send_all(ev, [deadletter(rt, ev, stage=STAGE, code="invalid", message=str(exc))])
    metrics.EVENTS_IN.labels(msg.topic, event.TYPE).inc()
    if isinstance(event, Watermark):
        return await _watermark(rt, ev, event)
    key = event.matter_id.encode("utf-8")
    table = rt.tables["matters"]
    raw = table.get(key)
    state = load_state(raw)
    decision = decide(state, event, rt.ctx)
    if decision.duplicate:
        metrics.DUPLICATES.labels(STAGE).inc()
        table[key] = raw  # re-write: the changelog may not have had it when we crashed
        return await _confirm(table, msg)
    events_topic = rt.topics["events"]
    outs = [Out(events_topic, key, codec.encode(e), type=e.TYPE) for e in decision.emit]
    if decision.rejected:
        outs.append(deadletter(rt, ev, stage=STAGE, code=decision.rejected.code,
                               message=decision.rejected.message, event_id=event.event_id))
    await send_all(ev, outs)
    new = decision.state
    if new is not None and new != state:
        table[key] = dump_state(new)
        await _confirm(table, msg)
    track(rt, msg.partition, event.matter_id, state, new)
    metrics.count_emitted(decision.emit, new.category if new else None)
    if not event.INTERNAL:
        rt.newest_event_at = max(rt.newest_event_at, event.occurred_at)
        metrics.LATENCY.labels(STAGE).observe(max(0.0, time.time() - event.occurred_at / 1000))


async def _confirm(table, msg) -> None:
    """The new state is in Kafka before this input counts as processed (streams/durable.py)."""
    try:
        await table.confirm()
    except Exception as exc:  # not known to be durable: exit without committing, redo the input
        raise LogWriteError(msg.topic, msg.partition, msg.offset, exc) from exc


def track(rt, partition: int, matter_id: str, old: MatterState | None, new: MatterState | None) -> None:
    """Keep the deadline index and the open-matters gauge in step with the table."""
    timer = new.next_timer() if new is not None else None
    rt.index.set(partition, matter_id, (timer.due, new.cycle, timer.deadline) if timer else None)
    counts = rt.open_matters.setdefault(partition, {})
    for state, step in ((old, -1), (new, +1)):
        if state is not None and state.is_open:
            counts[state.level] = counts.get(state.level, 0) + step
            metrics.OPEN_MATTERS.labels(state.level).inc(step)


async def _watermark(rt, ev, event: Watermark) -> None:
    partition = ev.message.partition
    source = ev.headers.get(SOURCE_HEADER)
    if source is None:  # not passed through the intake: it would bypass the ordering guarantee
        return await send_all(ev, [deadletter(rt, ev, stage=STAGE, code="invalid",
                                              message="watermark without the intake's gridflow-source header")])
    if rt.clock.observe(partition, int(source), event.occurred_at):
        rt.tables["clocks"][scanner.clock_key(partition)] = scanner.encode_marks(rt.clock.marks(partition))
    if rt.clock.mode == EVENT:
        await scanner.scan_partition(rt, partition, ev)
