"""Implementation planner: a dated, dependency-aware remediation plan for the open gaps.

A gap list is not a plan. Compliance officers need to know who does what, in which order,
by when, and which actions decide the end date. This agent builds that deterministically
from the gaps and the risk figures, so two runs on the same inputs and start date produce
the same plan (the start date defaults to today only when none is given).

How the plan is built:

1. *One action per gap* (``ACT-<requirement id>``) with an owner role by topic (the
   management body for Art. 5, Head of ICT Risk for the framework, CISO for protection,
   detection, incident handling and testing, BCM Officer for continuity, backup and crisis
   communication, Head of Procurement for third-party risk) and an effort in person-days:
   critical 20, high 15, medium 10, low 5, halved for a partly covered requirement
   (something exists to build on), times ``effort_scale`` (default 1).
2. *Dependencies* follow the order in which the regulation builds on itself. Each action
   has a remediation topic (:func:`topic_of`) and each topic has prerequisite topics
   (:data:`TOPIC_PARENTS`): the management body's approval (Art. 5) precedes the
   framework (Art. 6, RTS 2024/1774 Arts 2-3) and the incident, testing and third-party
   programmes; the framework precedes asset identification (Art. 8), the BC policy
   (Art. 11) and its yearly review (Art. 6(5)); asset identification precedes the
   protection and detection controls (Arts 9-10, RTS controls); the incident process
   (Art. 17) precedes classification (Art. 18), which precedes reporting (Art. 19); the
   testing programme (Art. 24) precedes specific tests (Arts 25-27); the third-party
   strategy (Art. 28(2)) precedes the register of information (Art. 28(3)), which precedes
   contract remediation (Arts 29-30) and exit strategies (Art. 28(8)). A prerequisite
   topic with no open gap is skipped over to its own prerequisites.
3. *Priority* is risk reduction per effort: the gap's expected annual loss from
   ``RiskMetrics`` divided by person-days (EUR per person-day, ``priority_score``). For
   scheduling, an action inherits the highest priority of anything that depends on it, so
   a cheap prerequisite never starves valuable work behind it.
4. *Schedule.* Serial list scheduling over working days (Mon-Fri) against
   ``capacity_days_per_week`` person-days (default 10), each action absorbing at most
   ``staff_per_action`` person-days per day (default 1). Each day, actions already started
   continue first, then ready actions (all prerequisites finished on an earlier day) start
   in priority order while capacity lasts.
5. *Critical path*: the longest path through the dependency DAG by action duration
   (``ceil(effort / staff_per_action)`` working days), i.e. the chain that bounds the
   end date even with unlimited capacity. Milestones: critical gaps closed, all high gaps
   closed, plan complete (plus "governance foundations in place" when there are
   governance actions).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from agents.base import SimpleAgent, TaskExecution, TaskResult
from agents.contracts import (
    Gap,
    GapsReport,
    ImplementationPlan,
    Milestone,
    PlanAction,
    RiskMetrics,
    Timeline,
)
from agents.financial_data import parse_input
from dora.errors import DataValidationError

__all__ = [
    "ImplementationPlannerAgent",
    "build_plan",
    "critical_path",
    "dependencies",
    "owner_role",
    "schedule",
    "topic_of",
]

DEFAULT_CAPACITY_DAYS_PER_WEEK = 10.0
DEFAULT_STAFF_PER_ACTION = 1.0
EFFORT_BY_SEVERITY: dict[str, float] = {"critical": 20.0, "high": 15.0, "medium": 10.0, "low": 5.0}
PARTIAL_EFFORT_FACTOR = 0.5
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}
_EPS = 1e-9

_REF = re.compile(
    r"^\s*(?P<act>DORA|RTS\s*\d{4}/\d+|ITS\s*\d{4}/\d+)\s*Art\.?\s*(?P<art>\d+)"
    r"(?:\((?P<para>\d+)\))?",
    re.IGNORECASE,
)


def parse_reference(reference: str) -> tuple[str, int | None, int | None]:
    """``"DORA Art. 28(3)"`` -> ``("DORA", 28, 3)``; unknown shapes -> ``(text, None, None)``."""
    match = _REF.match(reference)
    if not match:
        return (reference.strip(), None, None)
    act = "DORA" if match["act"].upper() == "DORA" else re.sub(r"\s+", " ", match["act"].upper())
    para = int(match["para"]) if match["para"] else None
    return (act, int(match["art"]), para)


#: remediation topics and the topics that must be in place first (see the module docstring)
TOPIC_PARENTS: dict[str, tuple[str, ...]] = {
    "governance": (),
    "framework": ("governance",),
    "framework_review": ("framework",),
    "assets": ("framework",),
    "continuity": ("framework",),
    "continuity_testing": ("continuity",),
    "protection": ("assets",),
    "backup_recovery": ("continuity", "assets"),
    "learning_communication": ("framework",),
    "incident_process": ("governance",),
    "incident_classification": ("incident_process",),
    "incident_reporting": ("incident_classification",),
    "testing_programme": ("governance",),
    "specific_testing": ("testing_programme",),
    "third_party_strategy": ("governance",),
    "register_of_information": ("third_party_strategy",),
    "third_party_contracts": ("register_of_information",),
    "exit_strategies": ("register_of_information",),
    "information_sharing": ("governance",),
    "other": ("governance",),
}
GOVERNANCE_TOPICS = frozenset({"governance", "framework"})

_DORA_TOPICS: dict[int, str] = {
    5: "governance",
    6: "framework",
    7: "assets",
    8: "assets",
    9: "protection",
    10: "protection",
    11: "continuity",
    12: "backup_recovery",
    13: "learning_communication",
    14: "learning_communication",
    15: "framework",
    16: "framework",
    17: "incident_process",
    18: "incident_classification",
    24: "testing_programme",
    25: "specific_testing",
    26: "specific_testing",
    27: "specific_testing",
    29: "third_party_contracts",
    30: "third_party_contracts",
    45: "information_sharing",
}
_RTS_1774_TOPICS: dict[int, str] = {
    **{a: "framework" for a in (1, 2, 3, 28, 29)},
    **{a: "assets" for a in (4, 5, 30)},
    **{a: "incident_process" for a in (22, 23)},
    24: "continuity",
    25: "continuity_testing",
    26: "backup_recovery",
    39: "continuity",
    40: "continuity_testing",
    27: "framework_review",
    41: "framework_review",
}


def topic_of(reference: str) -> str:
    """The remediation topic of a legal reference (a key of :data:`TOPIC_PARENTS`)."""
    act, art, para = parse_reference(reference)
    if art is None:
        return "other"
    if act == "DORA":
        if art == 6 and para == 5:
            return "framework_review"
        if art == 11 and para == 6:
            return "continuity_testing"
        if 19 <= art <= 23:
            return "incident_reporting"
        if art == 28:
            if para == 3:
                return "register_of_information"
            if para in (7, 8):
                return "exit_strategies"
            if para in (4, 5, 6, 9):
                return "third_party_contracts"
            return "third_party_strategy"
        return _DORA_TOPICS.get(art, "other")
    if act.startswith("RTS 2024/1774"):
        return _RTS_1774_TOPICS.get(art, "protection")
    return "other"


def owner_role(gap: Gap) -> str:
    """Who is accountable for closing the gap, by DORA chapter and article."""
    act, art, _ = parse_reference(gap.reference)
    if act == "DORA" and art == 5:
        return "Management body (prepared by the Head of ICT Risk)"
    continuity = {11, 12, 14} if act == "DORA" else {24, 25, 26, 39, 40}
    security = {9, 10, 13} if act == "DORA" else set(range(6, 24)) | set(range(33, 39))
    if gap.chapter == "V":
        return "Head of Procurement / Third-Party Risk"
    if gap.chapter in ("III", "IV", "VI"):
        return "CISO"
    if art in continuity:
        return "BCM Officer"
    if art in security:
        return "CISO"
    return "Head of ICT Risk"


def effort_days(gap: Gap, scale: float = 1.0) -> float:
    """Person-days: by severity, halved for partial coverage, rounded to half days."""
    base = EFFORT_BY_SEVERITY[gap.severity]
    if gap.coverage == "partial":
        base *= PARTIAL_EFFORT_FACTOR
    return max(1.0, round(base * scale * 2) / 2)


# ---------------------------------------------------------------- graph algorithms
def _topological_order(ids: list[str], deps: Mapping[str, list[str]]) -> list[str]:
    """Kahn's algorithm, smallest id first among ready nodes, so the order is stable."""
    known = set(ids)
    for node in ids:
        for dep in deps.get(node, []):
            if dep not in known:
                raise ValueError(f"action {node} depends on unknown action {dep}")
    indegree = {node: len(set(deps.get(node, []))) for node in ids}
    dependents: dict[str, list[str]] = defaultdict(list)
    for node in ids:
        for dep in set(deps.get(node, [])):
            dependents[dep].append(node)
    ready = sorted(node for node in ids if indegree[node] == 0)
    order: list[str] = []
    while ready:
        node = ready.pop(0)
        order.append(node)
        for nxt in sorted(dependents[node]):
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
                ready.sort()
    if len(order) != len(ids):
        cyclic = sorted(set(ids) - set(order))
        raise ValueError(f"dependency cycle among actions {cyclic}")
    return order


