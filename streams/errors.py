"""The one root exception of the streams package."""
from __future__ import annotations


class StreamsError(Exception):
    """Root of every error raised by ``streams``."""


class LogWriteError(StreamsError):
    """Kafka did not acknowledge a write the agent depends on. Fatal for the worker: the input
    offset is not committed, so the message is processed again after the restart."""

    def __init__(self, topic: str, partition: int, offset: int, cause: BaseException):
        self.topic, self.partition, self.offset = topic, partition, offset
        super().__init__(f"writing the output of {topic}[{partition}]@{offset} failed: {cause!r}")


class NoOrgTree(StreamsError):
    """Neither an org file nor org units on the org topic."""
