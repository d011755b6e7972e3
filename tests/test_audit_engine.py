"""A compiled workflow records its own run in the audit chain (no hooks added by hand).

The flow factory attaches the recorder's state hooks to every flow and task of a definition
with ``audit_enabled: true`` and records routing decisions from the engine, so a supervisor
can reconstruct the run from the chain alone: bound definition version and hash, every task
with input/output digests and the agent that ran it, the decisions with the values read.
"""

from __future__ import annotations

import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dora.audit.blocking import BlockingAuditStore
from dora.definition.loader import parse_definition
from dora.events.recorder import get_recorder, reset_recorder
from flows.factory import compile_workflow
from tests import engine_agents

pytestmark = pytest.mark.usefixtures("prefect_api")

BODY = """
config: {{audit_enabled: {audit}}}
tasks:
  - id: analyse
    name: Analyse
    agent: t_echo
    inputs: [{{name: score, type: numeric, default: 0.4}}]
    outputs: [{{name: score, type: numeric}}, {{name: data, type: structured_data}}]
  - id: report
    name: Report
    agent: t_echo
    depends_on: [analyse]
    inputs: [{{name: score, type: numeric, from_task: analyse, field: score}}]
    outputs: [{{name: score, type: numeric}}, {{name: data, type: structured_data}}]
routing:
  - condition: "task.analyse.outputs.score < 0.5"
    action: escalate
    target: compliance_officer
"""


@pytest.fixture
def audit_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}"
    reset_recorder()
    monkeypatch.setenv("DORA_AUDIT_ENABLED", "true")
    monkeypatch.setenv("DORA_AUDIT_URL", url)
    monkeypatch.delenv("DORA_KAFKA_BOOTSTRAP_SERVERS", raising=False)
    engine_agents.register_all()
    yield url
    reset_recorder()


def _flow(audit: str) -> tuple[str, object]:
    wid = f"audit-{uuid.uuid4().hex[:8]}"
    text = f'workflow:\n  id: "{wid}"\n  name: "Audited"\n  version: "2.0.0"\n' + textwrap.indent(
        textwrap.dedent(BODY).format(audit=audit), "  "
    )
    loaded = parse_definition(text, f"{wid}.yaml")
    return loaded.content_hash, compile_workflow(loaded)


def _recorded(audit_db: str, state: Any) -> tuple[str, list[Any], bool]:
    """(run id, the run's audit records, whether the whole chain verifies), read after the
    recorder flushed what it buffered."""
    run_id = str(state.state_details.flow_run_id)
    recorder = get_recorder()
    if recorder is not None:
        recorder.store.flush()
    store = BlockingAuditStore(audit_db)
    try:
        return run_id, store.records(run_id=run_id), store.verify().ok
    finally:
        store.close()


def test_compiled_run_is_reconstructable_from_the_chain(audit_db: str) -> None:
    content_hash, flow_obj = _flow("true")
    state = flow_obj(return_state=True)  # type: ignore[operator]
    run_id, records, chain_ok = _recorded(audit_db, state)
    kinds = [r.kind for r in records]
    assert kinds[0] == "run.bound" and kinds[-1] in ("workflow.completed", "workflow.failed")
    bound = records[0].data["data"]
    assert bound["content_hash"] == content_hash
    assert bound["definition_version"].startswith("2.0.0+")
    for tid in ("analyse", "report"):
        done = [
            r
            for r in records
            if r.kind == "task.completed" and r.data["data"].get("task_id") == tid
        ]
        assert len(done) == 1, kinds
        data = done[0].data["data"]
        assert data["output_digest"].startswith("sha256:")
        assert data["input_digest"].startswith("sha256:")
    # the escalate decision is in the chain with the value it read
    decided = [r for r in records if r.kind == "routing.decision"]
    assert decided, kinds
    payload = decided[0].data["data"]
    assert payload["matched"] is True
    assert payload["values"] == {"task.analyse.outputs.score": 0.4}
    # each attempt's agent held and gave back its resources (seed resource.* events)
    for kind in ("resource.allocated", "resource.released"):
        assert sorted(r.data["data"]["task_id"] for r in records if r.kind == kind) == [
            "analyse",
            "report",
        ]
    allocated = next(r for r in records if r.kind == "resource.allocated").data["data"]
    assert allocated["cpu"] == "500m" and allocated["memory"] == "512Mi"
    # one correlation id for the whole run, and an unbroken chain
    assert {r.data["correlation_id"] for r in records} == {run_id}
    assert chain_ok


def test_audit_disabled_in_the_definition_records_nothing(audit_db: str) -> None:
    _, flow_obj = _flow("false")
    state = flow_obj(return_state=True)  # type: ignore[operator]
    _, records, _ = _recorded(audit_db, state)
    assert records == []


def test_agent_error_is_recorded_with_the_failed_task(audit_db: str) -> None:
    wid = f"audit-{uuid.uuid4().hex[:8]}"
    text = textwrap.dedent(
        f"""
        workflow:
          id: "{wid}"
          name: "Audited failure"
          version: "1.0.0"
          tasks:
            - id: load
              name: Load
              agent: t_bad_data
              inputs: [{{name: key, type: string, default: "{uuid.uuid4().hex}"}}]
              outputs: [{{name: score, type: numeric}}]
          error_handling:
            - error_type: data_validation_error
              action: halt
        """
    )
    state = compile_workflow(parse_definition(text, f"{wid}.yaml"))(return_state=True)
    assert state.is_failed()
    _, records, chain_ok = _recorded(audit_db, state)
    kinds = [r.kind for r in records]
    assert "agent.error" in kinds and "task.failed" in kinds, kinds
    error = next(r for r in records if r.kind == "agent.error").data["data"]
    assert error["error_type"] == "data_validation_error"
    assert error["task_id"] == "load"
    assert kinds.index("agent.error") < kinds.index("task.failed")
    assert chain_ok
