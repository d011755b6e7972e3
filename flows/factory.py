"""Compile a validated definition into a Prefect flow.

One flow per definition: flow name = definition id, flow version = definition version
plus content hash, one Prefect task per definition task (named by task id). The flow
body is a small scheduler: it submits a task as soon as everything it depends on has
completed (all ready tasks at once when ``parallel_execution`` is true, one at a time
otherwise), evaluates routing rules as soon as the outputs they read exist, stops
scheduling when an error policy says ``halt``, and decides the final state from the
success criteria.

Why submit lazily instead of all at once with ``wait_for``: a halted or failed branch
must stop *new* work without leaving orphaned futures, and routing must run between
tasks. Each task gets the objects its upstream tasks returned; Prefect recognises them
as those tasks' results, so it records the edges and the UI draws the graph.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
import json
import logging
import queue
import threading
import time
from pathlib import Path
from typing import Any

from prefect import Flow, flow, task
from prefect.futures import PrefectFuture, as_completed
from prefect.states import Completed, Failed, State
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import BaseModel, Field

from agents import registry
from agents.base import RunContext
from dora import metrics
from dora.definition.loader import LoadedDefinition
from dora.definition.models import (
    ExternalInput,
    HaltPolicy,
    ParameterInput,
    RequireApprovalRule,
    RoutingRule,
    TaskDefinition,
    Workflow,
)
from dora.events.hooks import flow_hooks, outcome_extra, outcome_outputs, task_hooks
from dora.events.recorder import get_recorder
from dora.settings import get_settings
from dora.trusted import trusted
from flows import progress
from flows.approvals import ApprovalError, approvals_for, handle_require_approval
from flows.graph import PRIORITY_ORDER, execution_order, parameters, upstream_of
from flows.routing import CriterionResult, Decision, DurationWatch, Router, RunView, check_success
from tasks import agent_task
from tasks.policy import error_type_of, retry_options

log = logging.getLogger("dora.flows")

_PY_TYPES: dict[str, Any] = {
    "file_list": list[str],
    "string": str,
    "numeric": float,
    "integer": int,
    "boolean": bool,
    "structured_data": dict[str, Any],
    "document": str,
    "list": list[Any],
    "external_api": str | None,
}


class TaskSummary(BaseModel):
    state: str
    agent_id: str | None = None
    agent_version: str | None = None
    summary: str = ""
    error: str | None = None
    error_type: str | None = None
    attempts: int = 0
    duration_s: float | None = None
    input_digest: str | None = None
    output_digest: str | None = None
    artifacts: list[dict[str, Any]] = Field(default_factory=list)


class WorkflowRunResult(BaseModel):
    """What a run produced and why it ended the way it did (persisted as the flow result)."""

    workflow_id: str
    workflow_version: str
    definition_hash: str
    flow_run_id: str | None
    state: str  # "completed" or "failed"
    message: str
    output_dir: str
    tasks: dict[str, TaskSummary]
    decisions: list[Decision]
    criteria: list[CriterionResult]
    warnings: list[str] = Field(default_factory=list)
    outputs: dict[str, dict[str, Any]] = Field(default_factory=dict)
    #: who approved or rejected what (require_approval rules), in order
    approvals: list[dict[str, Any]] = Field(default_factory=list)


_LOOPS = threading.local()


def _runner() -> asyncio.Runner:
    """One event loop per worker thread, reused across tasks (creating one costs per task)."""
    runner = getattr(_LOOPS, "runner", None)
    if runner is None:
        runner = asyncio.Runner()
        _LOOPS.runner = runner
    return runner


def var_name(workflow_id: str) -> str:
    """Module-level variable name for a definition's flow (``dora-x`` -> ``dora_x``)."""
    name = "".join(c if c.isalnum() else "_" for c in workflow_id)
    return f"wf_{name}" if name[0].isdigit() else name


def _signature(workflow: Workflow) -> inspect.Signature:
    params = []
    for spec in parameters(workflow):
        ann = _PY_TYPES.get(spec.type, Any)
        if spec.required:
            params.append(
                inspect.Parameter(spec.name, inspect.Parameter.KEYWORD_ONLY, annotation=ann)
            )
        else:
            default = spec.default
            ann = ann if default is not None or spec.type == "external_api" else ann | None
            params.append(
                inspect.Parameter(
                    spec.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=ann
                )
            )
    return inspect.Signature(params)


