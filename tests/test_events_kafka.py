"""Outbox → relay → Kafka on a real broker (tansu): order, outage, crash, dead letters.

Consumers de-duplicate by event id (delivery is at least once). Every test uses its own
topics so the session broker can be shared.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import insert

from dora.audit import schema
from dora.audit.store import AuditStore, stamp
from dora.audit.verify import AuditRecord
from dora.events.kafka import KafkaConfig
from dora.events.models import EventType, WorkflowEvent
from dora.events.processor import EventProcessor
from dora.events.relay import OutboxRelay
from tests.fixtures.events import backends
from tests.kafka_service import Tansu, tansu

_ = tansu  # the session broker fixture, used by name
audit_url = backends.audit_url
pg_audit_db = backends.pg_audit_db


def _config(broker: Tansu, tag: str) -> KafkaConfig:
    return KafkaConfig(
        bootstrap_servers=broker.bootstrap,
        topic_events=f"events-{tag}",
        topic_audit=f"audit-{tag}",
        topic_dead_letters=f"dead-{tag}",
        request_timeout_ms=3000,
        linger_ms=2,
    )


async def _create_topics(config: KafkaConfig, partitions: int = 3) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=config.bootstrap_servers)
    await admin.start()
    try:
        topics = [config.topic_events, config.topic_audit, config.topic_dead_letters]
        await admin.create_topics(
            [NewTopic(t, num_partitions=partitions, replication_factor=1) for t in topics if t]
        )
    finally:
        await admin.close()


async def _consume(
    config: KafkaConfig, topic: str, *, until: int, timeout: float = 20.0
) -> list[Any]:
    """Read ``topic`` from the beginning until ``until`` distinct event ids were seen."""
    consumer = AIOKafkaConsumer(
        topic, auto_offset_reset="earliest", enable_auto_commit=False, **config.consumer_options()
    )
    await consumer.start()
    messages: list[Any] = []
    seen: set[str] = set()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(seen) < until and loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for records in batch.values():
                for msg in records:
                    messages.append(msg)
                    seen.add(dict(msg.headers)["event-id"].decode())
    finally:
        await consumer.stop()
    return messages


def _event(run: str, i: int, type_: EventType = EventType.TASK_COMPLETED) -> WorkflowEvent:
    return WorkflowEvent(
        type=type_,
        workflow_id=f"wf-{run}",
        source="test",
        data={"i": i},
        correlation_id=run,
    )


async def _store(tmp_path: Path) -> AuditStore:
    return await AuditStore.open(f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}")


async def test_each_runs_events_arrive_in_order_and_audit_topic_verifies(
    tansu: Tansu, audit_url: str
) -> None:
    """On SQLite and PostgreSQL stores (the relay's reads and marks run on both)."""
    config = _config(tansu, uuid.uuid4().hex[:8])
    await _create_topics(config)
    store = await AuditStore.open(audit_url)
    runs = ["r1", "r2", "r3", "r4"]
    for i in range(25):  # interleaved runs, as concurrent flow runs write them
        for run in runs:
            await store.append_event(_event(run, i), streams=("events", "audit"))
    relay = OutboxRelay(store, config, batch_size=37)
    assert await relay.drain(timeout=30) == 200
    messages = await _consume(config, config.topic_events, until=100)
    assert len(messages) == 100
    per_run: dict[str, list[int]] = {}
    partitions: dict[str, set[int]] = {}
    for msg in messages:
        event = WorkflowEvent.from_dict(json.loads(msg.value))
        assert msg.key.decode() == event.workflow_id
        run = event.correlation_id or ""
        per_run.setdefault(run, []).append(event.data["i"])
        partitions.setdefault(run, set()).add(msg.partition)
    assert per_run == {run: list(range(25)) for run in runs}
    assert all(len(p) == 1 for p in partitions.values())  # keyed: one partition per run
    assert len({p for ps in partitions.values() for (p,) in [tuple(ps)]}) > 1  # spread out

    # the audit topic carries the records with their hashes: they verify as a chain
    audit = await _consume(config, config.topic_audit, until=100)
    assert {m.key.decode() for m in audit} == {"dora-audit-chain"}
    assert len({m.partition for m in audit}) == 1  # the chain in order on one partition
    records = [AuditRecord.from_dict(json.loads(m.value)) for m in audit]
    assert [r.seq for r in records] == list(range(1, 101))
    assert all(r.intact for r in records)
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(records))
    assert await store.outbox_counts() == {"pending": 0, "sent": 200, "dead_letter": 0}
    await relay.close()
    await store.close()


