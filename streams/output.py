"""Writing from inside an agent: outputs are awaited until Kafka acknowledged them, *before*
the agent updates its table. So a crash leaves either the old state (the input is processed
again and the same derived ids are written again: duplicates consumers drop) or the new
state with its output already durable — never a state whose output was lost.

Failures never stop the pipeline and are never silent: a record that cannot be handled goes
to the dead-letter topic with the reason, its bytes and where it came from. Only a failed
write to Kafka is fatal: the worker exits without committing and the input is redone.
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Awaitable, Callable, NamedTuple

from events import codec
from streams import metrics
from streams.errors import LogWriteError

log = logging.getLogger(__name__)
EXIT_LOG_WRITE_FAILED = 70


class Out(NamedTuple):
    topic: object  # a faust topic
    key: bytes
    value: bytes
    partition: int | None = None
    headers: dict | None = None
    type: str = ""  # event type, for the metrics


async def send_all(ev, outs: list[Out]) -> None:
    """Send every output, then wait for every acknowledgement (one round trip for all).
    ``ev`` is the input record they come from (None for the scanner's timer)."""
    if not outs:
        return
    try:
        futures = [await o.topic.send(key=o.key, value=o.value, partition=o.partition, headers=o.headers)
                   for o in outs]
        await asyncio.gather(*futures)
    except Exception as exc:  # any producer failure: the output is not known to be durable
        if ev is None:  # the scanner, outside any input record
            raise LogWriteError("scanner", outs[0].partition or 0, -1, exc) from exc
        raise LogWriteError(ev.message.topic, ev.message.partition, ev.message.offset, exc) from exc
    for o in outs:
        if o.type:
            metrics.EVENTS_OUT.labels(o.topic.get_topic_name(), o.type).inc()


def deadletter(rt, ev, *, stage: str, code: str, message: str, event_id: str | None = None) -> Out:
    """The dead-letter record of the current input; ``code`` is short and bounded."""
    msg = ev.message
    log.warning("dead letter %s[%d]@%d (%s): %s: %s", msg.topic, msg.partition, msg.offset, stage, code, message)
    metrics.DEADLETTERS.labels(stage, code).inc()
    value = codec.encode_deadletter(reason=f"{code}: {message}", original=bytes(ev.value or b""),
                                    topic=msg.topic, partition=msg.partition, offset=msg.offset, stage=stage,
                                    at=int(time.time() * 1000), event_id=event_id)
    return Out(rt.topics["deadletter"], bytes(msg.key or b""), value, type="deadletter")


async def guarded(rt, stage: str, ev, handle: Callable[[object, object], Awaitable[None]]) -> None:
    """Run one record through ``handle``; a bug dead-letters the record, a failed write exits."""
    msg = ev.message
    try:
        try:
            await handle(rt, ev)
        except LogWriteError:
            raise
        except Exception as exc:  # a bug in our code must not stop the partition (Faust issue 527)
            log.exception("%s: internal error on %s[%d]@%d", stage, msg.topic, msg.partition, msg.offset)
            await send_all(ev, [deadletter(rt, ev, stage=stage, code="internal", message=repr(exc)[:500])])
    except LogWriteError as exc:
        exit_on_log_write_failure(exc)
    rt.positions[(msg.topic, msg.partition)] = msg.offset + 1
    rt.last_progress = time.monotonic()


def exit_on_log_write_failure(exc: LogWriteError) -> None:
    log.critical("%s; exiting without committing so the input is processed again after a restart", exc)
    logging.shutdown()
    os._exit(EXIT_LOG_WRITE_FAILED)
