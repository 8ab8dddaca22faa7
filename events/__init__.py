"""The contract with upstream apps and the domain core: event types, codec, validation,
the org tree, routing and SLA policy, the business calendar and the matter state machine.

Pure: no Kafka, no ClickHouse, no I/O beyond reading a policy or org file when asked.
"""
from events.errors import DecodeError, EventError, OrgTreeError, PolicyError, StateError, ValidationError
from events.levels import Level
from events.types import (DERIVED_TYPES, REGISTRY, UPSTREAM_TYPES, DeadlineReached, EscalationRequested,
                          Event, FeedbackGiven, MatterAccepted, MatterCancelled, MatterClaimed,
                          MatterDispatched, MatterEscalated, MatterReopened, MatterReported,
                          MatterResolved, MatterResumed, MatterRouted, MatterSuspended,
                          MatterVerified, SlaBreached, SlaStarted, SlaWarning, VerificationFailed,
                          Watermark, ms)

__all__ = [
    "DecodeError", "EventError", "OrgTreeError", "PolicyError", "StateError", "ValidationError", "Level",
    "DERIVED_TYPES", "REGISTRY", "UPSTREAM_TYPES", "DeadlineReached", "EscalationRequested", "Event",
    "FeedbackGiven", "MatterAccepted", "MatterCancelled", "MatterClaimed", "MatterDispatched",
    "MatterEscalated", "MatterReopened", "MatterReported", "MatterResolved", "MatterResumed",
    "MatterRouted", "MatterSuspended", "MatterVerified", "SlaBreached", "SlaStarted", "SlaWarning",
    "VerificationFailed", "Watermark", "ms",
]
