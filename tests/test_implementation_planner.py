"""Implementation planner: dependencies, capacity scheduling, critical path, milestones."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from agents.base import RunContext, TaskExecution, TaskResult
from agents.contracts import AnalysisResults, ImplementationPlan, RiskMetrics, Timeline
from agents.gap_assessment import identify_gaps
from agents.implementation_planner import (
    ImplementationPlannerAgent,
    critical_path,
    dependencies,
    schedule,
    topic_of,
)
from agents.risk_calculator import RiskCalculatorAgent
from dora.errors import DataValidationError

FIXTURE = Path(__file__).parent / "fixtures" / "analysis_results.json"
FINANCIALS = {
    "annual_revenue_eur": 480_000_000,
    "hourly_downtime_cost_eur": 250_000,
    "daily_transaction_value_eur": 1_200_000_000,
}
START = date(2026, 1, 5)  # a Monday


def make_task(agent: str, inputs: dict[str, Any]) -> TaskExecution:
    return TaskExecution(
        task_id=agent,
        task_name=agent,
        agent=agent,
        inputs=inputs,
        context=RunContext(workflow_id="dora-compliance-assessment"),
    )


@pytest.fixture(scope="module")
def gaps_json() -> dict[str, Any]:
    analysis = AnalysisResults.model_validate_json(FIXTURE.read_text(encoding="utf-8"))
    return identify_gaps(analysis).model_dump(mode="json")


@pytest.fixture(scope="module")
async def risk_json(gaps_json: dict[str, Any]) -> dict[str, Any]:
    task = make_task(
        "risk_calculator",
        {"gaps_data": gaps_json, "financial_data": FINANCIALS, "simulations": 5000},
    )
    result = await RiskCalculatorAgent().execute_task(task)
    return dict(result.outputs["risk_metrics"])


async def plan_for(inputs: dict[str, Any]) -> tuple[ImplementationPlan, Timeline, TaskResult]:
    result = await ImplementationPlannerAgent().execute_task(
        make_task("implementation_planner", inputs)
    )
    plan = ImplementationPlan.model_validate(result.outputs["implementation_plan"])
    timeline = Timeline.model_validate(result.outputs["timeline"])
    return plan, timeline, result


# ---------------------------------------------------------------- graph algorithms
def test_critical_path_on_known_dag() -> None:
    #   A(3) -> B(2) -> D(4)
    #   A(3) -> C(5) -> D(4)       E(10) alone is shorter than A-C-D (12)
    durations = {"A": 3.0, "B": 2.0, "C": 5.0, "D": 4.0, "E": 10.0}
    deps = {"B": ["A"], "C": ["A"], "D": ["B", "C"]}
    assert critical_path(durations, deps) == ["A", "C", "D"]
    durations["E"] = 13.0
    assert critical_path(durations, deps) == ["E"]
    assert critical_path({}, {}) == []


def test_critical_path_rejects_cycles_and_unknown_nodes() -> None:
    with pytest.raises(ValueError, match="cycle"):
        critical_path({"A": 1.0, "B": 1.0}, {"A": ["B"], "B": ["A"]})
    with pytest.raises(ValueError, match="unknown"):
        critical_path({"A": 1.0}, {"A": ["Z"]})


def test_schedule_capacity_and_dependencies() -> None:
    efforts = {"A": 2.0, "B": 2.0, "C": 2.0}
    deps: dict[str, list[str]] = {"C": ["A"]}
    # one person-day per day: strictly serial, highest priority first
    serial = schedule(
        efforts, deps, {"A": 1.0, "B": 5.0, "C": 9.0}, START, capacity_days_per_week=5
    )
    assert serial["B"] == (date(2026, 1, 5), date(2026, 1, 6))
    assert serial["A"] == (date(2026, 1, 7), date(2026, 1, 8))
    assert serial["C"] == (date(2026, 1, 9), date(2026, 1, 12))  # skips the weekend
    # enough capacity: A and B in parallel, C the day after A
    wide = schedule(efforts, deps, {}, START, capacity_days_per_week=50)
    assert wide["A"] == wide["B"] == (date(2026, 1, 5), date(2026, 1, 6))
    assert wide["C"][0] == date(2026, 1, 7)


# ---------------------------------------------------------------- topics
@pytest.mark.parametrize(
    ("reference", "topic"),
    [
        ("DORA Art. 5(2)", "governance"),
        ("DORA Art. 6(1)", "framework"),
        ("DORA Art. 6(5)", "framework_review"),
        ("DORA Art. 28(3)", "register_of_information"),
        ("DORA Art. 28(8)", "exit_strategies"),
        ("DORA Art. 30(2)", "third_party_contracts"),
        ("DORA Art. 19(1)", "incident_reporting"),
        ("RTS 2024/1774 Art. 10(2)(a)", "protection"),
        ("RTS 2024/1774 Art. 3", "framework"),
        ("something else", "other"),
    ],
)
def test_topics(reference: str, topic: str) -> None:
    assert topic_of(reference) == topic


def test_dependencies_skip_absent_topics_and_reduce() -> None:
    deps = dependencies(
        {
            "gov": "governance",
            "rmf": "framework",
            "assets": "assets",
            "backup": "backup_recovery",
            "exit": "exit_strategies",
        }
    )
    assert deps["rmf"] == ["gov"]
    # backup needs continuity (absent -> framework) and assets; rmf is implied by assets
    assert deps["backup"] == ["assets"]
    # exit needs the register (absent) -> strategy (absent) -> governance
    assert deps["exit"] == ["gov"]


# ---------------------------------------------------------------- agent
async def test_plan_respects_dependencies_and_working_days(
    gaps_json: dict[str, Any], risk_json: dict[str, Any]
) -> None:
    plan, timeline, result = await plan_for(
        {"gaps_data": gaps_json, "risk_data": risk_json, "start_date": START.isoformat()}
    )
    actions = {a.action_id: a for a in plan.actions}
    assert len(actions) == len(gaps_json["gaps"])
    assert {g for a in plan.actions for g in a.gap_ids} == {g["gap_id"] for g in gaps_json["gaps"]}
    assert actions["ACT-DORA-28-8"].depends_on == ["ACT-DORA-28-3"]  # register before exit
    assert actions["ACT-DORA-30-2"].depends_on == ["ACT-DORA-28-3"]
    assert actions["ACT-DORA-19-1"].depends_on == ["ACT-DORA-18-1"]
    assert actions["ACT-DORA-8-1"].depends_on == ["ACT-DORA-6-1"]  # framework first
    assert actions["ACT-DORA-12-1"].depends_on == ["ACT-DORA-8-1"]
    for action in plan.actions:
        assert action.start.weekday() < 5 and action.end.weekday() < 5
        assert action.start <= action.end
        for dep in action.depends_on:
            assert actions[dep].end < action.start, (dep, action.action_id)
    assert timeline.start == START
    assert timeline.end == max(a.end for a in plan.actions)
    assert result.tables["actions"]


async def test_owner_effort_and_priority(
    gaps_json: dict[str, Any], risk_json: dict[str, Any]
) -> None:
    plan, _, _ = await plan_for(
        {"gaps_data": gaps_json, "risk_data": risk_json, "start_date": START.isoformat()}
    )
    actions = {a.action_id: a for a in plan.actions}
    assert actions["ACT-DORA-28-3"].owner_role.startswith("Head of Procurement")
    assert actions["ACT-DORA-11-6"].owner_role == "BCM Officer"
    assert actions["ACT-DORA-6-1"].owner_role == "Head of ICT Risk"
    assert actions["ACT-DORA-19-1"].owner_role == "CISO"
    assert actions["ACT-DORA-28-3"].effort_days == 20  # critical, missing
    assert actions["ACT-DORA-6-1"].effort_days == 7.5  # high, partial
    loss = {c["gap_id"]: c["expected_loss_eur"] for c in risk_json["contributions"]}
    for action in plan.actions:
        assert action.risk_reduction_eur == pytest.approx(loss[action.gap_ids[0]])
        assert action.priority_score == pytest.approx(
            action.risk_reduction_eur / action.effort_days, abs=0.01
        )
    # the action with the best risk reduction per person-day and no prerequisites starts
    # on day one; a prerequisite of valuable work inherits its priority and starts too
    roots = [a for a in plan.actions if not a.depends_on]
    best = max(roots, key=lambda a: a.priority_score)
    assert best.start == START
    assert actions["ACT-DORA-6-1"].start == START


async def test_critical_path_and_unlimited_capacity(
    gaps_json: dict[str, Any], risk_json: dict[str, Any]
) -> None:
    plan, timeline, _ = await plan_for(
        {
            "gaps_data": gaps_json,
            "risk_data": risk_json,
            "start_date": START.isoformat(),
            "capacity_days_per_week": 1000,
        }
    )
    actions = {a.action_id: a for a in plan.actions}
    # longest chain by duration: register of information (20 d) -> exit strategies (20 d)
    assert plan.critical_path == ["ACT-DORA-28-3", "ACT-DORA-28-8"]
    assert {a.action_id for a in plan.actions if a.on_critical_path} == set(plan.critical_path)
    for before, after in zip(plan.critical_path, plan.critical_path[1:], strict=False):
        assert before in actions[after].depends_on
    # with unlimited capacity the plan takes exactly as long as its critical path
    length = sum(math.ceil(actions[a].effort_days) for a in plan.critical_path)
    assert working_days(timeline.start, timeline.end) == length


def working_days(first: date, last: date) -> int:
    days = 0
    day = first
    while day <= last:
        days += day.weekday() < 5
        day += timedelta(days=1)
    return days


async def test_capacity_bounds_duration(gaps_json: dict[str, Any]) -> None:
    plan, timeline, _ = await plan_for(
        {"gaps_data": gaps_json, "start_date": "2026-01-03", "capacity_days_per_week": 5}
    )
    total = sum(a.effort_days for a in plan.actions)
    assert timeline.start == date(2026, 1, 5)  # Saturday -> Monday
    # one person-day per working day cannot finish faster than the total effort
    assert working_days(timeline.start, timeline.end) >= math.ceil(total)
    _, fast_timeline, _ = await plan_for(
        {"gaps_data": gaps_json, "start_date": "2026-01-03", "capacity_days_per_week": 20}
    )
    assert fast_timeline.end < timeline.end


async def test_milestones(gaps_json: dict[str, Any], risk_json: dict[str, Any]) -> None:
    plan, timeline, _ = await plan_for(
        {"gaps_data": gaps_json, "risk_data": risk_json, "start_date": START.isoformat()}
    )
    severity = {g["gap_id"]: g["severity"] for g in gaps_json["gaps"]}
    ends = {a.action_id: a.end for a in plan.actions}
    by_name = {m.name: m for m in timeline.milestones}
    critical_ids = sorted(a.action_id for a in plan.actions if severity[a.gap_ids[0]] == "critical")
    assert by_name["Critical gaps closed"].action_ids == critical_ids
    assert by_name["Critical gaps closed"].due == max(ends[a] for a in critical_ids)
    assert by_name["Critical gaps closed"].due <= by_name["All high gaps closed"].due
    assert by_name["Plan complete"].due == timeline.end
    assert [m.due for m in timeline.milestones] == sorted(m.due for m in timeline.milestones)


async def test_deterministic(gaps_json: dict[str, Any], risk_json: dict[str, Any]) -> None:
    inputs = {"gaps_data": gaps_json, "risk_data": risk_json, "start_date": "2026-03-02"}
    first = await plan_for(inputs)
    second = await plan_for(inputs)
    assert first[2].outputs == second[2].outputs


async def test_no_gaps_empty_plan() -> None:
    empty = {"gaps": [], "counts": {"critical": 0, "high": 0, "medium": 0, "low": 0}}
    plan, timeline, _ = await plan_for(
        {"gaps_data": {**empty, "no_critical_gaps": True}, "start_date": "2026-01-05"}
    )
    assert plan.actions == [] and plan.critical_path == []
    assert timeline.start == timeline.end == START


@pytest.mark.parametrize(
    ("extra", "name"),
    [
        ({"gaps_data": {"gaps": [{"gap_id": 1}]}}, "'gaps_data'"),
        ({"risk_data": {"seed": 1}}, "'risk_data'"),
        ({"capacity_days_per_week": 0}, "'capacity_days_per_week'"),
        ({"capacity_days_per_week": "lots"}, "'capacity_days_per_week'"),
        ({"start_date": "next Monday"}, "'start_date'"),
    ],
)
async def test_malformed_inputs(
    gaps_json: dict[str, Any], extra: dict[str, Any], name: str
) -> None:
    with pytest.raises(DataValidationError, match=name):
        await plan_for({"gaps_data": gaps_json, **extra})


def test_risk_fixture_is_valid(risk_json: dict[str, Any]) -> None:
    RiskMetrics.model_validate(risk_json)