async def test_broker_outage_mid_run_loses_nothing(tansu: Tansu, tmp_path: Path) -> None:
    """Stop the broker while the run keeps recording; restart; count every event."""
    config = _config(tansu, uuid.uuid4().hex[:8]).model_copy(
        update={"topic_audit": None, "request_timeout_ms": 1500}
    )
    await _create_topics(config, partitions=1)
    store = await _store(tmp_path)
    relay = OutboxRelay(store, config, batch_size=20, backoff_max_s=0.5, poll_interval_s=0.05)
    stop = asyncio.Event()
    relaying = asyncio.create_task(relay.run(stop))
    ids: list[str] = []
    try:
        for i in range(40):
            ids.append((await store.append_event(_event("run", i), streams=("events",))).event_id)
        before = await _consume(config, config.topic_events, until=40)
        # memory storage: the restarted broker starts empty, so what was delivered before the
        # outage is counted by this consumer, which has read all 40 at this point
        assert len({dict(m.headers)["event-id"] for m in before}) == 40

        tansu.stop()
        for i in range(40, 100):  # the run goes on while the broker is down
            ids.append((await store.append_event(_event("run", i), streams=("events",))).event_id)
        for _ in range(300):  # until the relay has tried and failed at least once
            if relay.stats.failures:
                break
            await asyncio.sleep(0.05)
        assert relay.stats.failures >= 1
        assert (await store.outbox_counts())["pending"] == 60  # nothing marked sent
        for _ in range(100):  # the lag is refreshed after each failed attempt
            if relay.stats.lag_s > 0:
                break
            await asyncio.sleep(0.05)
        assert not relay.stats.last_ok and relay.stats.lag_s > 0  # what /ready and alerts see
        tansu.start()
        await _create_topics(config, partitions=1)
        for _ in range(200):
            if (await store.outbox_counts())["pending"] == 0:
                break
            await asyncio.sleep(0.1)
        assert (await store.outbox_counts())["pending"] == 0
        after = await _consume(config, config.topic_events, until=60)
        from prometheus_client import REGISTRY

        for _ in range(100):  # the relay reports lag after each attempt
            if relay.stats.last_ok and relay.stats.lag_s == 0:
                break
            await asyncio.sleep(0.05)
        assert REGISTRY.get_sample_value("dora_outbox_lag_seconds") == 0.0
    finally:
        tansu.start()  # no-op when running; a failed assertion must not leave it down
        stop.set()
        await relaying
        await store.close()
    received = Counter(dict(m.headers)["event-id"].decode() for m in before + after)
    assert set(received) == set(ids)  # every event arrived, none unknown
    assert len(received) == 100  # exactly once after de-duplication by id
    order = [WorkflowEvent.from_dict(json.loads(m.value)).data["i"] for m in after]
    assert sorted(set(order)) == list(range(40, 100))


async def test_relay_crash_after_ack_before_mark_resends_and_consumers_dedupe(
    tansu: Tansu, tmp_path: Path
) -> None:
    """The relay dies after Kafka acknowledged a batch but before marking it sent."""
    config = _config(tansu, uuid.uuid4().hex[:8]).model_copy(update={"topic_audit": None})
    await _create_topics(config)
    store = await _store(tmp_path)
    ids = [
        (await store.append_event(_event("crash", i), streams=("events",))).event_id
        for i in range(30)
    ]
    blocker = await AuditStore.open(str(store.engine.url))
    relay = OutboxRelay(store, config, batch_size=10)
    async with blocker.engine.connect() as conn:
        await conn.begin()  # BEGIN IMMEDIATE: holds SQLite's write lock, so marking waits
        attempt = asyncio.create_task(relay.run_once())
        first = await _consume(config, config.topic_events, until=10)
        assert len(first) == 10  # acknowledged and delivered...
        attempt.cancel()  # ...and the relay "crashes" before it could mark them
        await conn.rollback()
        with pytest.raises(asyncio.CancelledError):
            await attempt
    await relay.close()
    await blocker.close()
    assert (await store.outbox_counts())["pending"] == 30  # nothing was marked

    resumed = OutboxRelay(store, config, batch_size=10)  # a new relay process, in effect
    assert await resumed.drain(timeout=30) == 30
    await resumed.close()
    everything = await _consume(config, config.topic_events, until=30)
    counts = Counter(dict(m.headers)["event-id"].decode() for m in everything)
    assert len(everything) == 40  # the first batch twice
    assert set(counts) == set(ids)
    assert sorted(counts.values()).count(2) == 10
    await store.close()


