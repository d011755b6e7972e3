"""Risk calculator: seeded determinism, VaR ordering, contributions, financial data reader."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agents.base import RunContext, TaskExecution, TaskResult
from agents.contracts import AnalysisResults, FinancialData, GapsReport, RiskMetrics
from agents.gap_assessment import identify_gaps
from agents.risk_calculator import (
    DEFAULT_SEED,
    DEFAULT_SIMULATIONS,
    GapLossModel,
    RiskCalculatorAgent,
    read_financial_data,
    simulate,
)
from dora.errors import DataValidationError, ExternalSourceError

FIXTURE = Path(__file__).parent / "fixtures" / "analysis_results.json"
FINANCIALS: dict[str, Any] = {
    "annual_revenue_eur": 480_000_000,
    "total_assets_eur": 12_500_000_000,
    "hourly_downtime_cost_eur": 250_000,
    "daily_transaction_value_eur": 1_200_000_000,
    "reporting_date": "2025-12-31",
}


@pytest.fixture(scope="module")
def gaps_json() -> dict[str, Any]:
    analysis = AnalysisResults.model_validate_json(FIXTURE.read_text(encoding="utf-8"))
    return identify_gaps(analysis).model_dump(mode="json")


async def run_agent(inputs: dict[str, Any]) -> TaskResult:
    task = TaskExecution(
        task_id="risk_calculation",
        task_name="Calculate risk metrics",
        agent="risk_calculator",
        inputs=inputs,
        declared_outputs=["risk_metrics", "financial_impact"],
        context=RunContext(workflow_id="dora-compliance-assessment"),
    )
    return await RiskCalculatorAgent().execute_task(task)


async def test_defaults_metrics_and_contributions(gaps_json: dict[str, Any]) -> None:
    result = await run_agent({"gaps_data": gaps_json, "financial_data": FINANCIALS})
    metrics = RiskMetrics.model_validate(result.outputs["risk_metrics"])
    assert metrics.seed == DEFAULT_SEED == 2554
    assert metrics.simulations == DEFAULT_SIMULATIONS == 20_000
    assert metrics.var_99_eur >= metrics.var_95_eur >= 0
    # a right-skewed loss: the 95% quantile is above the mean
    assert metrics.var_95_eur > metrics.expected_annual_loss_eur > 0
    assert result.outputs["financial_impact"] == metrics.expected_annual_loss_eur
    assert len(metrics.contributions) == len(gaps_json["gaps"])
    assert math.isclose(sum(c.share for c in metrics.contributions), 1.0, abs_tol=1e-9)
    assert math.isclose(
        sum(c.expected_loss_eur for c in metrics.contributions),
        metrics.expected_annual_loss_eur,
        abs_tol=0.01 * len(metrics.contributions),
    )
    shares = [c.share for c in metrics.contributions]
    assert shares == sorted(shares, reverse=True)
    assert "Poisson" in metrics.method and "seed 2554" in metrics.method
    assert metrics.financial_source == "input 'financial_data'"
    json.dumps(result.outputs)  # JSON-serialisable


async def test_same_seed_same_result_other_seed_differs(gaps_json: dict[str, Any]) -> None:
    inputs = {"gaps_data": gaps_json, "financial_data": FINANCIALS, "simulations": 5000}
    first = await run_agent({**inputs, "seed": 7})
    second = await run_agent({**inputs, "seed": 7})
    other = await run_agent({**inputs, "seed": 8})
    assert first.outputs == second.outputs
    assert other.outputs["financial_impact"] != first.outputs["financial_impact"]


async def test_critical_gaps_dominate(gaps_json: dict[str, Any]) -> None:
    result = await run_agent({"gaps_data": gaps_json, "financial_data": FINANCIALS})
    metrics = RiskMetrics.model_validate(result.outputs["risk_metrics"])
    severity = {g["gap_id"]: g["severity"] for g in gaps_json["gaps"]}
    by_sev: dict[str, float] = {}
    for c in metrics.contributions:
        by_sev[severity[c.gap_id]] = by_sev.get(severity[c.gap_id], 0.0) + c.share
    assert by_sev["critical"] > by_sev["high"] > by_sev["medium"] > by_sev["low"]


def test_simulation_matches_analytic_mean() -> None:
    """E[L] of a compound Poisson-lognormal is lambda * median * exp(sigma^2 / 2)."""
    model = GapLossModel(
        gap_id="G", reference="R", annual_frequency=0.8, median_loss_eur=1000.0, sigma=0.5
    )
    sim = simulate([model], simulations=200_000, seed=1)
    analytic = 0.8 * model.mean_loss_eur
    assert math.isclose(float(sim.annual_loss.mean()), analytic, rel_tol=0.02)
    # P(no event in a year) = exp(-lambda)
    assert math.isclose(float(np.mean(sim.annual_loss == 0)), math.exp(-0.8), abs_tol=0.005)


async def test_scales_with_financials(gaps_json: dict[str, Any]) -> None:
    small = {"annual_revenue_eur": 4_800_000}
    big = {"annual_revenue_eur": 48_000_000}
    a = await run_agent({"gaps_data": gaps_json, "financial_data": small, "simulations": 2000})
    b = await run_agent({"gaps_data": gaps_json, "financial_data": big, "simulations": 2000})
    # without downtime or transaction figures every loss is proportional to revenue
    assert math.isclose(
        b.outputs["financial_impact"], 10 * a.outputs["financial_impact"], rel_tol=1e-6
    )


async def test_no_gaps_zero_loss() -> None:
    empty = GapsReport(
        gaps=[], counts={"critical": 0, "high": 0, "medium": 0, "low": 0}, no_critical_gaps=True
    )
    result = await run_agent(
        {"gaps_data": empty.model_dump(mode="json"), "financial_data": FINANCIALS}
    )
    assert result.outputs["financial_impact"] == 0.0
    assert result.outputs["risk_metrics"]["contributions"] == []


async def test_financial_data_from_file_path(gaps_json: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "finance.json"
    path.write_text(json.dumps(FINANCIALS), encoding="utf-8")
    via_file = await run_agent({"gaps_data": gaps_json, "financial_data": str(path)})
    via_dict = await run_agent({"gaps_data": gaps_json, "financial_data": FINANCIALS})
    assert via_file.outputs["financial_impact"] == via_dict.outputs["financial_impact"]
    assert via_file.outputs["risk_metrics"]["financial_source"] == str(path)


@pytest.mark.parametrize(
    ("inputs", "names"),
    [
        ({"gaps_data": None, "financial_data": FINANCIALS}, ["'gaps_data'"]),
        ({"gaps_data": {"gaps": "nope"}, "financial_data": FINANCIALS}, ["'gaps_data'", "gaps"]),
        ({"financial_data": None}, ["'financial_data'"]),
        ({"financial_data": {"total_assets_eur": 1.0}}, ["'financial_data'", "annual_revenue_eur"]),
        ({"financial_data": {"annual_revenue_eur": -5}}, ["annual_revenue_eur"]),
        ({"financial_data": FINANCIALS, "simulations": 10}, ["'simulations'"]),
        ({"financial_data": FINANCIALS, "seed": "abc"}, ["'seed'"]),
    ],
)
async def test_malformed_inputs(
    gaps_json: dict[str, Any], inputs: dict[str, Any], names: list[str]
) -> None:
    merged = {"gaps_data": gaps_json, **inputs}
    merged = {k: v for k, v in merged.items() if v is not None}  # None = leave the input out
    with pytest.raises(DataValidationError) as info:
        await run_agent(merged)
    for name in names:
        assert name in str(info.value)


# ---------------------------------------------------------------- read_financial_data
def test_read_json_and_dict(tmp_path: Path) -> None:
    path = tmp_path / "fin.json"
    path.write_text(json.dumps({**FINANCIALS, "erp_cost_centre": "4711"}), encoding="utf-8")
    fin = read_financial_data(path)
    assert fin.annual_revenue_eur == 480_000_000
    assert fin.model_extra == {"erp_cost_centre": "4711"}
    assert read_financial_data(FINANCIALS) == FinancialData.model_validate(FINANCIALS)


def test_read_csv_header_row(tmp_path: Path) -> None:
    path = tmp_path / "fin.csv"
    path.write_text(
        "annual_revenue_eur,hourly_downtime_cost_eur,daily_transaction_value_eur,currency\n"
        '"480,000,000.00",EUR 250000,,EUR\n',
        encoding="utf-8",
    )
    fin = read_financial_data(path)
    assert fin.annual_revenue_eur == 480_000_000
    assert fin.hourly_downtime_cost_eur == 250_000
    assert fin.daily_transaction_value_eur is None  # blank cell = not given
    assert fin.currency == "EUR"


def test_read_csv_key_value(tmp_path: Path) -> None:
    path = tmp_path / "fin.csv"
    path.write_text(
        "field,value\nannual_revenue_eur,480000000\nreporting_date,2025-12-31\nclients,120000\n",
        encoding="utf-8",
    )
    fin = read_financial_data(path)
    assert fin.clients == 120_000
    assert str(fin.reporting_date) == "2025-12-31"


def test_read_errors_name_file_and_field(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(ExternalSourceError, match=r"nope\.json"):
        read_financial_data(missing)

    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(ExternalSourceError, match=r"broken\.json.*not valid JSON"):
        read_financial_data(broken)

    wrong = tmp_path / "wrong.csv"
    wrong.write_text("annual_revenue_eur,clients\nlots,12\n", encoding="utf-8")
    with pytest.raises(DataValidationError) as info:
        read_financial_data(wrong)
    assert "wrong.csv" in str(info.value) and "annual_revenue_eur" in str(info.value)

    rows = tmp_path / "rows.csv"
    rows.write_text("annual_revenue_eur\n1\n2\n", encoding="utf-8")
    with pytest.raises(ExternalSourceError, match="exactly one data row"):
        read_financial_data(rows)

    xlsx = tmp_path / "fin.xlsx"
    xlsx.write_bytes(b"PK")
    with pytest.raises(ExternalSourceError, match="unsupported extension"):
        read_financial_data(xlsx)
