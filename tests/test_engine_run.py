"""Compiled flows on a real Prefect API: order, parallelism, retries, halt, routing, criteria.

Timing facts are read back from the task runs Prefect recorded, not from our own clocks.
"""

from __future__ import annotations

import asyncio
import itertools
import textwrap
import uuid
from typing import Any

import pytest
from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.sorting import TaskRunSort

from dora.definition.loader import parse_definition
from flows.factory import compile_workflow
from tests import engine_agents

pytestmark = pytest.mark.usefixtures("prefect_api")


@pytest.fixture(autouse=True, scope="module")
def _agents() -> None:
    engine_agents.register_all()


def _compile(body: str, **fmt: Any) -> Any:
    wid = f"t-{uuid.uuid4().hex[:8]}"
    text = (
        'workflow:\n  id: "'
        + wid
        + '"\n  name: "Test"\n  version: "1.0.0"\n'
        + textwrap.indent(textwrap.dedent(body).format(**fmt), "  ")
    )
    return compile_workflow(parse_definition(text, f"{wid}.yaml"))


def _run(flow_obj: Any, **params: Any) -> tuple[Any, dict[str, Any]]:
    state = flow_obj(**params, return_state=True)
    data = state.result(raise_on_failure=False)
    assert isinstance(data, dict), data
    return state, data


async def _task_runs(flow_run_id: str) -> dict[str, Any]:
    async with get_client() as client:
        runs = await client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[uuid.UUID(flow_run_id)])),
            sort=TaskRunSort.EXPECTED_START_TIME_ASC,
        )
    return {r.task_key.split(".")[-1] if False else r.name.split(" ")[0]: r for r in runs}


