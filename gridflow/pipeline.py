"""Watching a running pipeline from the outside: how far each consumer group is behind
the end of the topics it reads. Used by the demo and the end-to-end test to know when
everything published has been processed and projected."""
from __future__ import annotations

from dataclasses import dataclass

from gridflow.settings import Settings


@dataclass(frozen=True)
class Backlog:
    worker: int  # intake records the workers have not committed yet
    projector: int  # records of the event log the projector has not committed yet
    log_size: int  # records in the event log

    @property
    def done(self) -> bool:
        return self.worker == 0 and self.projector == 0


class PipelineWatch:
    def __init__(self, settings: Settings, *, worker_group: str, projector_group: str):
        from kafka import KafkaAdminClient, KafkaConsumer

        self.settings, self.worker_group, self.projector_group = settings, worker_group, projector_group
        self.admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id="gridflow-watch")
        self.consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None,
                                      enable_auto_commit=False, client_id="gridflow-watch")
        topics = settings.topics
        self.worker_topics = [topics.intake]
        self.log_topic = topics.events

    def _partitions(self, topic: str):
        from kafka import TopicPartition

        return [TopicPartition(topic, p) for p in sorted(self.consumer.partitions_for_topic(topic) or ())]

    def _behind(self, group: str, tps) -> tuple[int, int]:
        ends = self.consumer.end_offsets(tps)
        committed = self._committed(group, tps)
        behind = 0
        for tp in tps:
            meta = committed.get(tp)
            position = meta.offset if meta is not None and meta.offset >= 0 else 0
            behind += max(0, ends[tp] - position)
        return behind, sum(ends.values())

    def _committed(self, group: str, tps) -> dict:
        """The group's committed offsets; none while its coordinator is not ready yet (a
        fresh broker creates the offsets topic on the first request): behind by everything."""
        from kafka.errors import KafkaError

        try:
            return self.admin.list_group_offsets({group: tps}).get(group, {})
        except KafkaError as exc:
            if not getattr(exc, "retriable", False):
                raise
            return {}

    def backlog(self) -> Backlog:
        worker_tps = [tp for t in self.worker_topics for tp in self._partitions(t)]
        worker, _ = self._behind(self.worker_group, worker_tps)
        projector, size = self._behind(self.projector_group, self._partitions(self.log_topic))
        return Backlog(worker, projector, size)

    def records(self, topic: str) -> int:
        """How many records ``topic`` holds (end minus beginning offsets over its partitions)."""
        tps = self._partitions(topic)
        if not tps:
            return 0
        ends, begins = self.consumer.end_offsets(tps), self.consumer.beginning_offsets(tps)
        return sum(ends[tp] - begins[tp] for tp in tps)

    def close(self) -> None:
        self.consumer.close()
        self.admin.close()
