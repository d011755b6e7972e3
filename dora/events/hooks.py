"""Prefect state hooks that record workflow events (what the flow factory attaches).

``flow(..., **flow_hooks(...))`` and ``task(..., **task_hooks(...))`` give a compiled flow
and its tasks the hooks Prefect calls on each state change; each hook makes one
:class:`~dora.events.recorder.Recorder` call (one short transaction: audit record + outbox
rows) and never raises into Prefect: a recording failure is logged with the event id by
the process recorder (``strict=False``), and the run's own state stays authoritative.

Task inputs are recorded as a digest of the task run's parameters (read from Prefect's
task run context, which is active while hooks run); outputs as a digest of the result
(``outputs_of`` picks the part to digest, e.g. the agent outcome's ``outputs``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from dora.events.recorder import Recorder, get_recorder

logger = logging.getLogger(__name__)

RecorderFactory = Callable[[], Recorder | None]


def _task_parameters() -> dict[str, Any] | None:
    try:
        from prefect.context import TaskRunContext

        ctx = TaskRunContext.get()
        return None if ctx is None else dict(ctx.parameters or {})
    except Exception:  # context shape differs between Prefect versions: lineage is best effort
        return None


def _guard(name: str, fn: Callable[[], Any]) -> None:
    try:
        fn()
    except Exception as exc:  # a hook must never fail the run it observes
        logger.error("audit hook %s failed: %s: %s", name, type(exc).__name__, exc)


def flow_hooks(
    workflow_id: str,
    *,
    definition_version: str,
    content_hash: str,
    agents: dict[str, dict[str, str]] | None = None,
    recorder: RecorderFactory = get_recorder,
) -> dict[str, list[Callable[..., None]]]:
    """``on_running`` / ``on_completion`` / ``on_failure`` / ``on_crashed`` /
    ``on_cancellation`` hooks for a compiled workflow's flow."""

    def running(flow: Any, flow_run: Any, state: Any) -> None:
        rec = recorder()
        if rec is None:
            return
        _guard(
            "run_started",
            lambda: rec.run_started(
                workflow_id,
                str(flow_run.id),
                definition_version=definition_version,
                content_hash=content_hash,
                parameters=dict(flow_run.parameters or {}),
                flow_name=getattr(flow, "name", None),
                deployment_id=str(flow_run.deployment_id) if flow_run.deployment_id else None,
                agents=agents,
                attempt=int(getattr(flow_run, "run_count", 0) or 1),
            ),
        )

    def finished(flow: Any, flow_run: Any, state: Any) -> None:
        rec = recorder()
        if rec is None:
            return
        _guard(
            "run_finished",
            lambda: rec.run_finished(
                workflow_id,
                str(flow_run.id),
                state=state.type.value,
                message=state.message,
            ),
        )

    return {
        "on_running": [running],
        "on_completion": [finished],
        "on_failure": [finished],
        "on_crashed": [finished],
        "on_cancellation": [finished],
    }


def task_hooks(
    workflow_id: str,
    task_id: str,
    *,
    agent: str | None = None,
    agent_version: str | None = None,
    outputs_of: Callable[[Any], Any] | None = None,
    extra_of: Callable[[Any], dict[str, Any]] | None = None,
    recorder: RecorderFactory = get_recorder,
) -> dict[str, list[Callable[..., None]]]:
    """``on_running`` / ``on_completion`` / ``on_failure`` hooks for one task.

    ``outputs_of(result)``: the part of the task's return value to digest as its outputs.
    ``extra_of(result)``: more fields for the ``task.completed`` record; when it names an
    ``agent_id`` (and ``agent_version``), an ``agent.assigned`` event records which agent
    the coordinator picked (known only once the task has run).
    """

    def running(task: Any, task_run: Any, state: Any) -> None:
        rec = recorder()
        if rec is None:
            return
        _guard(
            "task_started",
            lambda: rec.task_started(
                workflow_id,
                str(task_run.flow_run_id),
                task_id,
                task_run_id=str(task_run.id),
                agent=agent,
                agent_version=agent_version,
                inputs=_task_parameters(),
                attempt=int(task_run.run_count or 1),
            ),
        )

    def completed(task: Any, task_run: Any, state: Any) -> None:
        rec = recorder()
        if rec is None:
            return

        def record() -> None:
            value = state.result(raise_on_failure=False)
            outputs = outputs_of(value) if outputs_of is not None else value
            extra = extra_of(value) if extra_of is not None else {}
            duration = getattr(task_run, "total_run_time", None)
            if extra.get("agent_id"):
                rec.agent_assigned(
                    workflow_id,
                    str(task_run.flow_run_id),
                    task_id,
                    agent_id=str(extra["agent_id"]),
                    agent_type=str(extra.get("agent_type") or extra.get("agent") or agent or ""),
                    agent_version=str(extra.get("agent_version") or ""),
                    defer=True,  # appended with task.completed, in one transaction
                )
            rec.task_completed(
                workflow_id,
                str(task_run.flow_run_id),
                task_id,
                task_run_id=str(task_run.id),
                outputs=outputs,
                duration_s=duration.total_seconds() if duration is not None else None,
                extra=extra,
            )

        _guard("task_completed", record)

    def failed(task: Any, task_run: Any, state: Any) -> None:
        rec = recorder()
        if rec is None:
            return

        def record() -> None:
            error = state.result(raise_on_failure=False)
            rec.task_failed(
                workflow_id,
                str(task_run.flow_run_id),
                task_id,
                task_run_id=str(task_run.id),
                error=state.message or repr(error),
                error_type=getattr(error, "error_type", type(error).__name__),
            )

        _guard("task_failed", record)

    return {"on_running": [running], "on_completion": [completed], "on_failure": [failed]}


#: fields of the engine's task outcome (``tasks.agent_task.TaskOutcome``) worth recording
_OUTCOME_FIELDS = ("agent", "agent_id", "agent_version", "attempt", "input_digest", "output_digest")


def _outcome(result: Any) -> dict[str, Any]:
    """The engine's task result: a ``TaskOutcome`` as JSON text (or already a dict)."""
    import json

    if isinstance(result, str | bytes):
        value = json.loads(result)
        return value if isinstance(value, dict) else {}
    if hasattr(result, "model_dump"):
        dumped = result.model_dump(mode="json")
        return dumped if isinstance(dumped, dict) else {}
    return result if isinstance(result, dict) else {}


def outcome_outputs(result: Any) -> Any:
    """``outputs_of`` for the engine's tasks: the agent's declared outputs."""
    return _outcome(result).get("outputs")


def outcome_extra(result: Any) -> dict[str, Any]:
    """``extra_of`` for the engine's tasks: agent id/version, attempt and the engine's own
    input/output digests (so the audit record and the run's report agree)."""
    outcome = _outcome(result)
    return {k: outcome[k] for k in _OUTCOME_FIELDS if k in outcome}
