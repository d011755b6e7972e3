"""The outbox relay: publish committed outbox rows to Kafka, mark them sent, never lose one.

Guarantees and how they are kept:

* **No loss**: a row is marked sent only after the broker acknowledged it (``acks="all"``)
  and in a transaction after the acknowledgement; a broker outage fails the batch, the
  rows stay pending, the relay backs off (exponential, capped) and tries again.
* **Resume after a crash**: state is only the outbox table; a new relay starts from the
  oldest unsent row. A crash between acknowledgement and marking re-sends that batch:
  delivery is *at least once*, and consumers de-duplicate by event id (header
  ``event-id``, also in the value). With an idempotent producer (Apache Kafka) retries
  inside one producer session add no duplicates.
* **Order per run**: rows are read in commit order and keyed by workflow id, so one run's
  events go to one partition in order (audit records all share the key
  ``dora-audit-chain``: the chain arrives in order on one partition). After an outage a re-sent batch can repeat events;
  the de-duplicated stream keeps the order, and ``metadata.audit_seq`` gives the total
  order if a consumer needs it.
* **Dead letters**: an ``events`` row that cannot be decoded, or that the
  :class:`~dora.events.processor.EventProcessor` (middleware/handlers) rejects, is sent to
  the dead-letter topic with the error instead of the events topic, and marked so.

Run one relay per store (``dora events relay``); two would only duplicate deliveries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from dora.audit.canonical import canonical_json, to_jsonable
from dora.audit.store import AuditStore, OutboxRow
from dora.events.kafka import KafkaConfig
from dora.events.models import WorkflowEvent
from dora.events.processor import DeadLetter, EventProcessor, ListDeadLetters, describe

logger = logging.getLogger(__name__)


@dataclass
class RelayStats:
    delivered: int = 0
    dead_letters: int = 0
    failures: int = 0
    batches: int = 0
    last_error: str | None = None
    #: did the last attempt reach the broker (readiness), and the outbox lag it saw
    last_ok: bool = True
    lag_s: float = 0.0


@dataclass
class OutboxRelay:
    """Publishes a store's outbox to Kafka (use from one event loop)."""

    store: AuditStore
    config: KafkaConfig
    processor: EventProcessor = field(default_factory=EventProcessor)
    batch_size: int = 1000
    #: batches handed to the producer before the oldest must be acknowledged
    window: int = 4
    poll_interval_s: float = 0.2
    backoff_initial_s: float = 0.2
    backoff_max_s: float = 30.0
    stats: RelayStats = field(default_factory=RelayStats)
    _producer: AIOKafkaProducer | None = field(default=None, init=False)

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = AIOKafkaProducer(**self.config.producer_options())
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def _drop_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(TimeoutError, KafkaError, OSError):
                await asyncio.wait_for(producer.stop(), timeout=5)

    async def start(self) -> None:
        """Connect the producer now (else the first batch does; fails if Kafka is down)."""
        await self._ensure_producer()

    async def close(self) -> None:
        await self._drop_producer()

    async def _prepare(
        self, row: OutboxRow, dead: ListDeadLetters
    ) -> tuple[str, bytes] | DeadLetter:
        """The (topic, value) to send for a row, or the dead letter it became."""
        topic = self.config.topic_for(row.stream)
        if topic is None:
            return DeadLetter(
                error=f"no topic configured for stream {row.stream!r}",
                error_type="ConfigurationError",
                raw=row.payload,
                source=row.stream,
                key=row.key,
            )
        if row.stream != "events" or not (self.processor.middleware or self.processor.handlers):
            # nothing to run: the payload is the canonical JSON the store wrote from a
            # validated event, so it goes out as committed (no decode/encode per event)
            return topic, row.payload.encode("utf-8")
        try:
            event = WorkflowEvent.from_dict(_loads(row.payload))
        except Exception as exc:
            return DeadLetter(
                error=describe(exc),
                error_type=type(exc).__name__,
                raw=row.payload,
                source=row.stream,
                key=row.key,
            )
        before = len(dead.letters)
        try:
            processed = await self.processor.process_event(event, source=row.stream)
        except Exception as exc:
            if len(dead.letters) > before:  # the processor's own queue: take it into the batch
                return dead.letters.pop()
            return DeadLetter(
                error=describe(exc),
                error_type=type(exc).__name__,
                event=event.to_dict(),
                source=row.stream,
                key=row.key,
            )
        body = canonical_json(to_jsonable(processed.to_dict()))
        return topic, body.encode("utf-8")

    async def _send_batch(
        self, rows: list[OutboxRow]
    ) -> tuple[list[OutboxRow], list[Any], dict[int, str]]:
        """Hand a batch to the producer (not yet acknowledged): rows, ack futures, dead."""
        producer = await self._ensure_producer()
        own_dead = ListDeadLetters()
        if isinstance(self.processor.dead_letter_queue, ListDeadLetters):
            own_dead = self.processor.dead_letter_queue
        futures: list[Any] = []
        dead: dict[int, str] = {}
        for row in rows:
            prepared = await self._prepare(row, own_dead)
            headers = [("event-id", row.event_id.encode()), ("stream", row.stream.encode())]
            if isinstance(prepared, DeadLetter):
                dead[row.id] = prepared.error
                topic, value = self.config.topic_dead_letters, prepared.to_json().encode()
                headers.append(("error", prepared.error.encode("utf-8")[:500]))
            else:
                topic, value = prepared
            futures.append(
                await producer.send(topic, value, key=row.key.encode("utf-8"), headers=headers)
            )
        return rows, futures, dead

    async def _settle(self, rows: list[OutboxRow], futures: list[Any], dead: dict[int, str]) -> int:
        """Wait for every acknowledgement of a batch, then mark it sent (one transaction)."""
        results = await asyncio.gather(*futures, return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise errors[0]
        await self.store.mark_sent([r.id for r in rows], dead)
        self.stats.delivered += len(rows) - len(dead)
        self.stats.dead_letters += len(dead)
        self.stats.batches += 1
        return len(rows)

    async def run_once(self) -> int:
        """Publish one batch of pending rows; return how many rows were settled.

        Raises ``KafkaError``/``OSError`` if the broker did not acknowledge: nothing of the
        batch is marked sent then.
        """
        rows = await self.store.pending(self.batch_size)
        if not rows:
            return 0
        return await self._settle(*await self._send_batch(rows))

    async def pump(self) -> int:
        """Publish everything pending, ``window`` batches in flight; return rows settled.

        Batches are handed to the producer in commit order while earlier ones are still
        being acknowledged; each is marked sent only after all of its acknowledgements.
        On an error nothing unacknowledged is marked: those rows stay pending and the
        next attempt starts again from the oldest unsent row.
        """
        inflight: deque[tuple[list[OutboxRow], list[Any], dict[int, str]]] = deque()
        cursor, total = 0, 0
        while True:
            if len(inflight) < self.window:
                rows = await self.store.pending(self.batch_size, after_id=cursor)
                if rows:
                    inflight.append(await self._send_batch(rows))
                    cursor = rows[-1].id
                    continue
            if not inflight:
                return total
            total += await self._settle(*inflight.popleft())

    async def _attempt(self) -> int | None:
        """One batch; ``None`` if the broker failed (the caller backs off)."""
        try:
            done: int | None = await self.pump()
            self.stats.last_ok = True
        except (KafkaError, OSError, TimeoutError) as exc:
            self.stats.failures += 1
            self.stats.last_error = describe(exc)
            self.stats.last_ok = False
            logger.warning("relay: broker unavailable (%s); will retry", type(exc).__name__)
            await self._drop_producer()
            done = None
        await self._report_lag()
        return done

    async def _report_lag(self) -> None:
        """``dora_outbox_lag_seconds``: what the operations runbook alerts on."""
        try:
            from dora import metrics

            self.stats.lag_s = await self.store.oldest_pending_age()
            metrics.set_outbox_lag(self.stats.lag_s)
        except Exception as exc:  # a metric must not stop delivery
            logger.warning("relay: could not report outbox lag: %s", type(exc).__name__)

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop`` is set: drain, poll, back off while the broker is down."""
        backoff = self.backoff_initial_s
        try:
            while not stop.is_set():
                done = await self._attempt()
                if done is None:
                    await _sleep_or_stop(stop, backoff)
                    backoff = min(backoff * 2, self.backoff_max_s)
                    continue
                backoff = self.backoff_initial_s
                await _sleep_or_stop(stop, self.poll_interval_s)  # drained: wait for more
        finally:
            await self._drop_producer()

    async def drain(self, timeout: float = 60.0) -> int:
        """Publish until nothing is pending (retrying through outages) or ``timeout``."""
        deadline = time.monotonic() + timeout
        total, backoff = 0, self.backoff_initial_s
        while time.monotonic() < deadline:
            done = await self._attempt()
            if done is None:
                await asyncio.sleep(min(backoff, max(0.0, deadline - time.monotonic())))
                backoff = min(backoff * 2, self.backoff_max_s)
                continue
            backoff = self.backoff_initial_s
            total += done
            if done == 0:
                return total
        raise TimeoutError(f"outbox not drained within {timeout} s ({total} rows published)")


def _loads(text: str) -> dict[str, Any]:
    import json

    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("event payload is not a JSON object")
    return value


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
