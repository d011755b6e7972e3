"""Concurrent writers never fork the chain: real processes and threads, SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from dora.audit.blocking import BlockingAuditStore
from dora.events.models import EventType, WorkflowEvent
from tests.fixtures.events import backends

audit_url = backends.audit_url
pg_audit_db = backends.pg_audit_db

ROOT = Path(__file__).resolve().parent.parent
PER_WRITER = 60

_WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from dora.audit.store import AuditStore
    from dora.events.models import EventType, WorkflowEvent

    async def main(url: str, name: str, n: int) -> None:
        store = await AuditStore.open(url)
        print("ready", flush=True)
        sys.stdin.readline()  # start together
        for i in range(n):
            event = WorkflowEvent(type=EventType.TASK_STARTED, workflow_id=name,
                                  source=name, data={"i": i}, correlation_id=name)
            await store.append_event(event, streams=("events",))
            await asyncio.sleep(0.005)  # like a task between hooks: lets the other writer in
        await store.close()

    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
    """
)


def test_two_processes_keep_one_chain(audit_url: str) -> None:
    """Two writer processes start on an empty database and append at the same time.

    Migrations run once (under the migration lock) and every append links to the one
    before it: one chain, each writer's events complete and in its own order.
    """
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, audit_url, f"writer-{k}", str(PER_WRITER)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for k in range(2)
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    for proc in procs:  # both are connected and migrated: release them together
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        assert proc.wait(timeout=90) == 0
    store = BlockingAuditStore(audit_url)
    try:
        report = store.verify()
        assert report.ok, report.problem
        assert report.checked == 2 * PER_WRITER
        records = store.records()
        by_writer = {
            w: [r.data["data"]["i"] for r in records if r.workflow_id == w]
            for w in ("writer-0", "writer-1")
        }
        assert by_writer["writer-0"] == list(range(PER_WRITER))
        assert by_writer["writer-1"] == list(range(PER_WRITER))
        writers = [r.workflow_id for r in records]
        switches = sum(1 for x, y in itertools.pairwise(writers) if x != y)
        assert switches > 1, "the writers did not overlap; the test proved nothing"
        counts = store.call(store.store.outbox_counts())
        assert counts["pending"] == 2 * PER_WRITER
    finally:
        store.close()


def test_threads_sharing_one_store_keep_one_chain(audit_url: str) -> None:
    store = BlockingAuditStore(audit_url)

    def write(k: int) -> None:
        for i in range(25):
            store.append_event(
                WorkflowEvent(
                    type=EventType.TASK_COMPLETED,
                    workflow_id="wf",
                    source=f"thread-{k}",
                    data={"i": i},
                    correlation_id=f"run-{k}",
                )
            )

    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(write, range(4)))
        report = store.verify()
        assert report.ok, report.problem
        assert report.checked == 100
    finally:
        store.close()


def test_group_commit_shares_transactions_and_keeps_queue_order(tmp_path: Path) -> None:
    """Queued appends commit together, in the order they were queued."""
    from dora.audit.store import Entry

    store = BlockingAuditStore(f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}")
    try:
        futures = [
            store.submit([Entry(kind="state.transition", data={"i": i}, run_id="r")])
            for i in range(200)
        ]
        store.flush()  # returns once everything queued before it is committed
        assert all(f.done() for f in futures)
        seqs = [f.result()[0].seq for f in futures]
        assert seqs == list(range(1, 201))  # queue order is chain order
        assert store.commits < 200  # appends shared transactions
        direct = store.append([Entry(kind="state.transition", data={"i": 200}, run_id="r")])
        assert direct[0].seq == 201
        report = store.verify()
        assert report.ok and report.checked == 201
    finally:
        store.close()