def critical_path(durations: Mapping[str, float], deps: Mapping[str, list[str]]) -> list[str]:
    """Longest path by total duration through the DAG, first action first.

    Ties are broken by the smallest id, so the result is deterministic. Raises
    ``ValueError`` on a cycle or a dependency on an unknown node.
    """
    ids = sorted(durations)
    if not ids:
        return []
    order = _topological_order(ids, deps)
    finish: dict[str, float] = {}
    previous: dict[str, str | None] = {}
    for node in order:
        best: str | None = None
        for dep in sorted(set(deps.get(node, []))):
            if best is None or finish[dep] > finish[best] + _EPS:
                best = dep
        finish[node] = durations[node] + (finish[best] if best is not None else 0.0)
        previous[node] = best
    longest = max(finish.values())
    last = min(n for n in ids if abs(finish[n] - longest) <= _EPS)
    path = [last]
    while (prev := previous[path[-1]]) is not None:
        path.append(prev)
    return list(reversed(path))


def next_working_day(day: date) -> date:
    """``day`` itself if it is Monday to Friday, else the following Monday."""
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _working_days_from(start: date) -> Any:
    day = next_working_day(start)
    while True:
        yield day
        day = next_working_day(day + timedelta(days=1))


@dataclass
class _Job:
    action_id: str
    effort: float
    deps: list[str]
    priority: float
    tie_break: tuple[Any, ...]
    remaining: float = field(init=False)
    start: date | None = None
    end: date | None = None

    def __post_init__(self) -> None:
        self.remaining = self.effort


