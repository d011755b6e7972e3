"""dora.trusted builds the same models validation would, or falls back to model_construct."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field, PrivateAttr

from agents.base import ArtifactRef, RunContext, TaskExecution
from dora.trusted import trusted
from flows.factory import TaskSummary
from tasks.agent_task import TaskOutcome


def _context() -> RunContext:
    return RunContext(
        workflow_id="wf",
        workflow_version="1.0.0",
        definition_hash="sha256:abc",
        flow_run_id="run-1",
        output_dir=Path("reports/wf/run-1"),
        provenance={"agents": {"a": {"agent_id": "x-001", "version": "1.0.0"}}},
    )


def test_engine_models_equal_their_validated_twins() -> None:
    ctx = _context()
    cases: list[tuple[type[BaseModel], dict[str, object]]] = [
        (RunContext, dict(ctx)),
        (
            TaskExecution,
            {
                "task_id": "t1",
                "task_name": "T1",
                "agent": "policy_analyzer",
                "inputs": {"documents": ["a.pdf"]},
                "declared_outputs": ["analysis_results"],
                "timeout_seconds": 30.0,
                "attempt": 2,
                "context": ctx,
            },
        ),
        (
            TaskOutcome,
            {
                "task_id": "t1",
                "agent": "policy_analyzer",
                "agent_id": "policy-analyzer-001",
                "agent_version": "1.3.0",
                "outputs": {"compliance_score": 0.5},
                "summary": "ok",
                "artifacts": [ArtifactRef(path="r.html", kind="html")],
                "tables": {"gaps": [{"id": "x"}]},
                "attempt": 1,
                "started_at": datetime(2026, 1, 1, tzinfo=UTC),
                "duration_s": 0.25,
                "input_digest": "sha256:1",
                "output_digest": "sha256:2",
            },
        ),
        (
            TaskSummary,
            {
                "state": "completed",
                "agent_id": "a-001",
                "agent_version": "1.0.0",
                "summary": "",
                "error": None,
                "error_type": None,
                "attempts": 1,
                "duration_s": 0.1,
                "input_digest": "sha256:1",
                "output_digest": "sha256:2",
                "artifacts": [],
            },
        ),
    ]
    for cls, values in cases:
        built = trusted(cls, **values)
        validated = cls.model_validate(values)
        assert type(built) is cls
        assert built == validated, cls.__name__
        assert built.model_fields_set == validated.model_fields_set
        assert built.model_dump_json() == validated.model_dump_json()


def test_missing_fields_get_their_defaults_through_model_construct() -> None:
    built = trusted(TaskSummary, state="pending")
    assert built.attempts == 0 and built.artifacts == [] and built.summary == ""
    assert built.model_fields_set == {"state"}


def test_models_with_private_state_or_aliases_take_the_safe_path() -> None:
    class Private(BaseModel):
        x: int
        _cache: dict[str, int] = PrivateAttr(default_factory=dict)

    class Aliased(BaseModel):
        x: int = Field(alias="X")

    p = trusted(Private, x=1)
    assert p.x == 1 and p._cache == {}  # private attributes initialised
    a = trusted(Aliased, X=2)
    assert a.x == 2  # the alias was honoured, as model_construct does
