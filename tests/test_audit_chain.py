"""Tamper evidence of the audit chain on SQLite and PostgreSQL.

Each test writes a real chain through the store, tampers with the database directly (as a
person with SQL access would), and checks that ``verify`` names the right kind of change
and the right ``seq``. Then the same for an exported JSON Lines file (a supervisor's copy).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from dora.audit.canonical import GENESIS_HASH, record_hash
from dora.audit.store import AuditStore, Entry
from dora.audit.verify import AuditRecord
from dora.events.models import EventType, WorkflowEvent
from tests.fixtures.events import backends

#: fixtures (registered by being module attributes of this test module)
audit_url = backends.audit_url
pg_audit_db = backends.pg_audit_db

N = 10


async def _chain(url: str, n: int = N) -> AuditStore:
    store = await AuditStore.open(url)
    for i in range(n):
        event = WorkflowEvent(
            type=EventType.TASK_COMPLETED,
            workflow_id="wf-tamper",
            source="test",
            data={"task_id": f"t{i}", "score": i * 7},
            correlation_id="run-1",
        )
        await store.append_event(event, kind="task.completed")
    return store


async def _sql(store: AuditStore, *statements: str, **params: Any) -> None:
    async with store.engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement), params)


async def _row(store: AuditStore, seq: int) -> AuditRecord:
    record = await store.by_seq(seq)
    assert record is not None
    return record


_COLS = "prev_hash, hash, kind, recorded_at, workflow_id, run_id, event_id, data"


async def _insert(store: AuditStore, rec: AuditRecord) -> None:
    row = rec.to_dict()
    row["data"] = json.dumps(row["data"])
    await _sql(
        store,
        f"INSERT INTO dora_audit_records (seq, {_COLS}) VALUES (:seq, :prev_hash, :hash, "
        ":kind, :recorded_at, :workflow_id, :run_id, :event_id, :data)",
        **row,
    )


async def test_intact_chain_verifies(audit_url: str) -> None:
    store = await _chain(audit_url)
    report = await store.verify()
    assert report.ok, report.problem
    assert (report.checked, report.first_seq, report.last_seq) == (N, 1, N)
    first = await _row(store, 1)
    assert first.prev_hash == GENESIS_HASH
    assert first.hash == record_hash(first.to_dict())
    await store.close()


async def test_edited_field_is_located(audit_url: str) -> None:
    store = await _chain(audit_url)
    rec = await _row(store, 5)
    forged = json.dumps({**rec.data, "data": {"task_id": "t4", "score": 100}})
    await _sql(store, "UPDATE dora_audit_records SET data = :d WHERE seq = 5", d=forged)
    report = await store.verify()
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == ("edited", 5)
    await store.close()


async def test_edit_with_recomputed_hash_is_located(audit_url: str) -> None:
    store = await _chain(audit_url)
    rec = await _row(store, 5)
    changed = {**rec.to_dict(), "kind": "task.failed"}
    new_hash = record_hash(changed)
    await _sql(
        store,
        "UPDATE dora_audit_records SET kind = 'task.failed', hash = :h WHERE seq = 5",
        h=new_hash,
    )
    report = await store.verify()
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == ("edited", 5)
    await store.close()


async def test_deleted_row_is_located(audit_url: str) -> None:
    store = await _chain(audit_url)
    await _sql(store, "DELETE FROM dora_audit_records WHERE seq = 4")
    report = await store.verify()
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == ("deleted", 4)
    await store.close()


async def test_deleted_row_with_renumbering_is_located(audit_url: str) -> None:
    store = await _chain(audit_url)
    await _sql(store, "DELETE FROM dora_audit_records WHERE seq = 4")
    for seq in range(5, N + 1):
        await _sql(store, f"UPDATE dora_audit_records SET seq = {seq - 1} WHERE seq = {seq}")
    await _sql(store, f"UPDATE dora_audit_chain SET head_seq = {N - 1}")
    report = await store.verify()
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == ("deleted", 4)
    await store.close()


async def test_truncated_tail_is_located(audit_url: str) -> None:
    store = await _chain(audit_url)
    await _sql(store, f"DELETE FROM dora_audit_records WHERE seq >= {N - 1}")
    report = await store.verify()
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == ("deleted", N - 1)
    await store.close()


async def _swap(store: AuditStore, a: int, b: int) -> None:
    """Exchange every column but ``seq`` between two rows (a reorder by SQL)."""
    ra, rb = await _row(store, a), await _row(store, b)
    await _sql(store, f"DELETE FROM dora_audit_records WHERE seq IN ({a}, {b})")
    await _insert(store, AuditRecord(**{**rb.to_dict(), "seq": a}))
    await _insert(store, AuditRecord(**{**ra.to_dict(), "seq": b}))


@pytest.mark.parametrize(("a", "b"), [(3, 7), (5, 6)])
async def test_swapped_rows_are_located(audit_url: str, a: int, b: int) -> None:
    store = await _chain(audit_url)
    await _swap(store, a, b)
    report = await store.verify()
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == ("reordered", a)
    assert f"{a} and {b}" in report.problem.message
    await store.close()


def _forge(prev: AuditRecord, seq: int) -> AuditRecord:
    """A well-formed record with a correct hash, as a forger who knows the format makes it."""
    content = {
        "seq": seq,
        "prev_hash": prev.hash,
        "kind": "approval",
        "recorded_at": prev.recorded_at,
        "workflow_id": "wf-tamper",
        "run_id": "run-1",
        "event_id": None,
        "data": {"decision": "approved", "identity": "mallory"},
    }
    return AuditRecord(**content, hash=record_hash(content))


async def test_forged_row_inserted_in_the_middle_is_located(audit_url: str) -> None:
    store = await _chain(audit_url)
    for seq in range(N, 4, -1):  # make room at seq 5, as an insert into a dense chain must
        await _sql(store, f"UPDATE dora_audit_records SET seq = {seq + 1} WHERE seq = {seq}")
    await _insert(store, _forge(await _row(store, 4), 5))
    await _sql(store, f"UPDATE dora_audit_chain SET head_seq = {N + 1}")
    report = await store.verify()
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == ("inserted", 5)
    await store.close()


async def test_forged_row_appended_after_the_head_is_located(audit_url: str) -> None:
    store = await _chain(audit_url)
    await _insert(store, _forge(await _row(store, N), N + 1))
    report = await store.verify()
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == ("inserted", N + 1)
    await store.close()


async def test_forged_row_linking_past_a_record_is_located(audit_url: str) -> None:
    """A forged record placed in a gap left by a deletion: the successor links past it."""
    store = await _chain(audit_url)
    await _sql(store, "DELETE FROM dora_audit_records WHERE seq = 5")
    forged = _forge(await _row(store, 3), 5)  # links to 3, not to 4
    await _insert(store, forged)
    report = await store.verify()
    assert report.problem is not None
    assert report.problem.seq in (4, 5)
    assert report.problem.kind in ("inserted", "edited")
    await store.close()


async def test_export_verifies_independently_and_detects_edits(
    audit_url: str, tmp_path: Path
) -> None:
    """The export is checkable with nothing but hashlib and json (what a supervisor does)."""
    import hashlib

    store = await _chain(audit_url)
    buf = io.StringIO()
    assert await store.export(buf) == N
    lines = [json.loads(line) for line in buf.getvalue().splitlines()]
    prev = GENESIS_HASH
    for line in lines:  # independent check: no project code
        body = {k: v for k, v in line.items() if k != "hash"}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert hashlib.sha256(canonical.encode("utf-8")).hexdigest() == line["hash"]
        assert line["prev_hash"] == prev
        prev = line["hash"]

    from dora.audit.export import averify_export

    path = tmp_path / "export.jsonl"
    path.write_text(buf.getvalue(), encoding="utf-8")
    assert (await averify_export(path)).ok
    lines[6]["data"]["data"]["score"] = 1
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    report = await averify_export(path)
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == ("edited", 7)
    await store.close()


async def test_entries_append_atomically_in_order(audit_url: str) -> None:
    store = await AuditStore.open(audit_url)
    made = await store.append(
        [Entry(kind="state.transition", data={"to": s}, run_id="r") for s in ("A", "B", "C")]
    )
    assert [r.seq for r in made] == [1, 2, 3]
    assert made[1].prev_hash == made[0].hash
    assert (await store.verify()).ok
    await store.close()