def schedule(
    efforts: Mapping[str, float],
    deps: Mapping[str, list[str]],
    priority: Mapping[str, float],
    start: date,
    *,
    capacity_days_per_week: float,
    staff_per_action: float = DEFAULT_STAFF_PER_ACTION,
) -> dict[str, tuple[date, date]]:
    """List-schedule actions over working days; returns ``{id: (start, end)}`` (inclusive).

    Higher ``priority`` starts first among ready actions; ties go to the smaller id.
    """
    if capacity_days_per_week <= 0:
        raise ValueError("capacity_days_per_week must be positive")
    if staff_per_action <= 0:
        raise ValueError("staff_per_action must be positive")
    _topological_order(sorted(efforts), deps)  # validates: no cycles, no unknown deps
    daily = capacity_days_per_week / 5.0
    jobs = {
        aid: _Job(aid, effort, sorted(set(deps.get(aid, []))), priority.get(aid, 0.0), (aid,))
        for aid, effort in efforts.items()
    }
    started: list[str] = []  # in start order
    done: set[str] = set()
    for day in _working_days_from(start):
        if len(done) == len(jobs):
            break
        finished_before_today = set(done)
        capacity = daily
        ready = sorted(
            (
                j
                for j in jobs.values()
                if j.start is None and all(d in finished_before_today for d in j.deps)
            ),
            key=lambda j: (-j.priority, j.tie_break),
        )
        for job in [jobs[a] for a in started if jobs[a].end is None] + ready:
            if capacity <= _EPS:
                break
            work = min(staff_per_action, capacity, job.remaining)
            if job.start is None:
                job.start = day
                started.append(job.action_id)
            job.remaining -= work
            capacity -= work
            if job.remaining <= _EPS:
                job.end = day
                done.add(job.action_id)
    result: dict[str, tuple[date, date]] = {}
    for aid, job in jobs.items():
        assert job.start is not None and job.end is not None
        result[aid] = (job.start, job.end)
    return result