def _sample(name: str, **labels: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0.0


def task_runs(flow_run_id: str) -> dict[str, Any]:
    return asyncio.run(_task_runs(flow_run_id))


ECHO3 = """
config:
  parallel_execution: {parallel}
tasks:
  - id: a
    name: A
    agent: t_echo
    inputs: [{{name: sleep, type: numeric, default: 1.0}}]
    outputs: [{{name: score, type: numeric}}, {{name: data, type: structured_data}}]
  - id: b
    name: B
    agent: t_echo
    inputs: [{{name: sleep, type: numeric, default: 1.0}}]
    outputs: [{{name: score, type: numeric}}, {{name: data, type: structured_data}}]
  - id: c
    name: C
    agent: t_echo
    depends_on: [a, b]
    inputs:
      - {{name: from_a, from_task: a, field: data}}
      - {{name: both, type: aggregated, sources: [a, b]}}
    outputs: [{{name: score, type: numeric}}, {{name: data, type: structured_data}}]
"""


def test_independent_tasks_run_in_parallel_and_dependents_wait() -> None:
    state, data = _run(_compile(ECHO3, parallel="true"))
    assert state.is_completed(), state.message
    runs = task_runs(data["flow_run_id"])
    a, b, c = runs["a"], runs["b"], runs["c"]
    # a and b overlap in time (each sleeps 1 s); c starts only after both ended
    assert a.start_time < b.end_time and b.start_time < a.end_time
    assert c.start_time >= max(a.end_time, b.end_time)
    # upstream edges recorded server-side (drives the UI graph)
    assert {i.id for i in c.task_inputs["upstream"]} == {a.id, b.id}
    # inputs resolved: c saw both its declared inputs
    assert data["outputs"]["c"]["data"]["inputs"] == ["both", "from_a"]


def test_sequential_execution_when_parallel_disabled() -> None:
    state, data = _run(_compile(ECHO3, parallel="false"))
    assert state.is_completed()
    runs = sorted(task_runs(data["flow_run_id"]).values(), key=lambda r: r.start_time)
    for earlier, later in itertools.pairwise(runs):
        assert later.start_time >= earlier.end_time, (
            "tasks overlapped although parallel_execution is false"
        )


def test_timeout_is_retried_with_exponential_backoff_then_fails() -> None:
    key = uuid.uuid4().hex
    flow_obj = _compile(
        """
tasks:
  - id: slow
    name: Slow
    agent: t_slow
    config: {{timeout: 1}}
    inputs: [{{name: key, type: string, default: "{key}"}}]
    outputs: [{{name: score, type: numeric}}]
error_handling:
  - error_type: agent_timeout
    action: retry
    max_attempts: 3
    backoff: exponential
    base_delay_seconds: 0.5
""",
        key=key,
    )
    state, data = _run(flow_obj)
    assert state.is_failed()
    assert engine_agents.CALLS[key] == 3
    summary = data["tasks"]["slow"]
    assert summary["error_type"] == "agent_timeout" and summary["attempts"] == 3
    assert "did not finish within 1s" in summary["error"]
    run = task_runs(data["flow_run_id"])["slow"]

    async def history() -> list[Any]:
        async with get_client() as client:
            return await client.read_task_run_states(run.id)

    states = asyncio.run(history())
    retries = [s for s in states if s.name == "AwaitingRetry"]
    assert len(retries) == 2
    delays = [(s.state_details.scheduled_time - s.timestamp).total_seconds() for s in retries]
    assert delays[0] == pytest.approx(0.5, abs=0.25) and delays[1] == pytest.approx(1.0, abs=0.25)


def test_untyped_agent_errors_get_max_retries_but_validation_errors_none() -> None:
    crash_key, bad_key = uuid.uuid4().hex, uuid.uuid4().hex
    flow_obj = _compile(
        """
config: {{max_retries: 1}}
tasks:
  - id: crash
    name: Crash
    agent: t_crash
    inputs: [{{name: key, type: string, default: "{crash}"}}]
  - id: bad
    name: Bad
    agent: t_bad_data
    inputs: [{{name: key2, type: string, default: "{bad}"}}]
error_handling:
  - error_type: agent_timeout
    action: retry
    max_attempts: 2
    base_delay_seconds: 0
""".replace("key2", "key")
        if False
        else """
config: {{max_retries: 1}}
tasks:
  - id: crash
    name: Crash
    agent: t_crash
    inputs: [{{name: key, type: string, default: "{crash}"}}]
""",
        crash=crash_key,
        bad=bad_key,
    )
    state, data = _run(flow_obj)
    assert state.is_failed()
    assert engine_agents.CALLS[crash_key] == 2  # first attempt + config.max_retries
    assert data["tasks"]["crash"]["error_type"] == "agent_error"


def test_data_validation_error_halts_the_run_without_retry() -> None:
    key = uuid.uuid4().hex
    flow_obj = _compile(
        """
config: {{max_retries: 3}}
tasks:
  - id: load
    name: Load register
    agent: t_bad_data
    inputs: [{{name: key, type: string, default: "{key}"}}]
    outputs: [{{name: score, type: numeric}}]
  - id: after
    name: After
    agent: t_echo
    depends_on: [load]
    outputs: [{{name: score, type: numeric}}]
error_handling:
  - error_type: data_validation_error
    action: halt
    notify: [data_team, workflow_owner]
""",
        key=key,
    )
    before = _sample(
        "dora_agent_errors_total", agent="t_bad_data", error_type="data_validation_error"
    )
    failed_runs = _sample("dora_flow_runs_finished_total", state="FAILED")
    state, data = _run(flow_obj)
    assert state.is_failed()
    assert "halted" in state.message and "data_validation_error" in state.message
    assert engine_agents.CALLS[key] == 1, "a halting error must not be retried"
    assert data["tasks"]["load"]["attempts"] == 1
    # the engine's Prometheus metrics saw the error, the failed task and the failed run
    assert (
        _sample("dora_agent_errors_total", agent="t_bad_data", error_type="data_validation_error")
        == before + 1
    )
    assert _sample("dora_flow_runs_finished_total", state="FAILED") == failed_runs + 1
    assert (
        _sample(
            "dora_task_duration_seconds_count", task_id="load", agent="t_bad_data", state="FAILED"
        )
        >= 1
    )
    assert data["tasks"]["after"]["state"] == "skipped"
    assert "after" not in task_runs(data["flow_run_id"])
    assert "column 'lei' is empty" in data["tasks"]["load"]["error"]


def test_resource_unavailable_is_queued_then_succeeds() -> None:
    key = uuid.uuid4().hex
    flow_obj = _compile(
        """
tasks:
  - id: scan
    name: Scan
    agent: t_busy
    inputs:
      - {{name: key, type: string, default: "{key}"}}
      - {{name: busy_for, type: integer, default: 2}}
    outputs: [{{name: score, type: numeric}}]
error_handling:
  - error_type: resource_unavailable
    action: queue
    wait_strategy: exponential_backoff
    base_delay_seconds: 0.1
    max_wait_seconds: 10
""",
        key=key,
    )
    state, data = _run(flow_obj)
    assert state.is_completed(), state.message
    assert engine_agents.CALLS[key] == 3
    assert data["outputs"]["scan"]["score"] == 3.0
    assert data["tasks"]["scan"]["attempts"] == 1  # waiting is not a failed attempt


ROUTED = """
tasks:
  - id: analyse
    name: Analyse
    agent: t_echo
    inputs:
      - {{name: score, type: numeric, default: {score}}}
      - {{name: clean, type: boolean, default: {clean}}}
    outputs: [{{name: score, type: numeric}}, {{name: data, type: structured_data}}]
routing:
  - condition: "task.analyse.outputs.score < 0.5"
    action: escalate
    target: compliance_officer
  - condition: "workflow.duration > 3600"
    action: alert
    recipients: [ops_team]
success_criteria:
  - condition: all_tasks_completed
  - condition: "task.analyse.outputs.score >= 0.7"
    required: true
  - condition: no_critical_gaps
    required: false
"""


def test_routing_decisions_recorded_and_criteria_decide_state() -> None:
    state, data = _run(_compile(ROUTED, score=0.4, clean="false"))
    assert state.is_failed()
    assert "required success criteria not met: task.analyse.outputs.score >= 0.7" in state.message
    esc = next(d for d in data["decisions"] if d["action"] == "escalate")
    assert esc["fired"] is True and esc["values"] == {"task.analyse.outputs.score": 0.4}
    assert esc["target"] == "compliance_officer"
    alert = next(d for d in data["decisions"] if d["action"] == "alert")
    assert alert["fired"] is False and alert["values"]["workflow.duration"] < 3600
    optional = next(c for c in data["criteria"] if c["condition"] == "no_critical_gaps")
    assert optional["passed"] is False and data["warnings"]


def test_passing_criteria_complete_and_rule_does_not_fire() -> None:
    state, data = _run(_compile(ROUTED, score=0.9, clean="true"))
    assert state.is_completed(), state.message
    esc = next(d for d in data["decisions"] if d["action"] == "escalate")
    assert esc["fired"] is False
    assert all(c["passed"] for c in data["criteria"])
    assert not data["warnings"]


def test_decision_events_reach_prefect_with_action_labels() -> None:
    _state, data = _run(_compile(ROUTED, score=0.1, clean="true"))
    run_id = data["flow_run_id"]

    async def events() -> list[dict[str, Any]]:
        async with get_client() as client:
            for _ in range(50):
                resp = await client._client.post(
                    "/events/filter",
                    json={
                        "filter": {
                            "event": {"prefix": ["dora.routing."]},
                            "related": {
                                "resources_in_roles": [[f"prefect.flow-run.{run_id}", "flow-run"]]
                            },
                        },
                        "limit": 20,
                    },
                )
                found = resp.json().get("events", [])
                if found:
                    return found
                await asyncio.sleep(0.2)
        return []

    found = asyncio.run(events())
    escalate = [e for e in found if e["event"] == "dora.routing.escalate"]
    assert escalate, found
    res = escalate[0]["resource"]
    assert (
        res["dora.action"] == "escalate"
        and res["dora.fired"] == "true"
        and res["dora.who"] == "compliance_officer"
    )
    assert escalate[0]["payload"]["values"]["task.analyse.outputs.score"] == 0.1


def test_missing_required_parameter_is_a_clear_failure() -> None:
    flow_obj = _compile("""
tasks:
  - id: a
    name: A
    agent: t_echo
    inputs: [{{name: documents, type: file_list, required: true}}]
    outputs: [{{name: score, type: numeric}}]
""")
    import inspect

    sig = inspect.signature(flow_obj.fn)
    assert sig.parameters["documents"].default is inspect.Parameter.empty
    schema = flow_obj.parameters.model_dump()
    assert "documents" in schema["required"]
    assert schema["properties"]["documents"]["type"] == "array"


def test_flow_identity_binds_definition_version_and_hash() -> None:
    flow_obj = _compile(ECHO3, parallel="true")
    assert flow_obj.name.startswith("t-")
    assert flow_obj.version.startswith("1.0.0+") and len(flow_obj.version) == len("1.0.0+") + 12
    assert flow_obj.fn.__qualname__ == flow_obj.fn.__name__ == flow_obj.name.replace("-", "_")


def test_a_failure_skips_every_task_downstream_of_it_however_deep() -> None:
    """a fails (no halt rule): b, c and d downstream are skipped, e beside them completes."""
    key = uuid.uuid4().hex
    flow_obj = _compile(
        """
config: {{max_retries: 0}}
tasks:
  - id: a
    name: A
    agent: t_crash
    inputs: [{{name: key, type: string, default: "{key}"}}]
  - id: b
    name: B
    agent: t_echo
    depends_on: [a]
  - id: c
    name: C
    agent: t_echo
    depends_on: [b]
  - id: d
    name: D
    agent: t_echo
    depends_on: [c]
  - id: e
    name: E
    agent: t_echo
""",
        key=key,
    )
    state, data = _run(flow_obj)
    assert state.is_failed()
    states = {tid: t["state"] for tid, t in data["tasks"].items()}
    assert states == {
        "a": "failed",
        "b": "skipped",
        "c": "skipped",
        "d": "skipped",
        "e": "completed",
    }
    assert "upstream c did not complete" in data["tasks"]["d"]["error"]