def _make_task(loaded: LoadedDefinition, tdef: TaskDefinition) -> Any:
    workflow = loaded.workflow
    settings = get_settings()

    def run_agent_task(upstream: dict[str, str], params: dict[str, Any]) -> str:
        # A sync Prefect task on purpose: async task runs build a new API client (and TLS
        # context) per run, which costs ~20 ms a task (bench/overhead.py); the agent's
        # coroutine runs in its own event loop inside. The run context is rebuilt here
        # from the definition, the Prefect runtime and the upstream outcomes instead of
        # being passed in: Prefect walks every parameter of every task submission.
        from prefect.context import TaskRunContext

        # the task run's own context, not prefect.runtime's lookups (bench/overhead.py)
        run = getattr(TaskRunContext.get(), "task_run", None)
        run_id = str(run.flow_run_id) if run is not None and run.flow_run_id else None
        attempt = int(getattr(run, "run_count", 0) or 1)
        # Outcomes travel as JSON text: Prefect walks every nested value of task results
        # and parameters, which for a large analysis is far costlier than one json.loads.
        ups = {tid: json.loads(t) if isinstance(t, str) else t for tid, t in upstream.items()}
        context = run_context(loaded, run_id, ups)
        try:
            outcome = _runner().run(
                agent_task.execute(
                    tdef,
                    workflow,
                    context,
                    params,
                    {tid: out["outputs"] for tid, out in ups.items()},
                    attempt=attempt,
                    use_concurrency_limits=settings.use_concurrency_limits,
                )
            )
        except Exception as exc:
            # the flow reads the attempt count from here: the server learns of the task
            # run's state through events, possibly after the flow has moved on
            exc.dora_attempt = attempt  # type: ignore[attr-defined]
            raise
        agent_task.publish_artifacts(workflow.id, outcome)
        return outcome.model_dump_json()

    def cache_key(ctx: Any, parameters: dict[str, Any]) -> str | None:
        # Within one flow run a task's inputs are fixed by its upstream tasks, so the run id
        # and task id identify the result: a resumed or retried flow run reuses completed
        # tasks without hashing (possibly megabytes of) inputs on every task run.
        run_id = getattr(getattr(ctx, "task_run", None), "flow_run_id", None)
        return (
            f"dora-{workflow.id}-{run_id}-{tdef.id}-{loaded.content_hash[:12]}" if run_id else None
        )

    run_agent_task.__name__ = run_agent_task.__qualname__ = tdef.id
    opts = retry_options(workflow).prefect_kwargs(workflow)
    if workflow.config.audit_enabled:
        # task started/completed/failed (with input and output digests and the agent that
        # ran) go to the hash-chained audit store and its outbox (dora/events/hooks.py)
        opts.update(
            task_hooks(
                workflow.id,
                tdef.id,
                agent=tdef.agent,
                outputs_of=outcome_outputs,
                extra_of=outcome_extra,
            )
        )
    return task(  # type: ignore[call-overload]
        run_agent_task,
        name=tdef.id,
        task_run_name=f"{tdef.id} [{tdef.agent}]",
        description=tdef.name,
        # Tags cost one concurrency-limit API call per task run (Prefect acquires tag
        # slots even when no limit exists), so they are opt-in: DORA_TASK_TAGS=true.
        tags=[f"agent:{tdef.agent}", f"priority:{tdef.config.priority}"]
        if settings.task_tags
        else None,
        persist_result=True,
        cache_key_fn=cache_key,
        **opts,
    )