# ---------------------------------------------------------------- plan
def _ancestors(node: str, deps: Mapping[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    stack = list(deps.get(node, []))
    while stack:
        dep = stack.pop()
        if dep not in seen:
            seen.add(dep)
            stack.extend(deps.get(dep, []))
    return seen


def dependencies(topics: Mapping[str, str]) -> dict[str, list[str]]:
    """Action -> actions that must finish first, from :data:`TOPIC_PARENTS`.

    A parent topic with no action in the plan (it is already covered) is skipped over to
    its own parents, so the ordering holds across gaps that are not adjacent. The result
    is transitively reduced: an action does not list a prerequisite of its prerequisite.
    """
    by_topic: dict[str, list[str]] = defaultdict(list)
    for aid, topic in topics.items():
        by_topic[topic].append(aid)

    def resolve(topic: str) -> set[str]:
        if by_topic.get(topic):
            return set(by_topic[topic])
        found: set[str] = set()
        for parent in TOPIC_PARENTS.get(topic, ("governance",)):
            found |= resolve(parent)
        return found

    raw: dict[str, list[str]] = {}
    for aid, topic in topics.items():
        found: set[str] = set()
        for parent in TOPIC_PARENTS.get(topic, ("governance",)):
            found |= resolve(parent)
        raw[aid] = sorted(found - {aid})
    reduced: dict[str, list[str]] = {}
    for aid, direct in raw.items():
        implied: set[str] = set()
        for dep in direct:
            implied |= _ancestors(dep, raw)
        reduced[aid] = [d for d in direct if d not in implied]
    return reduced


def _inherited_priority(
    own: Mapping[str, float], deps: Mapping[str, list[str]]
) -> dict[str, float]:
    """Each action's priority is at least that of anything depending on it (transitively)."""
    order = _topological_order(sorted(own), deps)
    result = dict(own)
    for node in reversed(order):  # dependents come later in the order
        for dep in deps.get(node, []):
            result[dep] = max(result[dep], result[node])
    return result


def build_plan(
    gaps: GapsReport,
    risk: RiskMetrics | None,
    start: date,
    *,
    capacity_days_per_week: float = DEFAULT_CAPACITY_DAYS_PER_WEEK,
    staff_per_action: float = DEFAULT_STAFF_PER_ACTION,
    effort_scale: float = 1.0,
) -> tuple[ImplementationPlan, Timeline]:
    """The whole plan (module docstring, steps 1-5) for the given start date."""
    loss = {c.gap_id: c.expected_loss_eur for c in (risk.contributions if risk else [])}
    gap_by_action: dict[str, Gap] = {}
    for gap in gaps.gaps:
        aid = f"ACT-{gap.requirement_id}"
        if aid in gap_by_action:
            raise DataValidationError(f"two gaps for requirement {gap.requirement_id}")
        gap_by_action[aid] = gap
    topics = {aid: topic_of(g.reference) for aid, g in gap_by_action.items()}
    deps = dependencies(topics)
    efforts = {aid: effort_days(g, effort_scale) for aid, g in gap_by_action.items()}
    reduction = {aid: loss.get(g.gap_id, 0.0) for aid, g in gap_by_action.items()}
    own_priority = {aid: reduction[aid] / efforts[aid] for aid in gap_by_action}
    # severity breaks ties when there are no risk figures (or equal ones)
    sched_priority = {
        aid: p + (3 - SEVERITY_RANK[gap_by_action[aid].severity]) * 1e-6
        for aid, p in _inherited_priority(own_priority, deps).items()
    }
    first_day = next_working_day(start)
    dates = schedule(
        efforts,
        deps,
        sched_priority,
        first_day,
        capacity_days_per_week=capacity_days_per_week,
        staff_per_action=staff_per_action,
    )
    durations = {aid: float(math.ceil(e / staff_per_action - _EPS)) for aid, e in efforts.items()}
    path = critical_path(durations, deps)
    on_path = set(path)

    actions = []
    for aid, gap in gap_by_action.items():
        begin, end = dates[aid]
        actions.append(
            PlanAction(
                action_id=aid,
                gap_ids=[gap.gap_id],
                title=f"Close {gap.reference}: {gap.title}",
                description=(
                    f"{gap.recommendation} Sized at {efforts[aid]:g} person-days for a "
                    f"{gap.severity} {gap.coverage} gap."
                ),
                owner_role=owner_role(gap),
                effort_days=efforts[aid],
                depends_on=deps[aid],
                risk_reduction_eur=round(reduction[aid], 2),
                priority_score=round(own_priority[aid], 2),
                start=begin,
                end=end,
                on_critical_path=aid in on_path,
            )
        )
    actions.sort(key=lambda a: (a.start, -sched_priority[a.action_id], a.action_id))

    milestones: list[Milestone] = []

    def add_milestone(name: str, ids: list[str]) -> None:
        if ids:
            due = max(dates[a][1] for a in ids)
            milestones.append(Milestone(name=name, due=due, action_ids=sorted(ids)))

    governance = [a for a, topic in topics.items() if topic in GOVERNANCE_TOPICS]
    add_milestone("Governance foundations in place (Art. 5-6)", governance)
    add_milestone(
        "Critical gaps closed",
        [a for a, g in gap_by_action.items() if g.severity == "critical"],
    )
    add_milestone(
        "All high gaps closed",
        [a for a, g in gap_by_action.items() if g.severity in ("critical", "high")],
    )
    add_milestone("Plan complete", list(gap_by_action))
    milestones.sort(key=lambda m: (m.due, m.name))

    end_date = max((a.end for a in actions), default=first_day)
    plan = ImplementationPlan(
        actions=actions, critical_path=path, capacity_days_per_week=capacity_days_per_week
    )
    return plan, Timeline(start=first_day, end=end_date, milestones=milestones)


def _float_option(
    task: TaskExecution, settings: Mapping[str, Any], name: str, default: float
) -> float:
    raw = task.inputs.get(name, settings.get(name))
    if raw is None:
        return default
    try:
        value = float(raw)
    except (TypeError, ValueError) as exc:
        raise DataValidationError(f"input '{name}' must be a number, got {raw!r}") from exc
    if isinstance(raw, bool) or not math.isfinite(value) or value <= 0:
        raise DataValidationError(f"input '{name}' must be a positive number, got {raw!r}")
    return value


def _start_date(task: TaskExecution, settings: Mapping[str, Any]) -> date:
    raw = task.inputs.get("start_date", settings.get("start_date"))
    if raw is None:
        return date.today()
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw)[:10])
    except ValueError as exc:
        raise DataValidationError(
            f"input 'start_date' must be an ISO date (YYYY-MM-DD), got {raw!r}"
        ) from exc


