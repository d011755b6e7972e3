"""The recorder wired into a hand-written Prefect flow's state hooks, on a real Prefect API.

This is the shape the flow factory uses (``flow_hooks``/``task_hooks``): every lifecycle
moment of a real flow run lands in the audit chain with correlation and causation ids,
input/output digests, and (with Kafka configured) travels outbox → relay → Kafka in order.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from prefect import flow, task

from dora.audit.blocking import BlockingAuditStore
from dora.audit.canonical import digest
from dora.events.hooks import flow_hooks, task_hooks
from dora.events.kafka import KafkaConfig
from dora.events.models import EventType, WorkflowEvent
from dora.events.recorder import Recorder, outbox_streams
from dora.events.relay import OutboxRelay
from dora.events.settings import EventSettings
from tests.kafka_service import Tansu, tansu

_ = tansu

#: the recorder the hooks use; each test installs its own
_CURRENT: list[Recorder] = []


def _recorder() -> Recorder | None:
    return _CURRENT[-1] if _CURRENT else None


class Boom(RuntimeError):
    error_type = "agent_error"


@task(**task_hooks("wf-hooks", "double", agent="calc", agent_version="1.0", recorder=_recorder))
def double(n: int) -> dict[str, int]:
    return {"value": n * 2}


@task(
    **task_hooks(
        "wf-hooks",
        "add",
        agent="calc",
        agent_version="1.0",
        outputs_of=lambda out: out["value"],
        extra_of=lambda out: {"agent_id": "calc-7", "agent_version": "1.0"},
        recorder=_recorder,
    )
)
def add(upstream: dict[str, int], k: int) -> dict[str, int]:
    return {"value": upstream["value"] + k}


@task(**task_hooks("wf-hooks", "explode", agent="fragile", recorder=_recorder))
def explode(upstream: dict[str, int]) -> None:
    raise Boom(f"cannot handle {upstream['value']}")


@flow(
    name="wf-hooks",
    **flow_hooks("wf-hooks", definition_version="1.2.0", content_hash="c0ffee", recorder=_recorder),
)
def hand_written(n: int) -> dict[str, Any]:
    a = double.submit(n)
    b = add.submit(a, 1)
    c = explode.submit(b)
    c.wait()
    return {"b": b.result(), "explode": c.state.type.value}


def _install(store: BlockingAuditStore, streams: tuple[Any, ...] = ()) -> Recorder:
    rec = Recorder(store, source="test", streams=streams, emit_prefect=False)
    _CURRENT.append(rec)
    return rec


def test_flow_hooks_record_every_transition_in_one_chain(prefect_api: str, tmp_path: Path) -> None:
    store = BlockingAuditStore(f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}")
    rec = _install(store)
    try:
        state = hand_written(5, return_state=True)
        assert state.is_completed()
        run_id = str(state.state_details.flow_run_id)
        records = store.records(run_id=run_id)
        kinds = [r.kind for r in records]
        assert kinds[0] == "run.bound" and kinds[-1] == "workflow.completed"
        assert sorted(kinds[1:-1]) == sorted(
            ["task.started"] * 3 + ["task.completed"] * 2 + ["task.failed", "agent.assigned"]
        )
        events = {r.event_id: WorkflowEvent.from_dict(r.data) for r in records}
        assert all(e.correlation_id == run_id for e in events.values())
        bound = records[0].data
        assert bound["data"]["definition_version"] == "1.2.0"
        assert bound["data"]["content_hash"] == "c0ffee"
        assert bound["data"]["parameters_digest"] == digest({"n": 5})
        root = records[0].event_id

        by_task: dict[str, dict[str, WorkflowEvent]] = {}
        for e in events.values():
            if "task_id" in e.data:
                by_task.setdefault(e.data["task_id"], {})[e.type.value] = e
        for tid in ("double", "add", "explode"):
            assert by_task[tid]["task.started"].causation_id == root
        # completion/failure is caused by the task's start
        assert (
            by_task["double"]["task.completed"].causation_id == by_task["double"]["task.started"].id
        )
        assert (
            by_task["explode"]["task.failed"].causation_id == by_task["explode"]["task.started"].id
        )
        # lineage: input and output digests
        assert by_task["double"]["task.started"].data["inputs_digest"] == digest({"n": 5})
        assert by_task["double"]["task.completed"].data["outputs_digest"] == digest({"value": 10})
        assert by_task["add"]["task.completed"].data["outputs_digest"] == digest(11)
        failed = by_task["explode"]["task.failed"].data
        assert failed["error_type"] == "agent_error" and "cannot handle 11" in failed["error"]
        assert by_task["double"]["task.started"].data["agent"] == "calc"
        assigned = by_task["add"]["agent.assigned"]
        assert (assigned.data["agent_id"], assigned.data["agent_version"]) == ("calc-7", "1.0")
        assert assigned.causation_id == by_task["add"]["task.started"].id
        assert by_task["add"]["task.completed"].data["agent_id"] == "calc-7"
        assert store.verify().ok
        # no Kafka configured: the store holds everything, nothing is queued
        assert store.call(store.store.outbox_counts())["pending"] == 0
        count, total = rec.timing
        print(f"\nrecorder: {count} calls in the flow, {1000 * total / count:.2f} ms per call")
    finally:
        _CURRENT.pop()
        store.close()


def test_recorder_call_cost_is_one_short_transaction(tmp_path: Path) -> None:
    """Measured, not asserted (speed belongs in bench/): printed for the report."""
    store = BlockingAuditStore(f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}")
    rec = Recorder(store, source="test", streams=("events", "audit"), emit_prefect=False)
    try:
        run = str(uuid.uuid4())
        rec.run_started("wf", run, definition_version="1", content_hash="h")
        started = time.perf_counter()
        for i in range(100):
            rec.task_completed("wf", run, f"t{i}", outputs={"i": i})
        per_call = (time.perf_counter() - started) / 100
        rec.wait = False
        started = time.perf_counter()
        for i in range(100):
            rec.task_completed("wf", run, f"q{i}", outputs={"i": i})
        queued = (time.perf_counter() - started) / 100
        rec.flush()
        print(
            f"\nrecorder: {1000 * per_call:.2f} ms per task event waiting for the commit, "
            f"{1000 * queued:.2f} ms queued (SQLite, synchronous=FULL); "
            f"{store.commits} commits for {store.committed} records"
        )
        report = store.verify()
        assert report.ok and report.checked == 201
        assert store.call(store.store.outbox_counts())["pending"] == 402
        assert rec.lost == 0
    finally:
        store.close()


def test_routing_and_approval_records_carry_values_and_identity(tmp_path: Path) -> None:
    store = BlockingAuditStore(f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}")
    rec = Recorder(store, source="test", streams=(), emit_prefect=False)
    try:
        run = "run-42"
        root = rec.run_started("wf", run, definition_version="2", content_hash="h")
        rec.task_started("wf", run, "gap", inputs={"x": 1})
        done = rec.task_completed("wf", run, "gap", outputs={"critical_gaps": 3})
        decision = rec.routing_decided(
            "wf",
            run,
            rule="critical-gaps",
            condition="task.gap.outputs.critical_gaps > 0",
            values={"task.gap.outputs.critical_gaps": 3},
            matched=True,
            actions=["require_approval"],
        )
        approval = rec.approval(
            "wf",
            run,
            rule="critical-gaps",
            decision="approve",
            identity="ciso@example.eu",
            role="ciso",
        )
        end = rec.run_finished("wf", run, state="COMPLETED")
        assert decision.causation_id == done.id
        assert decision.type is EventType.COMPLIANCE_ALERT
        assert decision.data["values"] == {"task.gap.outputs.critical_gaps": 3}
        assert approval.causation_id == decision.id
        assert approval.data["identity"] == "ciso@example.eu"
        assert approval.data["role"] == "ciso" and approval.data["accepted"] is True
        assert end.causation_id == approval.id
        assert end.correlation_id == run and root.causation_id is None
        kinds = [r.kind for r in store.records(run_id=run)]
        assert kinds == [
            "run.bound",
            "task.started",
            "task.completed",
            "routing.decision",
            "approval",
            "workflow.completed",
        ]
    finally:
        store.close()


def test_kafka_is_optional_in_settings() -> None:
    assert outbox_streams(EventSettings(kafka_bootstrap_servers=None)) == ()
    on = EventSettings(kafka_bootstrap_servers="127.0.0.1:9092")
    assert outbox_streams(on) == ("events", "audit")
    assert outbox_streams(on.model_copy(update={"kafka_topic_audit": None})) == ("events",)


def test_flow_events_reach_kafka_in_run_order(
    prefect_api: str, tansu: Tansu, tmp_path: Path
) -> None:
    store = BlockingAuditStore(f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}")
    _install(store, streams=("events",))
    tag = uuid.uuid4().hex[:8]
    config = KafkaConfig(
        bootstrap_servers=tansu.bootstrap, topic_events=f"flow-{tag}", topic_audit=None
    )
    try:
        states = [hand_written(i, return_state=True) for i in (1, 2)]
        run_ids = {str(s.state_details.flow_run_id) for s in states}

        async def publish_and_read() -> list[dict[str, Any]]:
            relay = OutboxRelay(store.store, config)
            try:
                # the store lives on its own loop thread: run the relay there
                await store.acall(relay.drain(timeout=30))
            finally:
                await store.acall(relay.close())
            from aiokafka import AIOKafkaConsumer

            consumer = AIOKafkaConsumer(
                config.topic_events, auto_offset_reset="earliest", **config.consumer_options()
            )
            await consumer.start()
            out: list[dict[str, Any]] = []
            try:
                for _ in range(40):
                    batch = await consumer.getmany(timeout_ms=300)
                    out += [json.loads(m.value) for ms in batch.values() for m in ms]
                    if len(out) >= 18:
                        break
            finally:
                await consumer.stop()
            return out

        messages = asyncio.run(publish_and_read())
        assert len({m["id"] for m in messages}) == 18  # 9 events per run, 2 runs
        for run in run_ids:
            mine = [m for m in messages if m["correlation_id"] == run]
            seqs = [m["metadata"]["audit_seq"] for m in mine]
            assert seqs == sorted(seqs)  # the run's events arrive in the order recorded
            assert mine[0]["type"] == "workflow.started"
            assert mine[-1]["type"] == "workflow.completed"
    finally:
        _CURRENT.pop()
        store.close()


@pytest.fixture(autouse=True)
def _no_leftover_recorder() -> Any:
    yield
    assert not _CURRENT


def test_events_also_reach_prefect_with_the_same_ids(prefect_api: str, tmp_path: Path) -> None:
    """Without Kafka the store and Prefect's event stream (automations) carry the events."""
    from prefect.client.orchestration import get_client

    store = BlockingAuditStore(f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}")
    rec = Recorder(store, source="test", streams=(), emit_prefect=True)
    _CURRENT.append(rec)
    try:
        state = hand_written(3, return_state=True)
        run_id = str(state.state_details.flow_run_id)
        recorded = {r.event_id for r in store.records(run_id=run_id)}

        async def prefect_events() -> list[dict[str, Any]]:
            async with get_client() as client:
                found: list[dict[str, Any]] = []
                for _ in range(100):
                    resp = await client._client.post(
                        "/events/filter",
                        json={
                            "filter": {
                                "event": {"prefix": ["dora.event."]},
                                "related": {
                                    "resources_in_roles": [
                                        [f"prefect.flow-run.{run_id}", "flow-run"]
                                    ]
                                },
                            },
                            "limit": 50,
                        },
                    )
                    found = resp.json().get("events", [])
                    if len(found) >= len(recorded):
                        break
                    await asyncio.sleep(0.2)
                return found

        found = asyncio.run(prefect_events())
        assert {e["id"] for e in found} == recorded
        names = {e["event"] for e in found}
        assert {"dora.event.run.bound", "dora.event.task.failed"} <= names
    finally:
        _CURRENT.pop()
        store.close()