def compile_workflow(loaded: LoadedDefinition, *, module: str = "flows.catalog") -> Flow[..., Any]:
    """Build the Prefect flow for one definition (module-level variable in ``module``)."""
    workflow = loaded.workflow
    tasks = {t.id: _make_task(loaded, t) for t in workflow.tasks}
    order = execution_order(workflow)
    ups = {tid: upstream_of(workflow, tid) for tid in order}
    param_names = [p.name for p in parameters(workflow)]
    agent_facts = {name: spec.facts for name, spec in registry.available().items()}

    def _run(**params: Any) -> State:
        return _execute(loaded, tasks, order, ups, params, agent_facts)

    name = var_name(workflow.id)
    _run.__name__ = _run.__qualname__ = name
    _run.__module__ = module
    _run.__doc__ = workflow.description or workflow.name
    _run.__signature__ = _signature(workflow)  # type: ignore[attr-defined]
    _run.__annotations__ = {
        p: _PY_TYPES.get(s.type, Any)
        for p, s in zip(param_names, parameters(workflow), strict=True)
    }
    hooks = (
        flow_hooks(
            workflow.id,
            definition_version=loaded.version_label,
            content_hash=loaded.content_hash,
        )
        if workflow.config.audit_enabled
        else {}
    )
    return flow(  # type: ignore[call-overload]
        _run,
        name=workflow.id,
        version=loaded.version_label,
        description=workflow.description or workflow.name,
        timeout_seconds=workflow.config.timeout,
        task_runner=ThreadPoolTaskRunner(),
        log_prints=True,
        persist_result=True,
        validate_parameters=True,
        **hooks,
    )


