"""The seed's workflow events: :class:`EventType` and :class:`WorkflowEvent`.

Why a pydantic model instead of the seed's dataclass: events cross process boundaries
(outbox rows, Kafka records, JSON Lines exports) and are read back by consumers, so the
shape is validated on the way in (``extra="forbid"``) and round-trips exactly through
:meth:`WorkflowEvent.to_dict` / :meth:`WorkflowEvent.from_dict`. The field names, order and
``to_dict`` output are the seed's.

Event ids are time-ordered UUIDs (RFC 9562 version 7: 48-bit Unix milliseconds, then
random bits) that are also *monotonic within a process*: two ids made in the same
millisecond still sort in creation order (a 12-bit counter in ``rand_a``, then the
timestamp is advanced if it overflows). Consumers de-duplicate by id (at-least-once
delivery) and can order events of one run by id.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class EventType(Enum):
    """Core event types in the system (the seed's list, values unchanged)."""

    WORKFLOW_CREATED = "workflow.created"
    WORKFLOW_STARTED = "workflow.started"
    WORKFLOW_COMPLETED = "workflow.completed"
    WORKFLOW_FAILED = "workflow.failed"
    TASK_STARTED = "task.started"
    TASK_COMPLETED = "task.completed"
    TASK_FAILED = "task.failed"
    AGENT_ASSIGNED = "agent.assigned"
    AGENT_AVAILABLE = "agent.available"
    AGENT_ERROR = "agent.error"
    RESOURCE_ALLOCATED = "resource.allocated"
    RESOURCE_RELEASED = "resource.released"
    COMPLIANCE_ALERT = "compliance.alert"
    AUDIT_LOG = "audit.log"


class _UUID7:
    """Monotonic UUIDv7 generator (thread-safe; re-seeded after ``fork``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0
        self._counter = 0
        self._pid = os.getpid()

    def __call__(self) -> uuid.UUID:
        with self._lock:
            if os.getpid() != self._pid:  # a forked child must not repeat the parent's ids
                self._pid, self._last_ms, self._counter = os.getpid(), 0, 0
            ms = time.time_ns() // 1_000_000
            if ms > self._last_ms:
                self._last_ms = ms
                self._counter = int.from_bytes(os.urandom(2), "big") & 0x3FF  # room to grow
            else:
                self._counter += 1
                if self._counter > 0xFFF:  # 4096 ids in one ms: borrow the next ms
                    self._last_ms += 1
                    self._counter = 0
            ms, counter = self._last_ms, self._counter
        rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
        value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand_b
        return uuid.UUID(int=value)


_uuid7 = _UUID7()


def new_event_id() -> str:
    """A new time-ordered, process-monotonic event id (UUIDv7 text)."""
    return str(_uuid7())


def event_id_time(event_id: str) -> datetime:
    """The creation time (millisecond precision) embedded in an event id."""
    ms = uuid.UUID(event_id).int >> 80
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class WorkflowEvent(BaseModel):
    """Base event structure for all workflow events (the seed's fields and defaults)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(default_factory=new_event_id)
    type: EventType
    workflow_id: str = Field(min_length=1)
    timestamp: datetime = Field(default_factory=utcnow)
    source: str = Field(min_length=1)
    data: dict[str, Any] = Field(default_factory=dict)
    #: ties every event of one run together (the Prefect flow run id)
    correlation_id: str | None = None
    #: the id of the event that caused this one
    causation_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("timestamp")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        """Naive timestamps are ambiguous in an audit trail; they are read as UTC."""
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    def to_dict(self) -> dict[str, Any]:
        """Convert event to dictionary for serialization (the seed's ``to_dict``)."""
        return {
            "id": self.id,
            "type": self.type.value,
            "workflow_id": self.workflow_id,
            "timestamp": self.timestamp.isoformat(),
            "source": self.source,
            "data": self.data,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "metadata": self.metadata,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorkflowEvent:
        """Parse what :meth:`to_dict` wrote (raises ``pydantic.ValidationError``)."""
        return cls.model_validate(data)
