"""Routing rules and success criteria, evaluated while a run is in progress.

A routing rule is evaluated once, as soon as every task output it reads exists (rules
on ``workflow.duration`` are checked periodically while the run is going and once at the
end). Each evaluation becomes a :class:`Decision` recording the rule, the values it
read and the result; a decision that fires is emitted as a Prefect event whose *labels*
carry the action, because Prefect automation triggers can match labels but not payloads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from dora.definition.conditions import (
    ConditionEvalError,
    Reference,
    parse_condition,
)
from dora.definition.models import (
    AlertRule,
    EscalateRule,
    RequireApprovalRule,
    RoutingRule,
    Workflow,
)

TaskState = Literal["pending", "running", "completed", "failed", "skipped"]


class Decision(BaseModel):
    """One evaluation of one routing rule: what it read and what it decided."""

    rule: int
    action: str
    condition: str
    values: dict[str, Any]
    fired: bool
    error: str | None = None
    target: str | None = None
    approvers: list[str] = Field(default_factory=list)
    recipients: list[str] = Field(default_factory=list)
    evaluated_at: datetime


class CriterionResult(BaseModel):
    condition: str
    required: bool
    passed: bool
    values: dict[str, Any]
    error: str | None = None


def _lookup(data: Any, parts: tuple[str, ...]) -> Any:
    node = data
    for p in parts:
        if isinstance(node, dict) and p in node:
            node = node[p]
        else:
            return None
    return node


@dataclass
class RunView:
    """Everything conditions can read about the run so far (thread-safe snapshot source)."""

    workflow: Workflow
    agent_facts: dict[str, tuple[str, ...]]
    started: float = field(default_factory=time.monotonic)
    states: dict[str, TaskState] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def activation(self) -> dict[str, Any]:
        with self.lock:
            wf = self.workflow
            tasks = {
                t.id: {
                    "outputs": dict(self.outputs.get(t.id, {})),
                    "state": self.states.get(t.id, "pending"),
                }
                for t in wf.tasks
            }
            data: dict[str, Any] = {
                "task": tasks,
                "workflow": {
                    "id": wf.id,
                    "version": wf.version,
                    "duration": time.monotonic() - self.started,
                },
                "all_tasks_completed": all(self.states.get(t.id) == "completed" for t in wf.tasks),
                "failed_tasks": sum(1 for s in self.states.values() if s == "failed"),
            }
            owners: dict[str, list[str]] = {}
            for t in wf.tasks:
                for o in t.outputs:
                    owners.setdefault(o.name, []).append(t.id)
            for name, ids in owners.items():
                if len(ids) == 1 and name in self.outputs.get(ids[0], {}):
                    data[name] = self.outputs[ids[0]][name]
            # facts agents publish: a top-level key of one of their outputs
            for t in wf.tasks:
                for fact in self.agent_facts.get(t.agent, ()):
                    for value in self.outputs.get(t.id, {}).values():
                        if isinstance(value, dict) and fact in value:
                            data[fact] = value[fact]
            return data


def values_read(refs: list[Reference], activation: dict[str, Any]) -> dict[str, Any]:
    """The values a condition read, for the record (large structures are summarised)."""
    out: dict[str, Any] = {}
    for ref in refs:
        value = _lookup(activation, ref.parts)
        if isinstance(value, dict | list):
            value = f"<{type(value).__name__} of {len(value)}>"
        out[str(ref)] = value
    return out


def evaluate(condition: str, activation: dict[str, Any]) -> tuple[bool, dict[str, Any], str | None]:
    cond = parse_condition(condition)
    read = values_read(cond.references, activation)
    try:
        result = cond.evaluate(activation)
    except ConditionEvalError as exc:
        return False, read, str(exc)
    if not isinstance(result, bool):
        return False, read, f"condition gave {type(result).__name__} {result!r}, not true/false"
    return result, read, None


class Router:
    """Evaluates each routing rule once, when it can be, and reports decisions."""

    def __init__(self, view: RunView, on_decision: Callable[[Decision, RoutingRule], None]) -> None:
        self.view = view
        self.on_decision = on_decision
        self.done: set[int] = set()
        self.decisions: list[Decision] = []
        self._lock = threading.Lock()

    def _ready(self, rule: RoutingRule, final: bool) -> bool:
        cond = parse_condition(rule.condition)
        needed = cond.task_ids
        finished = {
            tid for tid, s in self.view.states.items() if s in ("completed", "failed", "skipped")
        }
        if cond.reads_duration and not needed:
            return True  # periodic rules: checked each tick until they fire, and at the end
        return final or needed <= finished

    def check(self, final: bool = False) -> list[Decision]:
        fired: list[Decision] = []
        if len(self.done) == len(self.view.workflow.routing):
            return fired  # nothing left to decide; skip building the activation
        with self._lock:
            activation = self.view.activation()
            for i, rule in enumerate(self.view.workflow.routing):
                if i in self.done or not self._ready(rule, final):
                    continue
                ok, read, error = evaluate(rule.condition, activation)
                periodic = (
                    parse_condition(rule.condition).reads_duration
                    and not parse_condition(rule.condition).task_ids
                )
                if periodic and not ok and not final:
                    continue  # not yet; look again on the next tick
                self.done.add(i)
                decision = Decision(
                    rule=i,
                    action=rule.action,
                    condition=rule.condition,
                    values=read,
                    fired=ok,
                    error=error,
                    evaluated_at=datetime.now(UTC),
                    target=rule.target if isinstance(rule, EscalateRule) else None,
                    approvers=list(rule.approvers) if isinstance(rule, RequireApprovalRule) else [],
                    recipients=list(rule.recipients) if isinstance(rule, AlertRule) else [],
                )
                self.decisions.append(decision)
                fired.append(decision)
        for d in fired:
            self.on_decision(d, self.view.workflow.routing[d.rule])
        return fired


class DurationWatch:
    """Background ticker so ``workflow.duration`` rules fire while the run is still going."""

    def __init__(self, router: Router, interval_s: float) -> None:
        self.router = router
        self.interval = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if not any(
            parse_condition(r.condition).reads_duration for r in self.router.view.workflow.routing
        ):
            return
        self._thread = threading.Thread(target=self._loop, name="dora-duration-watch", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.router.check()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def check_success(workflow: Workflow, activation: dict[str, Any]) -> list[CriterionResult]:
    out = []
    for crit in workflow.success_criteria:
        ok, read, error = evaluate(crit.condition, activation)
        out.append(
            CriterionResult(
                condition=crit.condition,
                required=crit.required,
                passed=ok,
                values=read,
                error=error,
            )
        )
    return out