def _execute(
    loaded: LoadedDefinition,
    tasks: dict[str, Any],
    order: list[str],
    ups: dict[str, list[str]],
    params: dict[str, Any],
    agent_facts: dict[str, tuple[str, ...]],
) -> State:
    from prefect.runtime import flow_run

    workflow = loaded.workflow
    settings = get_settings()
    run_id = str(flow_run.id) if flow_run.id else None
    out_dir = output_dir(workflow.id, run_id)
    wanted = {
        t.id: {i.name for i in t.inputs if isinstance(i, ParameterInput | ExternalInput)}
        for t in workflow.tasks
    }
    view = RunView(workflow, agent_facts)
    router = Router(view, lambda d, r: _on_decision(workflow, run_id, d, r))
    watch = DurationWatch(router, settings.duration_check_interval_s)
    tracker = progress.Tracker(workflow, run_id, settings.progress_artifact_interval_s)
    summaries: dict[str, TaskSummary] = {tid: TaskSummary(state="pending") for tid in order}
    outcomes: dict[str, dict[str, Any]] = {}
    returned: dict[str, Any] = {}  # what each completed task returned (its outcome as JSON)
    running: dict[str, PrefectFuture[Any]] = {}
    halted: str | None = None
    parallel = workflow.config.parallel_execution

    downstream: dict[str, set[str]] = {tid: set() for tid in order}
    for tid, task_ups in ups.items():
        for u in task_ups:
            downstream[u].add(tid)
    touched: set[str] = set()  # tasks whose upstream changed state since the last pass
    submitted: dict[str, float] = {}
    completions = _Completions()
    agent_of = {t.id: t.agent for t in workflow.tasks}
    first_pass = True

    watch.start()
    tracker.started()

    # Bookkeeping of a finished task: its summary, metrics and progress. (Deferring it
    # until the tasks it unblocks were submitted gained nothing on a chain: the GIL makes
    # the flow thread's work and the next task's engine take turns either way.)
    def completed(done_id: str, out: dict[str, Any], seconds: float) -> None:
        summaries[done_id] = trusted(
            TaskSummary,  # from our own TaskOutcome
            state="completed",
            agent_id=out["agent_id"],
            agent_version=out["agent_version"],
            summary=out["summary"],
            error=None,
            error_type=None,
            attempts=out["attempt"],
            duration_s=out["duration_s"],
            input_digest=out["input_digest"],
            output_digest=out["output_digest"],
            artifacts=out["artifacts"],
        )
        metrics.observe_task(done_id, agent_of[done_id], "completed", seconds)
        tracker.task_done(done_id, "completed", str(out["summary"]))

    def failed(
        done_id: str, fut: PrefectFuture[Any], exc: BaseException | None, message: str, kind: str
    ) -> None:
        summaries[done_id] = TaskSummary(
            state="failed",
            error=_clip(message),
            error_type=kind,
            attempts=getattr(exc, "dora_attempt", None) or _attempts(fut),
        )
        metrics.observe_task(
            done_id, agent_of[done_id], "failed", time.monotonic() - submitted[done_id]
        )
        metrics.count_agent_error(agent_of[done_id], kind)
        tracker.task_done(done_id, "failed", message)

    try:
        # insertion-ordered, so tasks are considered in definition order; O(1) removal
        pending = dict.fromkeys(order)
        position = {tid: i for i, tid in enumerate(order)}
        while pending or running:
            if halted is None:
                # Only tasks downstream of what just finished can change: re-checking every
                # pending task on each pass made a 100-task chain quadratic.
                candidates = (
                    list(pending)
                    if first_pass
                    else sorted(touched & pending.keys(), key=position.__getitem__)
                )
                first_pass = False
                touched.clear()
                ready = [
                    t for t in candidates if all(view.states.get(u) == "completed" for u in ups[t])
                ]
                if not parallel:
                    held = ready[1:] if not running else ready
                    touched.update(held)  # still ready: look at them again next pass
                    ready = ready[:1] if not running else []
                for tid in ready:
                    del pending[tid]
                    _set(view, tid, "running")
                    tracker.task_started(tid)
                    submitted[tid] = time.monotonic()
                    running[tid] = tasks[tid].submit(
                        # The upstream outcomes themselves, not their futures: a future
                        # is resolved in the task run through Prefect's sync bridge
                        # (state.result() hops to its event-loop thread: ~0.7 ms per
                        # upstream, bench/overhead.py). Prefect still records the edges
                        # (the UI's graph): it recognises the very objects tasks returned.
                        upstream={u: returned[u] for u in ups[tid]},
                        params={k: v for k, v in params.items() if k in wanted[tid]},
                    )
                    completions.watch(tid, running[tid])
                blocked = [
                    t
                    for t in candidates
                    if any(view.states.get(u) in ("failed", "skipped") for u in ups[t])
                ]
                for tid in blocked:
                    del pending[tid]
                    _set(view, tid, "skipped")
                    summaries[tid].state = "skipped"
                    failed_up = [u for u in ups[tid] if view.states.get(u) in ("failed", "skipped")]
                    why = f"not run: upstream {', '.join(failed_up)} did not complete"
                    summaries[tid].error = why
                    tracker.task_done(tid, "skipped", why)
                    touched.update(downstream[tid])
            else:
                for tid in pending:
                    _set(view, tid, "skipped")
                    summaries[tid].state = "skipped"
                    summaries[tid].error = f"not run: the workflow halted ({halted})"
                pending.clear()
            if not running:
                if (
                    pending
                    and halted is None
                    and not touched
                    and not any(
                        all(view.states.get(u) == "completed" for u in ups[t]) for t in pending
                    )
                ):
                    break  # nothing can make progress (defensive; load-time checks prevent it)
                continue
            for done_id, fut in completions.finished(running):
                del running[done_id]
                fut.wait()  # sets the future's final state from the task's own result
                state = fut.state
                if state.is_completed():
                    returned[done_id], out = _completed_value(state, fut)
                    outcomes[done_id] = out
                    with view.lock:
                        view.outputs[done_id] = out["outputs"]
                    _set(view, done_id, "completed")
                    touched.update(downstream[done_id])
                    completed(done_id, out, time.monotonic() - submitted[done_id])
                else:
                    exc = state.result(raise_on_failure=False)
                    exc = exc if isinstance(exc, BaseException) else None
                    kind = error_type_of(exc)
                    message = str(exc) if exc else (state.message or state.name or "failed")
                    _set(view, done_id, "failed")
                    touched.update(downstream[done_id])
                    failed(done_id, fut, exc, message, kind)
                    policy = workflow.policy_for(kind)
                    if isinstance(policy, HaltPolicy):
                        halted = f"task {done_id!r} failed with {kind}"
                        _emit_halt(workflow, run_id, done_id, kind, message, policy)
            try:
                router.check()  # a fired require_approval rule waits here for the approvers
            except ApprovalError as exc:
                halted = halted or str(exc)  # rejected or expired: schedule nothing more
    finally:
        watch.stop()
        tracker.close()
    try:
        router.check(final=True)
    except ApprovalError as exc:
        halted = halted or str(exc)

    activation = view.activation()
    criteria = check_success(workflow, activation)
    failed_required = [c for c in criteria if c.required and not c.passed]
    warnings = [
        f"optional criterion not met: {c.condition}" + (f" ({c.error})" if c.error else "")
        for c in criteria
        if not c.required and not c.passed
    ]
    failed_tasks = [t for t, s in summaries.items() if s.state == "failed"]
    if halted:
        message = f"halted: {halted}"
    elif failed_tasks:
        message = "task(s) failed: " + ", ".join(
            f"{t} ({summaries[t].error_type})" for t in failed_tasks
        )
    elif failed_required:
        message = "required success criteria not met: " + "; ".join(
            c.condition + (f" ({c.error})" if c.error else f" (read {_fmt(c.values)})")
            for c in failed_required
        )
    else:
        message = f"all {len(order)} tasks completed; all required success criteria met"
    ok = not halted and not failed_tasks and not failed_required
    result = WorkflowRunResult(
        workflow_id=workflow.id,
        workflow_version=workflow.version,
        definition_hash=loaded.content_hash,
        flow_run_id=run_id,
        state="completed" if ok else "failed",
        message=message,
        output_dir=str(out_dir),
        tasks=summaries,
        decisions=router.decisions,
        criteria=criteria,
        warnings=warnings,
        outputs={tid: o["outputs"] for tid, o in outcomes.items()},
        approvals=[o.model_dump(mode="json") for o in approvals_for(run_id)],
    )
    metrics.count_run(result.state)
    progress.write_summary(result, workflow)
    tracker.finished(result)
    data = result.model_dump(mode="json")
    if ok:
        return Completed(
            message=message + (f"; {len(warnings)} warning(s)" if warnings else ""), data=data
        )
    return Failed(message=message, data=data)