async def test_unprocessable_events_go_to_the_dead_letter_topic(
    tansu: Tansu, tmp_path: Path
) -> None:
    config = _config(tansu, uuid.uuid4().hex[:8]).model_copy(update={"topic_audit": None})
    await _create_topics(config)
    store = await _store(tmp_path)
    processor = EventProcessor()
    seen: list[str] = []

    @processor.use
    async def stamp_relay(event: WorkflowEvent) -> WorkflowEvent:
        return event.model_copy(update={"metadata": {**event.metadata, "relayed": True}})

    @processor.on(EventType.TASK_FAILED)
    async def refuse(event: WorkflowEvent) -> None:
        raise ValueError(f"cannot route failure of {event.data['i']}")

    @processor.on(EventType.TASK_COMPLETED)
    async def remember(event: WorkflowEvent) -> None:
        seen.append(event.id)

    good = [await store.append_event(_event("dl", i), streams=("events",)) for i in range(3)]
    bad = await store.append_event(_event("dl", 99, EventType.TASK_FAILED), streams=("events",))
    async with store.engine.begin() as conn:  # a row no one can decode
        await conn.execute(
            insert(schema.outbox).values(
                stream="events",
                event_id="garbled-1",
                key="wf-dl",
                payload="{not json",
                created_at=stamp(),
                attempts=0,
                dead_letter=False,
            )
        )
    relay = OutboxRelay(store, config, processor=processor)
    assert await relay.drain(timeout=30) == 5
    await relay.close()
    assert relay.stats.dead_letters == 2
    assert seen == [r.event_id for r in good]

    events = await _consume(config, config.topic_events, until=3)
    assert sorted(dict(m.headers)["event-id"].decode() for m in events) == sorted(
        r.event_id or "" for r in good
    )
    assert all(json.loads(m.value)["metadata"]["relayed"] is True for m in events)
    dead = await _consume(config, config.topic_dead_letters, until=2)
    letters = {dict(m.headers)["event-id"].decode(): json.loads(m.value) for m in dead}
    assert set(letters) == {bad.event_id, "garbled-1"}
    assert letters[bad.event_id]["error"] == "ValueError: cannot route failure of 99"
    assert letters[bad.event_id]["event"]["id"] == bad.event_id
    assert letters["garbled-1"]["raw"] == "{not json"
    assert "JSONDecodeError" in letters["garbled-1"]["error_type"]
    assert await store.outbox_counts() == {"pending": 0, "sent": 5, "dead_letter": 2}
    await store.close()


async def test_processor_for_topic_consumers_dead_letters_to_kafka_and_reraises(
    tansu: Tansu,
) -> None:
    """The seed's contract for agents reading topics: middleware in order, handlers per
    type, a failing event goes to the dead-letter topic with the error and is re-raised."""
    from aiokafka import AIOKafkaProducer

    from dora.events.processor import TopicDeadLetters

    config = _config(tansu, uuid.uuid4().hex[:8])
    await _create_topics(config)
    producer = AIOKafkaProducer(**config.producer_options())
    await producer.start()
    try:
        processor = EventProcessor(TopicDeadLetters(producer, config.topic_dead_letters))
        order: list[str] = []

        @processor.use
        async def first(event: WorkflowEvent) -> WorkflowEvent:
            order.append("first")
            return event.model_copy(update={"metadata": {"step": 1}})

        @processor.use
        async def second(event: WorkflowEvent) -> WorkflowEvent:
            order.append(f"second saw step {event.metadata['step']}")
            return event

        @processor.on(EventType.AGENT_ERROR)
        async def page_someone(event: WorkflowEvent) -> None:
            raise RuntimeError("pager service unreachable")

        ok = _event("p", 1, EventType.AGENT_AVAILABLE)
        assert (await processor.process_event(ok)).metadata == {"step": 1}
        assert order == ["first", "second saw step 1"]
        bad = _event("p", 2, EventType.AGENT_ERROR)
        with pytest.raises(RuntimeError, match="pager service unreachable"):
            await processor.process_event(bad)
    finally:
        await producer.stop()
    dead = await _consume(config, config.topic_dead_letters, until=1)
    assert len(dead) == 1
    letter = json.loads(dead[0].value)
    assert letter["event"]["id"] == bad.id
    assert letter["error"] == "RuntimeError: pager service unreachable"
    assert dead[0].key.decode() == bad.workflow_id
