"""The compiled shape of a definition: dependency levels, order and Prefect options.

Pure functions over a validated ``Workflow`` (no Prefect imports), shared by the flow
factory (what to run) and ``dora plan`` (what would run), so the plan a user reviews is
the plan that executes.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from dora.definition.conditions import parse_condition
from dora.definition.models import (
    AggregatedInput,
    AlertRule,
    EscalateRule,
    ExternalInput,
    FromTaskInput,
    HaltPolicy,
    ParameterInput,
    QueuePolicy,
    RequireApprovalRule,
    RetryPolicy,
    Workflow,
)
from tasks.policy import retry_options

PRIORITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def upstream_of(workflow: Workflow, task_id: str) -> list[str]:
    """Direct upstream tasks: ``depends_on`` plus tasks read by inputs (deduplicated, ordered)."""
    t = workflow.task(task_id)
    ups = list(t.depends_on)
    for inp in t.inputs:
        if isinstance(inp, FromTaskInput):
            ups.append(inp.from_task)
        elif isinstance(inp, AggregatedInput):
            ups.extend(inp.sources)
    return list(dict.fromkeys(ups))


def levels(workflow: Workflow) -> list[list[str]]:
    """Tasks grouped by depth; tasks of one level can run at the same time."""
    depth: dict[str, int] = {}
    order = {t.id: i for i, t in enumerate(workflow.tasks)}
    remaining = [t.id for t in workflow.tasks]
    while remaining:
        progressed = False
        for tid in list(remaining):
            ups = upstream_of(workflow, tid)
            if all(u in depth for u in ups):
                depth[tid] = 1 + max((depth[u] for u in ups), default=-1)
                remaining.remove(tid)
                progressed = True
        if not progressed:  # cycles are rejected at load time; guard anyway
            raise ValueError(f"dependency cycle among {remaining}")
    out: list[list[str]] = [[] for _ in range(max(depth.values()) + 1)] if depth else []
    for tid, d in depth.items():
        out[d].append(tid)
    for lvl in out:
        lvl.sort(key=lambda tid: (PRIORITY_ORDER[workflow.task(tid).config.priority], order[tid]))
    return out


def execution_order(workflow: Workflow) -> list[str]:
    return [tid for lvl in levels(workflow) for tid in lvl]


class ParameterSpec(BaseModel):
    name: str
    type: str
    required: bool
    default: Any = None
    used_by: list[str] = Field(default_factory=list)
    description: str = ""


def parameters(workflow: Workflow) -> list[ParameterSpec]:
    """Run parameters: every parameter input, plus an override for each external source."""
    specs: dict[str, ParameterSpec] = {}
    for t in workflow.tasks:
        for inp in t.inputs:
            if isinstance(inp, ParameterInput):
                spec = specs.setdefault(
                    inp.name,
                    ParameterSpec(
                        name=inp.name,
                        type=inp.type,
                        required=inp.required and inp.default is None,
                        default=inp.default,
                        description=inp.description,
                    ),
                )
                spec.used_by.append(t.id)
            elif isinstance(inp, ExternalInput):
                spec = specs.setdefault(
                    inp.name,
                    ParameterSpec(
                        name=inp.name,
                        type="external_api",
                        required=False,
                        default=None,
                        description=inp.description
                        or f"path or URL overriding source {inp.source!r}",
                    ),
                )
                spec.used_by.append(t.id)
    return list(specs.values())


class TaskPlan(BaseModel):
    id: str
    name: str
    agent: str
    level: int
    upstream: list[str]
    priority: str
    timeout_s: int | None
    retries: int
    retry_delays_s: list[float]
    resources: dict[str, Any]
    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]


class RulePlan(BaseModel):
    index: int
    condition: str
    action: str
    evaluated: str
    who: list[str]
    automation: str


class Plan(BaseModel):
    workflow_id: str
    name: str
    version: str
    definition_hash: str
    flow_name: str
    flow_version: str
    timeout_s: int
    parallel_execution: bool
    parameters: list[ParameterSpec]
    levels: list[list[str]]
    tasks: list[TaskPlan]
    routing: list[RulePlan]
    error_handling: list[dict[str, Any]]
    success_criteria: list[dict[str, Any]]
    triggers: list[dict[str, Any]]


def build_plan(workflow: Workflow, content_hash: str) -> Plan:
    lvls = levels(workflow)
    level_of = {tid: i for i, lvl in enumerate(lvls) for tid in lvl}
    opts = retry_options(workflow)
    tasks = [
        TaskPlan(
            id=t.id,
            name=t.name,
            agent=t.agent,
            level=level_of[t.id],
            upstream=upstream_of(workflow, t.id),
            priority=t.config.priority,
            timeout_s=t.config.timeout,
            retries=opts.retries,
            retry_delays_s=opts.delays,
            resources=t.config.resources.model_dump(),
            inputs=[i.model_dump(exclude_defaults=True) for i in t.inputs],
            outputs=[o.model_dump(exclude_defaults=True) for o in t.outputs],
        )
        for t in sorted(
            workflow.tasks, key=lambda t: (level_of[t.id], PRIORITY_ORDER[t.config.priority])
        )
    ]
    rules = []
    for i, r in enumerate(workflow.routing):
        cond = parse_condition(r.condition)
        when = (
            "every few seconds while running, and at the end"
            if cond.reads_duration and not cond.task_ids
            else f"when {', '.join(sorted(cond.task_ids)) or 'the run'} finished"
        )
        if isinstance(r, EscalateRule):
            who, automation = (
                [r.target],
                f"notify {r.target} on event dora.routing.escalate (rule {i})",
            )
        elif isinstance(r, RequireApprovalRule):
            who, automation = (
                list(r.approvers),
                f"suspend the run until {', '.join(r.approvers)} approve",
            )
        else:
            assert isinstance(r, AlertRule)
            who = list(r.recipients)
            automation = f"notify {', '.join(r.recipients)} on event dora.routing.alert (rule {i})"
        rules.append(
            RulePlan(
                index=i,
                condition=r.condition,
                action=r.action,
                evaluated=when,
                who=who,
                automation=automation,
            )
        )
    eh = []
    for p in workflow.error_handling:
        d = p.model_dump()
        if isinstance(p, RetryPolicy):
            d["effect"] = (
                f"retry up to {p.max_attempts} attempts, {p.backoff} backoff from {p.base_delay_seconds}s"
            )
        elif isinstance(p, QueuePolicy):
            d["effect"] = f"wait for the resource ({p.wait_strategy}) up to {p.max_wait_seconds}s"
        elif isinstance(p, HaltPolicy):
            d["effect"] = f"fail the run at once, notify {', '.join(p.notify) or 'nobody'}"
        eh.append(d)
    return Plan(
        workflow_id=workflow.id,
        name=workflow.name,
        version=workflow.version,
        definition_hash=content_hash,
        flow_name=workflow.id,
        flow_version=f"{workflow.version}+{content_hash[:12]}",
        timeout_s=workflow.config.timeout,
        parallel_execution=workflow.config.parallel_execution,
        parameters=parameters(workflow),
        levels=lvls,
        tasks=tasks,
        routing=rules,
        error_handling=eh,
        success_criteria=[c.model_dump() for c in workflow.success_criteria],
        triggers=[t.model_dump() for t in workflow.triggers],
    )