def run_context(
    loaded: LoadedDefinition, run_id: str | None, upstream: dict[str, dict[str, Any]] | None = None
) -> RunContext:
    """What an agent may know about its run; provenance covers the tasks it reads."""
    workflow = loaded.workflow
    agents = {
        tid: {"agent_id": out.get("agent_id"), "version": out.get("agent_version")}
        for tid, out in (upstream or {}).items()
    }
    return trusted(
        RunContext,  # engine-made values: no validation per task
        workflow_id=workflow.id,
        workflow_version=workflow.version,
        definition_hash=loaded.content_hash,
        flow_run_id=run_id,
        output_dir=output_dir(workflow.id, run_id),
        provenance={
            "definition_path": str(loaded.path),
            "definition_version": workflow.version,
            "definition_hash": loaded.content_hash,
            "agents": agents,
        },
    )


def output_dir(workflow_id: str, run_id: str | None) -> Path:
    return _output_dir(str(get_settings().reports_dir), workflow_id, run_id)


@functools.lru_cache(maxsize=256)
def _output_dir(reports_dir: str, workflow_id: str, run_id: str | None) -> Path:
    # every task of a run asks; building the Path each time was a visible share of the
    # per-task cost of a no-op agent (bench/overhead.py)
    return Path(reports_dir) / workflow_id / (run_id or "local")


def _set(view: RunView, tid: str, state: Any) -> None:
    with view.lock:
        view.states[tid] = state


class _Completions:
    """Task ids in the order their runs finish, without re-arming a wait per completion.

    Each thread-pool future underneath a Prefect future gets one done-callback that queues
    its task id, so the flow thread blocks on one queue instead of calling
    ``concurrent.futures.wait`` over every running future after each completion (quadratic
    in a wide fan-out) or Prefect's ``as_completed`` (tens of milliseconds per task on a
    chain); both measured with bench/overhead.py. Other task runners fall back to
    Prefect's ``as_completed``.
    """

    def __init__(self) -> None:
        self._done: queue.SimpleQueue[str] = queue.SimpleQueue()

    def watch(self, task_id: str, fut: PrefectFuture[Any]) -> None:
        inner = getattr(fut, "wrapped_future", None)
        if isinstance(inner, concurrent.futures.Future):
            inner.add_done_callback(lambda _f: self._done.put(task_id))

    def finished(
        self, running: dict[str, PrefectFuture[Any]]
    ) -> list[tuple[str, PrefectFuture[Any]]]:
        """Every running task that has finished (at least one), in definition order."""
        if any(
            not isinstance(getattr(f, "wrapped_future", None), concurrent.futures.Future)
            for f in running.values()
        ):
            for done in as_completed(list(running.values())):
                return [next((t, f) for t, f in running.items() if f is done)]
            raise RuntimeError("no running task")  # pragma: no cover
        ids = {self._done.get()}
        while True:
            try:
                ids.add(self._done.get_nowait())
            except queue.Empty:
                break
        return [(tid, fut) for tid, fut in running.items() if tid in ids]


