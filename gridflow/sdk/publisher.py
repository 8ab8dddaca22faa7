"""Publish upstream events to the intake topic with kafka-python: keyed by matter id,
msgpack-encoded by ``events.codec``, ``acks=all``, and returned only once the broker
acknowledged. ``Batch`` sends many and flushes once, still checking every acknowledgement.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

from events import codec
from events import policy as policy_module
from events.orgtree import OrgUnit
from events.policy import Policy
from events.types import Event, Watermark
from gridflow.sdk.factory import EventFactory, When, check_upstream, new_id, now_ms
from gridflow.settings import Settings


class PublishError(Exception):
    """The broker did not acknowledge an event (or could not be reached). Names the topic."""

    def __init__(self, message: str, *, topic: str, event_id: str | None = None,
                 matter_id: str | None = None, failed: int = 1) -> None:
        self.topic, self.event_id, self.matter_id, self.failed = topic, event_id, matter_id, failed
        where = f"{topic}" + (f" event {event_id} (matter {matter_id})" if event_id else "")
        super().__init__(f"{where}: {message}")


def make_producer(bootstrap: str, client_id: str, *, timeout: float, linger_ms: int) -> Any:
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    try:
        return KafkaProducer(
            bootstrap_servers=bootstrap, client_id=client_id,
            acks="all", enable_idempotence=True,  # acks from every in-sync replica; retries keep order
            linger_ms=linger_ms, batch_size=512 * 1024, max_request_size=8 * 1024 * 1024,
            allow_auto_create_topics=False,  # topics are created with their partition counts, never implicitly
            max_block_ms=int(timeout * 1000), request_timeout_ms=int(timeout * 1000),
            delivery_timeout_ms=int(timeout * 1000) + 5000)
    except KafkaError as exc:
        raise PublishError(f"cannot reach Kafka at {bootstrap}: {exc!r}", topic="-") from exc


class Publisher:
    """The publisher SDK for upstream apps.

    ``Publisher(settings)`` or ``Publisher("127.0.0.1:9092", producer="wanggejiahe-app")``.
    Each lifecycle method builds a valid event (raising ``events.ValidationError`` naming the
    field before anything is sent; ``events.errors.RecordTooLarge``, one of them, for an event
    whose encoding exceeds ``events.codec.MAX_RECORD_BYTES``), publishes it and waits for the
    broker's acknowledgement.
    Every method takes ``at=`` (aware datetime or UTC epoch ms; default now) and ``event_id=``
    (default a uuid4; re-sending the same id is safe, the intake drops duplicates).
    """

    def __init__(self, target: Settings | str | None = None, producer: str = "gridflow-sdk", *,
                 policy: Policy | None = None, check_categories: bool = True, timeout: float = 30.0,
                 linger_ms: int = 5, clock: Callable[[], int] = now_ms, ids: Callable[[], str] = new_id,
                 clock_id: str | None = None, kafka_producer: Any = None) -> None:
        settings = target if isinstance(target, Settings) else Settings.from_env()
        bootstrap = target if isinstance(target, str) else settings.kafka_bootstrap
        self.topic, self.org_topic = settings.topics.intake, settings.topics.org
        self.timeout = timeout
        if policy is None and check_categories:
            policy = policy_module.load(settings.policy_path or None)
        self.events = EventFactory(producer, policy=policy if check_categories else None,
                                   clock=clock, ids=ids, clock_id=clock_id)
        self._producer = kafka_producer or make_producer(bootstrap, producer, timeout=timeout, linger_ms=linger_ms)
        self._partitions: list[int] | None = None

    # -- sending -----------------------------------------------------------------------------

    def publish(self, event: Event) -> Event:
        """Validate one upstream event, send it keyed by its matter id, wait for the ack.
        A watermark goes to every partition of the intake topic (see ``copies``)."""
        event = check_upstream(event)
        records = [(p, c, codec.encode_bounded(c)) for p, c in self.copies(event)]  # all refused before any is sent
        for future, copy in [(self._send(self.topic, c.matter_id, value, c, p), c) for p, c, value in records]:
            self._wait(future, copy)
        return event

    def copies(self, event: Event) -> list[tuple[int | None, Event]]:
        """(partition, event) pairs to send: the event itself, partitioned by its key; or, for a
        watermark, one copy per intake partition. The stream clock is the minimum over intake
        partitions, so a watermark must follow the events before it on every partition; each
        copy has its own id (``<id>.p<partition>``) so deduplication keeps them all."""
        if not isinstance(event, Watermark):
            return [(None, event)]
        return [(p, event.replace(event_id=f"{event.event_id}.p{p}")) for p in self.partitions()]

    def partitions(self) -> list[int]:
        if self._partitions is None:
            from kafka.errors import KafkaError

            try:
                found = self._producer.partitions_for(self.topic)
            except KafkaError as exc:
                raise PublishError(f"no partitions: {exc!r}", topic=self.topic) from exc
            if not found:
                raise PublishError("topic has no partitions (does it exist? `gridflow topics` creates it)",
                                   topic=self.topic)
            self._partitions = sorted(found)
        return self._partitions

    def batch(self, *, flush_every: int = 20_000, check: bool = True) -> "Batch":
        """Send many events, flushing every ``flush_every`` and at the end; see ``Batch``."""
        return Batch(self, flush_every=flush_every, check=check)

    def publish_org(self, units: Iterable[OrgUnit]) -> int:
        """Publish org units to the compacted org topic, keyed by unit id; wait for every ack."""
        futures = [(self._send(self.org_topic, u.unit_id, codec.encode_org_unit(u), None), u) for u in units]
        self.flush()
        failed = [(u, f.exception) for f, u in futures if not f.succeeded()]
        if failed:
            unit, exc = failed[0]
            raise PublishError(f"{len(failed)} org units not acknowledged, first {unit.unit_id!r}: {exc!r}",
                               topic=self.org_topic, failed=len(failed))
        return len(futures)

    def flush(self) -> None:
        self._producer.flush(timeout=self.timeout)

    def close(self) -> None:
        self._producer.flush(timeout=self.timeout)
        self._producer.close(timeout=self.timeout)

    def __enter__(self) -> "Publisher":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, topic: str, key: str, value: bytes, event: Event | None, partition: int | None = None) -> Any:
        from kafka.errors import KafkaError

        try:
            return self._producer.send(topic, key=key.encode("utf-8"), value=value, partition=partition)
        except KafkaError as exc:  # typically: topic metadata not available within max_block_ms
            raise PublishError(f"not sent: {exc!r} (does the topic exist? `gridflow topics` creates it)",
                               topic=topic, event_id=event and event.event_id,
                               matter_id=event and event.matter_id) from exc

    def _wait(self, future: Any, event: Event) -> None:
        from kafka.errors import KafkaError

        try:
            future.get(timeout=self.timeout)
        except KafkaError as exc:
            raise PublishError(f"not acknowledged: {exc!r}", topic=self.topic, event_id=event.event_id,
                               matter_id=event.matter_id) from exc

    # -- the lifecycle of a matter ---------------------------------------------------------------

    def report(self, *, category: str, place: str, reporter: str, text: str, priority: str = "normal",
               channel: str = "app", kind: str | None = None, matter_id: str | None = None,
               at: When = None, event_id: str | None = None) -> str:
        """Report an incident or order a service; returns the matter id (minted unless given)."""
        return self.publish(self.events.reported(
            category=category, place=place, reporter=reporter, text=text, priority=priority, channel=channel,
            kind=kind, matter_id=matter_id, at=at, event_id=event_id)).matter_id

    def accept(self, matter_id: str, *, unit: str, handler: str, **kw: Any) -> Event:
        return self.publish(self.events.accepted(matter_id, unit=unit, handler=handler, **kw))

    def dispatch(self, matter_id: str, *, unit: str | None = None, handler: str | None = None,
                 resource: str | None = None, **kw: Any) -> Event:
        return self.publish(self.events.dispatched(matter_id, unit=unit, handler=handler, resource=resource, **kw))

    def claim(self, matter_id: str, *, handler: str, unit: str | None = None, resource: str | None = None,
              **kw: Any) -> Event:
        return self.publish(self.events.claimed(matter_id, handler=handler, unit=unit, resource=resource, **kw))

    def summon(self, matter_id: str, *, unit: str, handler: str, **kw: Any) -> Event:
        return self.publish(self.events.summoned(matter_id, unit=unit, handler=handler, **kw))

    def report_in(self, matter_id: str, *, unit: str, handler: str, **kw: Any) -> Event:
        return self.publish(self.events.reported_in(matter_id, unit=unit, handler=handler, **kw))

    def redeem_points(self, resource_id: str, *, points: int, **kw: Any) -> Event:
        return self.publish(self.events.points_redeemed(resource_id, points=points, **kw))

    def register_resource(self, resource_id: str, **kw: Any) -> Event:
        """``resource_registered``: ``kind``, ``categories``, ``covers``, ``capacity``; optional
        ``availability``, ``unit``."""
        return self.publish(self.events.resource_registered(resource_id, **kw))

    def suspend(self, matter_id: str, *, reason: str, **kw: Any) -> Event:
        return self.publish(self.events.suspended(matter_id, reason=reason, **kw))

    def resume(self, matter_id: str, **kw: Any) -> Event:
        return self.publish(self.events.resumed(matter_id, **kw))

    def resolve(self, matter_id: str, *, unit: str, handler: str, level: str | None = None, **kw: Any) -> Event:
        return self.publish(self.events.resolved(matter_id, unit=unit, handler=handler, level=level, **kw))

    def verify(self, matter_id: str, *, verifier: str, **kw: Any) -> Event:
        return self.publish(self.events.verified(matter_id, verifier=verifier, **kw))

    def fail_verification(self, matter_id: str, *, verifier: str, reason: str, **kw: Any) -> Event:
        return self.publish(self.events.verification_failed(matter_id, verifier=verifier, reason=reason, **kw))

    def feedback(self, matter_id: str, *, contacted: bool, solved: bool, satisfaction: str, **kw: Any) -> Event:
        return self.publish(self.events.feedback(matter_id, contacted=contacted, solved=solved,
                                                 satisfaction=satisfaction, **kw))

    def reopen(self, matter_id: str, *, reason: str, **kw: Any) -> Event:
        return self.publish(self.events.reopened(matter_id, reason=reason, **kw))

    def cancel(self, matter_id: str, *, reason: str, duplicate_of: str | None = None, **kw: Any) -> Event:
        return self.publish(self.events.cancelled(matter_id, reason=reason, duplicate_of=duplicate_of, **kw))

    def request_escalation(self, matter_id: str, *, handler: str, reason: str, note: str | None = None,
                           **kw: Any) -> Event:
        return self.publish(self.events.escalation_requested(matter_id, handler=handler, reason=reason,
                                                             note=note, **kw))

    def watermark(self, at: When, *, clock_id: str | None = None, **kw: Any) -> Event:
        """Tell the pipeline (clock=event) that event time has reached ``at``: call it only
        after every event up to ``at`` was published. One copy goes to each intake partition."""
        return self.publish(self.events.watermark(at, clock_id=clock_id, **kw))


class Batch:
    """Many sends, one flush: ``with publisher.batch() as b: b.add(event)``.

    Still ``acks=all``; every future is checked at each flush and a failure raises
    ``PublishError`` counting the events the broker did not acknowledge. ``check=False``
    skips re-validation for events already built by ``EventFactory``.
    """

    def __init__(self, publisher: Publisher, *, flush_every: int, check: bool) -> None:
        self._pub, self._flush_every, self._check = publisher, flush_every, check
        self._pending: list[tuple[Any, Event]] = []
        self.events = 0  # events added
        self.sent = 0  # records sent (a watermark is one record per intake partition)
        self.acknowledged = 0  # records the broker acknowledged

    def add(self, event: Event) -> None:
        if self._check:
            event = check_upstream(event)
        records = [(p, c, codec.encode_bounded(c)) for p, c in self._pub.copies(event)]
        for partition, copy, value in records:
            future = self._pub._send(self._pub.topic, copy.matter_id, value, copy, partition)
            self._pending.append((future, copy))
            self.sent += 1
        self.events += 1
        if len(self._pending) >= self._flush_every:
            self.flush()

    def add_all(self, events: Iterable[Event]) -> None:
        for event in events:
            self.add(event)

    def flush(self) -> int:
        """Flush and check every pending acknowledgement; returns how many were acknowledged."""
        if not self._pending:
            return 0
        self._pub.flush()
        pending, self._pending = self._pending, []
        failed = [(f, e) for f, e in pending if not (f.is_done and f.succeeded())]
        if failed:
            future, event = failed[0]
            cause = future.exception if future.is_done else "no acknowledgement within the timeout"
            raise PublishError(f"{len(failed)} of {len(pending)} events not acknowledged, first: {cause!r}",
                               topic=self._pub.topic, event_id=event.event_id, matter_id=event.matter_id,
                               failed=len(failed))
        self.acknowledged += len(pending)
        return len(pending)

    def __enter__(self) -> "Batch":
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.flush()
