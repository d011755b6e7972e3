"""Retention and legal holds: purge only what no hold covers, and the chain still verifies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from dora.audit.store import AuditStore, Entry
from tests.fixtures.events import backends

audit_url = backends.audit_url
pg_audit_db = backends.pg_audit_db

#: purging "older than the future" treats every record as past retention
FUTURE = datetime.now(UTC) + timedelta(days=1)


async def _fill(store: AuditStore, runs: list[str], per_run: int = 3) -> None:
    for run in runs:
        await store.append(
            [
                Entry(kind="task.completed", data={"i": i}, workflow_id="wf", run_id=run)
                for i in range(per_run)
            ]
        )


async def test_purge_keeps_the_rest_verifiable_through_a_checkpoint(audit_url: str) -> None:
    store = await AuditStore.open(audit_url)
    await _fill(store, ["a", "b"])
    result = await store.purge(older_than=FUTURE)
    assert (result.purged, result.through_seq) == (6, 6)
    await _fill(store, ["c"])
    report = await store.verify()
    assert report.ok, report.problem
    assert report.first_seq == 7  # the checkpoint record, then run c
    records = [r async for r in store.iter_records()]
    assert records[0].kind == "checkpoint"
    assert records[0].data["purged_through_seq"] == 6
    # a second purge moves the start again; the newest checkpoint vouches for it
    await store.purge(older_than=FUTURE)
    assert (await store.verify()).ok
    await store.close()


async def test_nothing_is_purged_while_a_hold_on_all_records_is_active(audit_url: str) -> None:
    store = await AuditStore.open(audit_url)
    await _fill(store, ["a"])
    hold = await store.place_hold(
        "all", None, reason="supervisory request 2026/17", placed_by="dpo"
    )
    result = await store.purge(older_than=FUTURE)
    assert result.purged == 0 and "legal hold" in result.reason
    await store.release_hold(hold.id, released_by="dpo")
    assert (await store.purge(older_than=FUTURE)).purged == 5  # 3 + hold placed + released
    assert (await store.verify()).ok
    await store.close()


async def test_records_under_a_run_hold_are_never_purged(audit_url: str) -> None:
    store = await AuditStore.open(audit_url)
    await _fill(store, ["a", "held", "b"])
    await store.place_hold("run", "held", reason="incident INC-9", placed_by="legal")
    result = await store.purge(older_than=FUTURE)
    assert result.through_seq == 3  # only run a: the chain can only lose a prefix
    kept = [r async for r in store.iter_records()]
    assert [r.data["i"] for r in kept if r.run_id == "held"] == [0, 1, 2]
    assert [r.data["i"] for r in kept if r.run_id == "b"] == [0, 1, 2]
    assert [h.value for h in await store.holds()] == ["held"]
    assert (await store.verify()).ok
    await store.close()


async def test_moving_the_chain_start_without_a_checkpoint_is_detected(audit_url: str) -> None:
    """Deleting old records and rewriting the chain's base by hand is not a purge."""
    store = await AuditStore.open(audit_url)
    await _fill(store, ["a", "b"])
    record = await store.by_seq(3)
    assert record is not None
    async with store.engine.begin() as conn:
        await conn.execute(text("DELETE FROM dora_audit_records WHERE seq <= 3"))
        await conn.execute(
            text("UPDATE dora_audit_chain SET base_seq = 3, base_hash = :h"), {"h": record.hash}
        )
    report = await store.verify()
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == ("checkpoint", 4)
    await store.close()


async def test_records_within_retention_stay(audit_url: str) -> None:
    store = await AuditStore.open(audit_url)
    await _fill(store, ["a"])
    result = await store.purge(older_than=datetime.now(UTC) - timedelta(days=30))
    assert result.purged == 0
    assert (await store.verify()).checked == 3
    await store.close()
