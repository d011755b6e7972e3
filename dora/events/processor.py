"""The seed's event pipeline: middleware chain, handlers per event type, dead letters.

:class:`EventProcessor` runs each event through every middleware (each may return a changed
event, e.g. to enrich or redact it, or raise to reject it) and then through the handlers
registered for its type. Any exception sends the event to the dead-letter queue with the
error text and is re-raised (the seed's contract), so the caller (the relay, an agent
consuming a topic) decides whether to continue.

Dead-letter queues: :class:`ListDeadLetters` keeps them in memory (the relay collects a
batch's dead letters and publishes them with the batch), :class:`TopicDeadLetters` sends
them to a Kafka topic with an aiokafka producer. A dead letter's value is JSON:
``{"error", "error_type", "event" (or "raw" when it could not be parsed), "failed_at",
"source"}``; the event id, when known, is the Kafka key's companion header ``event-id``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from dora.events.models import EventType, WorkflowEvent

Middleware = Callable[[WorkflowEvent], Awaitable[WorkflowEvent]]
Handler = Callable[[WorkflowEvent], Awaitable[None]]


@dataclass(frozen=True)
class DeadLetter:
    """An event (or undecodable payload) that could not be processed, and why."""

    error: str
    error_type: str
    event: dict[str, Any] | None = None
    raw: str | None = None
    source: str | None = None
    key: str | None = None
    failed_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    @property
    def event_id(self) -> str | None:
        return None if self.event is None else self.event.get("id")

    def to_json(self) -> str:
        body = {
            "error": self.error,
            "error_type": self.error_type,
            "event": self.event,
            "raw": self.raw,
            "source": self.source,
            "failed_at": self.failed_at,
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class DeadLetterQueue(Protocol):
    async def add(self, letter: DeadLetter) -> None: ...


@dataclass
class ListDeadLetters:
    """Dead letters kept in order in memory (drained by the relay into its batch)."""

    letters: list[DeadLetter] = field(default_factory=list)

    async def add(self, letter: DeadLetter) -> None:
        self.letters.append(letter)


@dataclass
class TopicDeadLetters:
    """Dead letters sent straight to a Kafka topic (for agents consuming topics)."""

    producer: Any  # aiokafka.AIOKafkaProducer, started
    topic: str

    async def add(self, letter: DeadLetter) -> None:
        headers = [("event-id", (letter.event_id or "").encode())]
        await self.producer.send_and_wait(
            self.topic,
            letter.to_json().encode("utf-8"),
            key=(letter.key or "dora").encode("utf-8"),
            headers=headers,
        )


def describe(exc: BaseException) -> str:
    """Error text for a dead letter: type and message, clipped (never a traceback)."""
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 2000 else text[:1999] + "…"


class EventProcessor:
    """Processes and routes workflow events (the seed's ``EventProcessor``)."""

    def __init__(self, dead_letter_queue: DeadLetterQueue | None = None) -> None:
        self.handlers: dict[EventType, list[Handler]] = {}
        self.middleware: list[Middleware] = []
        self.dead_letter_queue: DeadLetterQueue = dead_letter_queue or ListDeadLetters()

    def use(self, middleware: Middleware) -> Middleware:
        """Append a middleware (usable as a decorator)."""
        self.middleware.append(middleware)
        return middleware

    def on(self, *types: EventType) -> Callable[[Handler], Handler]:
        """Register a handler for one or more event types (decorator)."""

        def register(handler: Handler) -> Handler:
            for type_ in types:
                self.handlers.setdefault(type_, []).append(handler)
            return handler

        return register

    async def process_event(
        self, event: WorkflowEvent, *, source: str | None = None
    ) -> WorkflowEvent:
        """Process a single event through the pipeline; return the (middleware-changed) event."""
        current = event
        try:
            for middleware in self.middleware:
                current = await middleware(current)
            for handler in self.handlers.get(current.type, []):
                await handler(current)
        except Exception as exc:
            await self.dead_letter_queue.add(
                DeadLetter(
                    error=describe(exc),
                    error_type=type(exc).__name__,
                    event=event.to_dict(),
                    source=source,
                    key=event.workflow_id,
                )
            )
            raise
        return current