def test_process_recorder_follows_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dora.events.recorder import get_recorder, reset_recorder

    reset_recorder()
    monkeypatch.setenv("DORA_AUDIT_ENABLED", "false")
    assert get_recorder() is None
    reset_recorder()
    monkeypatch.setenv("DORA_AUDIT_ENABLED", "true")
    monkeypatch.setenv("DORA_AUDIT_URL", f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    monkeypatch.setenv("DORA_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")  # queued, not sent
    monkeypatch.delenv("DORA_KAFKA_BLOCK", raising=False)
    try:
        rec = get_recorder()
        assert rec is not None and get_recorder() is rec
        assert rec.streams == ("events", "audit") and rec.strict is False
        rec.emit_prefect = False
        rec.run_started("wf", "run-s", definition_version="1", content_hash="h")
        assert rec.store.call(rec.store.store.outbox_counts())["pending"] == 2
    finally:
        reset_recorder()


def test_engine_outcome_helpers_read_a_real_task_outcome() -> None:
    """What the flow factory passes as outputs_of/extra_of, on the engine's own model."""
    from datetime import UTC, datetime

    from dora.events.hooks import outcome_extra, outcome_outputs
    from tasks.agent_task import TaskOutcome

    outcome = TaskOutcome(
        task_id="gap",
        agent="gap_assessment",
        agent_id="gap_assessment-1",
        agent_version="2.1.0",
        outputs={"critical_gaps": 2},
        attempt=2,
        started_at=datetime.now(UTC),
        duration_s=0.5,
        input_digest="sha256:in",
        output_digest="sha256:out",
    )
    text = outcome.model_dump_json()
    assert outcome_outputs(text) == {"critical_gaps": 2}
    assert outcome_extra(text) == {
        "agent": "gap_assessment",
        "agent_id": "gap_assessment-1",
        "agent_version": "2.1.0",
        "attempt": 2,
        "input_digest": "sha256:in",
        "output_digest": "sha256:out",
    }
    assert outcome_extra(outcome) == outcome_extra(text)


def test_flow_hooks_on_a_flow_compiled_from_yaml(prefect_api: str, tmp_path: Path) -> None:
    """The flow-level wiring on the real factory output: the run is bound to the loaded
    definition's version and content hash, and its final state is recorded."""
    import textwrap

    from dora.definition.loader import parse_definition
    from flows.factory import compile_workflow
    from tests import engine_agents

    engine_agents.register_all()  # the t_echo test agent
    wid = f"ev-{uuid.uuid4().hex[:8]}"
    text = f'workflow:\n  id: "{wid}"\n  name: "Events"\n  version: "3.1.0"\n' + textwrap.indent(
        textwrap.dedent(
            """
            tasks:
              - id: a
                name: A
                agent: t_echo
                inputs: [{name: sleep, type: numeric, default: 0}]
                outputs: [{name: score, type: numeric}, {name: data, type: structured_data}]
            """
        ),
        "  ",
    )
    loaded = parse_definition(text, f"{wid}.yaml")
    store = BlockingAuditStore(f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}")
    rec = _install(store)
    try:
        hooked = compile_workflow(loaded).with_options(
            **flow_hooks(
                loaded.workflow.id,
                definition_version=loaded.version_label,
                content_hash=loaded.content_hash,
                recorder=_recorder,
            )
        )
        state = hooked(return_state=True)
        assert state.is_completed(), state.message
        run_id = str(state.state_details.flow_run_id)
        records = store.records(run_id=run_id)
        assert [r.kind for r in records] == ["run.bound", "workflow.completed"]
        bound = records[0].data["data"]
        assert bound["definition_version"] == loaded.version_label
        assert bound["definition_version"].startswith("3.1.0+")
        assert bound["content_hash"] == loaded.content_hash
        assert records[1].data["causation_id"] == records[0].event_id
        assert store.verify().ok
        assert rec.lost == 0
    finally:
        _CURRENT.pop()
        store.close()
