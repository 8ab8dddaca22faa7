"""The Kafka topics of gridflow, created on purpose (the local broker runs with
``auto.create.topics.enable=false``). Used by ``gridflow topics``, workers, tests and the demo.

    report = ensure_topics(settings)   # idempotent; raises TopicsError on a mismatch
"""
from __future__ import annotations

from dataclasses import dataclass, field

from deploy.process import StackError
from gridflow.settings import Settings

TOPIC_ALREADY_EXISTS = 36
UNKNOWN_TOPIC_OR_PARTITION = 3


class TopicsError(StackError):
    """A topic exists with other partitions or settings than gridflow needs, or could not be created."""


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    configs: dict[str, str] = field(default_factory=dict)
    purpose: str = ""


@dataclass(frozen=True)
class TopicsReport:
    created: list[str]
    existing: list[str]


# Kafka's own default for one record (broker message.max.bytes, topic max.message.bytes):
# an upstream record up to this size reaches the worker, which dead-letters anything over
# events.codec.MAX_RECORD_BYTES with an excerpt; bigger ones the broker refuses to the producer.
RECORD_LIMIT = "1048588"


def topic_specs(settings: Settings) -> list[TopicSpec]:
    t, n = settings.topics, settings.partitions
    return [
        TopicSpec(t.intake, n, {"max.message.bytes": RECORD_LIMIT}, "raw msgpack from upstream apps"),
        # The event log is the source of truth (rebuilds replay it from offset zero): keep it forever.
        TopicSpec(t.events, n, {"retention.ms": "-1", "retention.bytes": "-1"}, "the event log"),
        # Dead letters are evidence of bad input, never silently dropped: kept like the log.
        TopicSpec(t.deadletter, n, {"retention.ms": "-1", "retention.bytes": "-1"}, "bad input with its reason"),
        # The worker's matter states, latest per matter (and the event clock per partition): a new
        # owner of a partition reads its partition of this topic before it handles a record.
        # Small segments so compaction keeps up and a recovery reads little more than the live states.
        TopicSpec(t.state, n, {"cleanup.policy": "compact", "segment.bytes": str(64 * 1024 * 1024),
                               "min.cleanable.dirty.ratio": "0.25"}, "matter states, compacted"),
        # Which dead letters were re-driven (`gridflow deadletters redrive`), one marker per dead
        # letter, so a re-drive is never repeated; small, read whole, so one partition.
        TopicSpec(t.redriven, 1, {"cleanup.policy": "compact"}, "re-driven dead letters, compacted"),
        # One record per org unit, latest wins; every worker reads all of it, so one partition.
        TopicSpec(t.org, 1, {"cleanup.policy": "compact"}, "the org tree, compacted"),
        # The resources list (三张清单): accepted resource events, partition n written by the owner
        # of intake partition n, kept forever; every worker reads all of it at start-up and follows it.
        TopicSpec(t.resources, n, {"retention.ms": "-1", "retention.bytes": "-1"}, "the resources log"),
        # Which resource holds which claimed order: one record per (resource, matter), a tombstone
        # when released; every worker reads all of it, so one partition.
        TopicSpec(t.holds, 1, {"cleanup.policy": "compact"}, "resources' claimed orders, compacted"),
    ]


def admin_client(settings: Settings):
    from kafka import KafkaAdminClient

    return KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id="gridflow-topics")


def ensure_topics(settings: Settings, specs: list[TopicSpec] | None = None) -> TopicsReport:
    """Create the missing topics; check the existing ones have the partitions and settings
    of their spec. Raises TopicsError naming every topic that does not match."""
    specs = topic_specs(settings) if specs is None else specs
    admin = admin_client(settings)
    try:
        missing = [s for s in specs if s.name not in _describe(admin, [s.name for s in specs])]
        created = []
        if missing:
            result = admin.create_topics(
                {s.name: {"num_partitions": s.partitions, "replication_factor": settings.replication_factor,
                          "configs": s.configs} for s in missing},
                raise_errors=False,
            )
            failures = []
            for topic in result["topics"]:
                if topic["error_code"] == 0:
                    created.append(topic["name"])
                elif topic["error_code"] != TOPIC_ALREADY_EXISTS:  # lost a race with another creator: fine
                    failures.append(f"{topic['name']}: {topic['error_message'] or topic['error_code']}")
            if failures:
                raise TopicsError("creating topics failed: " + "; ".join(failures))
            if created:
                admin.wait_for_topics(created, timeout_ms=30_000)
        existing_specs = [s for s in specs if s.name not in created]
        _check(admin, existing_specs)
        return TopicsReport(created=created, existing=[s.name for s in existing_specs])
    finally:
        admin.close()


def _describe(admin, names: list[str]) -> dict[str, int]:
    """Partition counts of the topics among ``names`` that exist."""
    counts = {}
    for topic in admin.describe_topics(names):
        if topic["error_code"] == 0:
            counts[topic["name"]] = len(topic["partitions"])
        elif topic["error_code"] != UNKNOWN_TOPIC_OR_PARTITION:
            raise TopicsError(f"describing topic {topic['name']} failed with error code {topic['error_code']}")
    return counts


def _check(admin, specs: list[TopicSpec]) -> None:
    if not specs:
        return
    from kafka.admin import ConfigResource, ConfigResourceType

    counts = _describe(admin, [s.name for s in specs])
    resources = [ConfigResource(ConfigResourceType.TOPIC, s.name) for s in specs]
    configs = admin.describe_configs(resources, config_filter="all")["topic"]
    problems = []
    for spec in specs:
        actual = counts.get(spec.name)
        if actual is None:
            problems.append(f"topic {spec.name} vanished while being checked")
            continue
        if actual != spec.partitions:
            problems.append(f"topic {spec.name} has {actual} partitions, gridflow expects {spec.partitions}")
        set_configs = configs.get(spec.name, {})
        for key, want in spec.configs.items():
            have = set_configs.get(key, {}).get("value")
            if have != want:
                problems.append(f"topic {spec.name} has {key}={have}, gridflow expects {want}")
    if problems:
        raise TopicsError(
            "; ".join(problems)
            + ". Partition counts decide which worker owns a matter, so they are never changed in place: "
            "use a new topic prefix (GRIDFLOW_TOPIC_PREFIX) or delete the topic and replay."
        )


def delete_topics(settings: Settings, prefix: str | None = None) -> list[str]:
    """Delete every topic whose name starts with ``<prefix>.`` (default: the settings' prefix).
    For test runs and throwaway demos; the event log of a real deployment is never deleted."""
    prefix = (prefix or settings.topic_prefix) + "."
    admin = admin_client(settings)
    try:
        doomed = [name for name in admin.list_topics() if name.startswith(prefix)]
        if doomed:
            admin.delete_topics(doomed, raise_errors=False)
        return doomed
    finally:
        admin.close()