class ImplementationPlannerAgent(SimpleAgent):
    """Schedules remediation of the gaps against capacity (see the module docstring)."""

    TYPE = "implementation_planner"
    CAPABILITIES = ("remediation_planning", "scheduling", "critical_path_analysis")
    version = "1.0.0"

    async def run(self, task: TaskExecution) -> TaskResult:
        gaps = parse_input(task.inputs, "gaps_data", GapsReport, task_id=task.task_id)
        risk = None
        if task.inputs.get("risk_data") is not None:
            risk = parse_input(task.inputs, "risk_data", RiskMetrics, task_id=task.task_id)
        capacity = _float_option(
            task, self.settings, "capacity_days_per_week", DEFAULT_CAPACITY_DAYS_PER_WEEK
        )
        staff = _float_option(task, self.settings, "staff_per_action", DEFAULT_STAFF_PER_ACTION)
        scale = _float_option(task, self.settings, "effort_scale", 1.0)
        plan, timeline = build_plan(
            gaps,
            risk,
            _start_date(task, self.settings),
            capacity_days_per_week=capacity,
            staff_per_action=staff,
            effort_scale=scale,
        )

        total_effort = sum(a.effort_days for a in plan.actions)
        summary = (
            f"{len(plan.actions)} actions, {total_effort:g} person-days at "
            f"{capacity:g} person-days/week: {timeline.start.isoformat()} to "
            f"{timeline.end.isoformat()}. Critical path: {len(plan.critical_path)} actions "
            f"({' -> '.join(plan.critical_path) or 'none'})."
        )
        if risk is None:
            summary += " No risk figures were given: actions are ordered by severity only."
        return TaskResult(
            outputs={
                "implementation_plan": plan.model_dump(mode="json"),
                "timeline": timeline.model_dump(mode="json"),
            },
            summary=summary,
            tables={
                "actions": [
                    {
                        "action": a.action_id,
                        "owner": a.owner_role,
                        "effort_days": a.effort_days,
                        "start": a.start.isoformat(),
                        "end": a.end.isoformat(),
                        "depends_on": ", ".join(a.depends_on),
                        "risk_reduction_eur": a.risk_reduction_eur,
                        "critical_path": a.on_critical_path,
                    }
                    for a in plan.actions
                ],
                "milestones": [m.model_dump(mode="json") for m in timeline.milestones],
            },
        )
