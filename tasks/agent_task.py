"""Execute one definition task: resolve inputs, pick an agent, call it, check outputs.

This is the body of every compiled Prefect task. It is plain async Python with no
Prefect imports at module level apart from artifacts, so it can be unit-tested directly
and stays cheap to import in workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import time
from collections.abc import Mapping
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from agents.base import ArtifactRef, RunContext, TaskExecution, TaskResult
from agents.coordinator import Coordinator, default_coordinator
from dora.definition.models import QueuePolicy, TaskDefinition, Workflow
from dora.errors import (
    AgentError,
    AgentTimeoutError,
    DataValidationError,
    ResourceUnavailableError,
    RunError,
)
from dora.trusted import trusted
from tasks.inputs import check_type, resolve_inputs
from tasks.policy import queue_delay
from tasks.sources import read_source


class TaskOutcome(BaseModel):
    """What a compiled task returns (persisted by Prefect, read by the flow and the audit)."""

    task_id: str
    agent: str
    agent_id: str
    agent_version: str
    outputs: dict[str, Any]
    summary: str = ""
    artifacts: list[ArtifactRef] = Field(default_factory=list)
    tables: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    attempt: int = 1
    started_at: datetime
    duration_s: float
    input_digest: str
    output_digest: str


def digest(value: Any) -> str:
    """sha256 over canonical JSON: the same data always gives the same digest (lineage)."""
    if not value and isinstance(value, dict):
        return _EMPTY_DIGEST  # tasks without inputs: the commonest value, computed once
    blob = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()
    return "sha256:" + hashlib.sha256(blob).hexdigest()


_EMPTY_DIGEST = "sha256:" + hashlib.sha256(b"{}").hexdigest()


def _check_outputs(task: TaskDefinition, result: TaskResult, agent_id: str) -> None:
    declared = {o.name: o.type for o in task.outputs}
    missing = [n for n in declared if n not in result.outputs]
    if missing:
        raise DataValidationError(
            f"task {task.id!r}: agent {agent_id} did not return declared output(s) {', '.join(missing)}"
        )
    for name, kind in declared.items():
        check_type(kind, result.outputs[name], f"task {task.id!r} output {name!r}")


def _output_digest(task: TaskDefinition, outputs: Mapping[str, Any]) -> str:
    """The outputs' lineage digest; refusing what is not plain JSON data on the way.

    One canonical encoding serves both: the check that outputs are JSON (they are
    persisted, read by CEL and hashed into the audit trail) and the digest.
    """
    try:
        blob = json.dumps(outputs, sort_keys=True, separators=(",", ":"), default=_reject)
    except TypeError as exc:
        raise DataValidationError(f"task {task.id!r}: outputs must be JSON data ({exc})") from None
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


def _reject(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


#: stands in for the exit stack when no concurrency slot is held (most tasks): entering
#: an AsyncExitStack per task run is measurable on a chain of short tasks
_NO_STACK = contextlib.nullcontext()


class _Audit:
    """Agent and resource events of one task attempt for the audit trail (seed EventType:
    agent.available, agent.error, resource.allocated, resource.released).

    They are deferred: appended in the same transaction as the task's next recorded event
    (its completion or failure, recorded by the task's state hook in this thread), so they
    cost no commit of their own. Recording never fails the task.
    """

    def __init__(self, workflow: Workflow, context: RunContext, task: TaskDefinition) -> None:
        self.workflow_id = workflow.id
        self.run_id = context.flow_run_id
        self.task = task
        self.recorder: Any = None
        if workflow.config.audit_enabled and self.run_id:
            from dora.events.recorder import get_recorder

            self.recorder = get_recorder()

    def _record(self, kind: str, data: dict[str, Any]) -> None:
        if self.recorder is None:
            return
        from dora.events.models import EventType

        try:
            self.recorder.record(
                EventType(kind),
                self.workflow_id,
                self.run_id,
                {"task_id": self.task.id, **data},
                kind=kind,
                defer=True,
            )
        except Exception:  # the run's own state stays authoritative
            import logging

            logging.getLogger("dora.tasks").warning("audit event %s not recorded", kind)

    def agent_available(self, agent: Any, waited_s: float) -> None:
        if self.recorder is None:
            return
        self._record(
            "agent.available", {"agent_id": agent.agent_id, "waited_seconds": round(waited_s, 3)}
        )

    def allocated(self, agent: Any, cfg: Any) -> None:
        if self.recorder is None:  # audit off: not even the event's data is built
            return
        res = self.task.config.resources
        self._record(
            "resource.allocated",
            {
                "agent_id": agent.agent_id,
                "cpu": res.cpu,
                "memory": res.memory,
                "gpu": res.gpu,
                "concurrency_limit": getattr(cfg, "concurrency_limit", None),
            },
        )

    def released(self, agent: Any) -> None:
        if self.recorder is None:
            return
        self._record("resource.released", {"agent_id": agent.agent_id})

    def agent_error(self, agent: Any, exc: RunError) -> None:
        self._record(
            "agent.error",
            {
                "agent_id": agent.agent_id,
                "error_type": getattr(exc, "error_type", type(exc).__name__),
                "error": str(exc)[:500],
            },
        )


async def _hold_slot(stack: AsyncExitStack, limit: str, task: TaskDefinition) -> None:
    """Hold one slot of the agent's Prefect concurrency limit until ``stack`` closes."""
    from prefect.concurrency.asyncio import concurrency

    try:
        await stack.enter_async_context(
            concurrency(limit, occupy=1, timeout_seconds=30, strict=True)
        )
    except TimeoutError:
        raise ResourceUnavailableError(
            f"no free slot in concurrency limit {limit!r} for task {task.id!r}"
        ) from None


async def _call_agent(
    agent: Any, task: TaskDefinition, execution: TaskExecution, attempt: int
) -> TaskResult:
    try:
        # Agents are async and must not block their event loop (CPU-heavy work goes to a
        # thread inside the agent, as policy_analyzer does); each task runs in its own
        # loop and thread, so a blocking agent delays only itself, but its timeout then
        # fires only when it yields.
        # asyncio.timeout, not wait_for: wait_for wraps the call in a new Task (extra
        # event-loop turns on every task run; bench/overhead.py)
        if task.config.timeout is None:
            result = await agent.execute_task(execution)
        else:
            async with asyncio.timeout(task.config.timeout):
                result = await agent.execute_task(execution)
    except TimeoutError:
        raise AgentTimeoutError(
            f"task {task.id!r}: agent {agent.agent_id} did not finish within {task.config.timeout}s "
            f"(attempt {attempt})"
        ) from None
    except RunError:
        raise
    except ValidationError as exc:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": str(exc)}
        loc = ".".join(str(p) for p in first["loc"])
        raise DataValidationError(
            f"task {task.id!r}: agent {agent.agent_id} rejected its input: {loc}: {first['msg']}"
        ) from None
    except Exception as exc:
        raise AgentError(
            f"task {task.id!r}: agent {agent.agent_id} failed: {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(result, TaskResult):
        raise DataValidationError(
            f"task {task.id!r}: agent {agent.agent_id} returned {type(result).__name__}, not TaskResult"
        )
    return result


async def execute(
    task: TaskDefinition,
    workflow: Workflow,
    context: RunContext,
    params: Mapping[str, Any],
    upstream: Mapping[str, Mapping[str, Any]],
    *,
    attempt: int = 1,
    coordinator: Coordinator | None = None,
    use_concurrency_limits: bool = False,
) -> TaskOutcome:
    """Run ``task`` once (one attempt); raises a typed ``RunError`` on failure.

    ``resource_unavailable`` (no healthy agent, no free slot, or the agent saying its
    resource is busy) is waited out here when the definition has a ``queue`` rule:
    waiting is not failing, so no retry attempt is spent.
    """
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    inputs = resolve_inputs(task, params, upstream, read_external=read_source)
    coordinator = coordinator or default_coordinator()
    policy = workflow.policy_for("resource_unavailable")
    waited, waits = 0.0, 0
    audit = _Audit(workflow, context, task)
    while True:
        try:
            agent, cfg = coordinator.select_ready(task.agent) or await coordinator.select(
                task.agent
            )
            limit = cfg.concurrency_limit if use_concurrency_limits else None
            stack = AsyncExitStack() if limit else None
            async with stack or _NO_STACK:
                if stack is not None and limit:
                    await _hold_slot(stack, limit, task)
                if waits:
                    audit.agent_available(agent, waited)
                audit.allocated(agent, cfg)
                # built from values the engine already validated: no second validation
                # pass on every task (bench/overhead.py)
                execution = trusted(
                    TaskExecution,
                    task_id=task.id,
                    task_name=task.name,
                    agent=task.agent,
                    inputs=inputs,
                    declared_outputs=[o.name for o in task.outputs],
                    timeout_seconds=task.config.timeout,
                    attempt=attempt,
                    context=context,
                )
                try:
                    result = await _call_agent(agent, task, execution, attempt)
                except RunError as exc:
                    audit.agent_error(agent, exc)
                    raise
                finally:
                    audit.released(agent)
            break
        except ResourceUnavailableError:
            if not isinstance(policy, QueuePolicy) or waited >= policy.max_wait_seconds:
                raise
            delay = min(queue_delay(policy, waits), policy.max_wait_seconds - waited)
            waits += 1
            waited += delay
            await asyncio.sleep(delay)
    _check_outputs(task, result, agent.agent_id)
    output_digest = _output_digest(task, result.outputs)
    return trusted(
        TaskOutcome,
        task_id=task.id,
        agent=task.agent,
        agent_id=agent.agent_id,
        agent_version=getattr(agent, "version", "unknown"),
        outputs=result.outputs,
        summary=result.summary,
        artifacts=result.artifacts,
        tables=result.tables,
        attempt=attempt,
        started_at=started,
        duration_s=time.perf_counter() - t0,
        input_digest=digest(inputs),
        output_digest=output_digest,
    )


_KEY = re.compile(r"[^a-z0-9-]+")


def artifact_key(*parts: str) -> str:
    """Prefect artifact keys: lowercase letters, digits and dashes only."""
    return _KEY.sub("-", "-".join(parts).lower()).strip("-")[:120]


def publish_artifacts(workflow_id: str, outcome: TaskOutcome) -> None:
    """Tables and file links an agent produced, attached to the current task run."""
    if not outcome.tables and not outcome.artifacts:
        return
    from prefect.artifacts import create_link_artifact, create_table_artifact

    for name, rows in outcome.tables.items():
        if rows:
            create_table_artifact(
                table=rows,
                key=artifact_key(workflow_id, outcome.task_id, name),
                description=f"{name} from task {outcome.task_id} ({outcome.agent_id})",
            )
    for ref in outcome.artifacts:
        uri = Path(ref.path).resolve().as_uri()
        create_link_artifact(
            link=uri,
            link_text=Path(ref.path).name,
            key=artifact_key(workflow_id, outcome.task_id, ref.kind),
            description=ref.description or f"{ref.kind} from task {outcome.task_id}",
        )