def _completed_value(state: State, fut: PrefectFuture[Any]) -> tuple[Any, dict[str, Any]]:
    """(the object the task returned, the outcome it encodes), straight from the in-memory
    result record when there is one.

    ``future.result()`` goes through Prefect's sync/async bridge on every call; on a chain
    of short tasks that bridge was a measurable share of the per-task overhead.
    """
    data = getattr(state, "data", None)
    value = getattr(data, "result", None)
    if not isinstance(value, str):
        value = fut.result()
    outcome = json.loads(value) if isinstance(value, str) else value
    assert isinstance(outcome, dict)
    return value, outcome


def _attempts(fut: PrefectFuture[Any]) -> int:
    try:
        from prefect import get_client

        with get_client(sync_client=True) as client:
            return int(client.read_task_run(fut.task_run_id).run_count)
    except Exception:
        return 0


def _clip(text: str, n: int = 500) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def _fmt(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in values.items()) or "nothing"


def _related(run_id: str | None) -> list[dict[str, str]]:
    return (
        [{"prefect.resource.id": f"prefect.flow-run.{run_id}", "prefect.resource.role": "flow-run"}]
        if run_id
        else []
    )


def _on_decision(
    workflow: Workflow, run_id: str | None, decision: Decision, rule: RoutingRule
) -> None:
    from prefect.events import emit_event

    who = decision.target or ",".join(decision.approvers or decision.recipients)
    log.info(
        "routing rule %d (%s) %s: %s read %s",
        decision.rule,
        decision.action,
        "FIRED" if decision.fired else "not fired",
        decision.condition,
        _fmt(decision.values),
    )
    emit_event(
        event=f"dora.routing.{decision.action}",
        resource={
            "prefect.resource.id": f"dora.workflow.{workflow.id}.rule.{decision.rule}",
            "prefect.resource.name": f"{workflow.id} routing rule {decision.rule}",
            "dora.workflow": workflow.id,
            "dora.action": decision.action,
            "dora.fired": "true" if decision.fired else "false",
            "dora.who": who,
        },
        related=_related(run_id),
        payload=decision.model_dump(mode="json"),
    )
    recorder = get_recorder() if workflow.config.audit_enabled else None
    if recorder is not None and run_id:
        # thread-safe: the duration watch thread records its decisions too
        recorder.routing_decided(
            workflow.id,
            run_id,
            rule=str(decision.rule),
            condition=decision.condition,
            values=decision.values,
            matched=decision.fired,
            actions=[decision.action],
        )
    if decision.fired and isinstance(rule, RequireApprovalRule):
        from prefect.context import FlowRunContext

        if FlowRunContext.get() is None:
            # rules on workflow.duration alone fire in the watch thread, which cannot pause the run
            log.warning(
                "require_approval rule %d fired outside the flow thread; recorded only",
                decision.rule,
            )
            return
        handle_require_approval(workflow, run_id, decision, rule)  # blocks; raises if rejected


def _emit_halt(
    workflow: Workflow,
    run_id: str | None,
    task_id: str,
    kind: str,
    message: str,
    policy: HaltPolicy,
) -> None:
    from prefect.events import emit_event

    recorder = get_recorder() if workflow.config.audit_enabled else None
    if recorder is not None and run_id:
        recorder.state_transition(
            workflow.id,
            run_id,
            entity=f"task:{task_id}",
            from_state="Failed",
            to_state="Halted",
            message=f"{kind}: {_clip(message, 200)}",
        )
    log.error(
        "workflow %s halted: task %s failed with %s; notifying %s",
        workflow.id,
        task_id,
        kind,
        ", ".join(policy.notify) or "nobody",
    )
    emit_event(
        event="dora.workflow.halted",
        resource={
            "prefect.resource.id": f"dora.workflow.{workflow.id}",
            "dora.workflow": workflow.id,
            "dora.error_type": kind,
            "dora.notify": ",".join(policy.notify),
        },
        related=_related(run_id),
        payload={
            "task_id": task_id,
            "error_type": kind,
            "message": _clip(message),
            "notify": policy.notify,
        },
    )


def task_priority(workflow: Workflow, tid: str) -> int:
    return PRIORITY_ORDER[workflow.task(tid).config.priority]
