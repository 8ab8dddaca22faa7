"""Publishing from the API: the same encoding and bound as the SDK (``codec.encode_bounded``),
keyed by matter id, ``acks=all`` with an idempotent aiokafka producer, so the event loop never
blocks on the broker. A request is answered only after the acknowledgement."""
from __future__ import annotations

import asyncio
import logging
import time

from events import codec
from events.types import Event
from gridflow.api import metrics
from gridflow.api.errors import ApiError
from gridflow.settings import Settings

log = logging.getLogger(__name__)


class EventPublisher:
    def __init__(self, settings: Settings) -> None:
        self.topic = settings.topics.intake
        self.bootstrap = settings.kafka_bootstrap
        self.timeout = settings.api_publish_timeout_seconds
        self._producer = None

    async def start(self) -> None:
        from aiokafka import AIOKafkaProducer

        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, client_id="gridflow-api", acks="all", enable_idempotence=True,
            linger_ms=2, request_timeout_ms=int(self.timeout * 1000), max_request_size=1024 * 1024)
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()

    async def publish(self, event: Event) -> None:
        """Send and wait for the acknowledgement; a 503 (retry with the same Idempotency-Key) when
        it does not come within the timeout."""
        value = codec.encode_bounded(event)
        started = time.perf_counter()
        try:
            await asyncio.wait_for(self._producer.send_and_wait(self.topic, value, key=event.matter_id.encode()),
                                   timeout=self.timeout)
        except Exception as exc:  # aiokafka's errors and the timeout: the broker did not take it
            log.warning("api: %s event %s (matter %s) not acknowledged: %r", self.topic, event.event_id,
                        event.matter_id, exc)
            raise ApiError(503, "Kafka did not acknowledge the event; nothing is lost by retrying with the same "
                                "Idempotency-Key", headers={"Retry-After": "5"}) from None
        metrics.KAFKA_ACK_SECONDS.observe(time.perf_counter() - started)
        metrics.PUBLISHED.labels(event.TYPE).inc()
