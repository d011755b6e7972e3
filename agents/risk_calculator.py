"""Risk calculator: a seeded Monte Carlo estimate of the annual loss the open gaps expose.

Why a simulation and not a score: a board needs money and a range ("never a single
number", OpenRisk PR 189), and a supervisor needs to be able to rerun it. So the model is
a plain frequency/severity (FAIR-like) aggregate-loss model, every parameter is written
down below, and the random generator is seeded (``numpy.random.default_rng(seed)``,
default seed 2554 after the regulation's number) so the same gaps, figures and seed give
bit-for-bit the same result.

Model, per gap *i*:

* *Frequency.* Loss events per year ~ Poisson(lambda_i), with lambda_i from the gap
  severity (critical 0.5, high 0.25, medium 0.10, low 0.04 events/year) halved for a
  partial gap: a partly working control still stops some events.
* *Severity.* Loss per event ~ lognormal with median ``m_i`` and shape ``sigma_i``
  (critical 1.25, high 1.10, medium 1.00, low 0.90: worse gaps have fatter tails).
  ``m_i = severity multiplier * base loss of the gap's chapter`` with multipliers
  critical 2.0, high 1.0, medium 0.5, low 0.2, and
  ``base = outage hours * hourly downtime cost + transaction share * daily transaction
  value + revenue share * annual revenue``; the hours and shares per chapter are in
  :data:`CHAPTER_EXPOSURE` (e.g. a third-party gap implies longer outages than a training
  gap). Without ``hourly_downtime_cost_eur`` the hour is priced at three times average
  hourly revenue (lost business plus recovery and compensation); without
  ``daily_transaction_value_eur`` that term is zero.

All gaps x simulations are drawn at once (vectorised): an ``(n, gaps)`` Poisson matrix of
event counts, one lognormal draw per event, summed back per simulated year with
``bincount``. From the annual aggregate loss ``L`` we report the expected annual loss
``E[L]`` and the value at risk ``VaR_q = quantile_q(L)`` for q = 95% and 99%. A gap's
contribution is its mean simulated loss divided by ``E[L]`` (these add up to 1, because
the aggregate is the sum of the per-gap losses).

``financial_impact`` is the expected annual loss in EUR: it is additive across gaps (so
the planner can rank actions by the loss they remove), unbiased, and comparable with the
yearly cost of remediation. Tail figures (VaR 95/99) are in ``RiskMetrics`` for the board.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from agents.base import SimpleAgent, TaskExecution, TaskResult
from agents.contracts import FinancialData, Gap, GapContribution, GapsReport, RiskMetrics
from agents.financial_data import parse_input, read_financial_data
from dora.errors import DataValidationError

__all__ = [
    "CHAPTER_EXPOSURE",
    "DEFAULT_SEED",
    "DEFAULT_SIMULATIONS",
    "GapLossModel",
    "RiskCalculatorAgent",
    "Simulation",
    "gap_loss_models",
    "read_financial_data",
    "simulate",
]

DEFAULT_SEED = 2554
DEFAULT_SIMULATIONS = 20_000
MIN_SIMULATIONS = 100
MAX_SIMULATIONS = 2_000_000

#: events per year for a missing control, by gap severity
BASE_FREQUENCY: dict[str, float] = {"critical": 0.5, "high": 0.25, "medium": 0.10, "low": 0.04}
#: a partial control still stops part of the events
PARTIAL_FREQUENCY_FACTOR = 0.5
#: median loss per event as a multiple of the chapter's base loss
SEVERITY_MULTIPLIER: dict[str, float] = {"critical": 2.0, "high": 1.0, "medium": 0.5, "low": 0.2}
#: lognormal shape: worse gaps have fatter tails
SEVERITY_SIGMA: dict[str, float] = {"critical": 1.25, "high": 1.10, "medium": 1.00, "low": 0.90}
#: hour of outage priced at this multiple of average hourly revenue when no figure is given
DOWNTIME_REVENUE_MULTIPLE = 3.0


class Exposure(BaseModel):
    """How a gap in one chapter turns into money: outage, transaction errors, revenue hit."""

    model_config = ConfigDict(frozen=True)

    outage_hours: float
    transaction_share: float  # share of one day's transaction value lost or compensated
    revenue_share: float  # share of annual revenue (fines, remediation, client churn)


CHAPTER_EXPOSURE: dict[str, Exposure] = {
    "II": Exposure(outage_hours=4.0, transaction_share=0.0002, revenue_share=0.0002),
    "III": Exposure(outage_hours=3.0, transaction_share=0.0001, revenue_share=0.0005),
    "IV": Exposure(outage_hours=4.0, transaction_share=0.0001, revenue_share=0.0002),
    "V": Exposure(outage_hours=8.0, transaction_share=0.0002, revenue_share=0.0003),
    "VI": Exposure(outage_hours=1.0, transaction_share=0.0, revenue_share=0.00005),
}
#: RTS chapters (RTS-II, RTS-III) and anything unknown are priced like DORA Chapter II
DEFAULT_EXPOSURE = CHAPTER_EXPOSURE["II"]


class GapLossModel(BaseModel):
    """The frequency and severity parameters of one gap (shown in tables for review)."""

    gap_id: str
    reference: str
    annual_frequency: float
    median_loss_eur: float
    sigma: float

    @property
    def mean_loss_eur(self) -> float:
        return self.median_loss_eur * math.exp(self.sigma**2 / 2.0)


def hourly_downtime_cost(fin: FinancialData) -> float:
    """Given figure, or three times average hourly revenue (see the module docstring)."""
    if fin.hourly_downtime_cost_eur is not None:
        return fin.hourly_downtime_cost_eur
    return fin.annual_revenue_eur / (365.0 * 24.0) * DOWNTIME_REVENUE_MULTIPLE


def gap_loss_models(gaps: list[Gap], fin: FinancialData) -> list[GapLossModel]:
    """Frequency and severity parameters per gap, from its severity, coverage and chapter."""
    hour = hourly_downtime_cost(fin)
    daily_value = fin.daily_transaction_value_eur or 0.0
    models = []
    for gap in gaps:
        exposure = CHAPTER_EXPOSURE.get(gap.chapter, DEFAULT_EXPOSURE)
        base = (
            exposure.outage_hours * hour
            + exposure.transaction_share * daily_value
            + exposure.revenue_share * fin.annual_revenue_eur
        )
        frequency = BASE_FREQUENCY[gap.severity]
        if gap.coverage == "partial":
            frequency *= PARTIAL_FREQUENCY_FACTOR
        models.append(
            GapLossModel(
                gap_id=gap.gap_id,
                reference=gap.reference,
                annual_frequency=frequency,
                median_loss_eur=SEVERITY_MULTIPLIER[gap.severity] * base,
                sigma=SEVERITY_SIGMA[gap.severity],
            )
        )
    return models


@dataclass(frozen=True)
class Simulation:
    """Raw simulation result: the annual aggregate loss and mean loss per gap."""

    annual_loss: np.ndarray  # shape (n,)
    mean_loss_per_gap: np.ndarray  # shape (gaps,)


def simulate(models: list[GapLossModel], simulations: int, seed: int) -> Simulation:
    """Vectorised compound Poisson-lognormal simulation of ``simulations`` years."""
    rng = np.random.default_rng(seed)
    n_gaps = len(models)
    if n_gaps == 0:
        return Simulation(annual_loss=np.zeros(simulations), mean_loss_per_gap=np.zeros(0))
    lam = np.array([m.annual_frequency for m in models])
    mu = np.log(np.array([max(m.median_loss_eur, 1e-9) for m in models]))
    sigma = np.array([m.sigma for m in models])

    counts = rng.poisson(lam, size=(simulations, n_gaps)).ravel()
    cell = np.repeat(np.arange(simulations * n_gaps), counts)  # one entry per event
    gap_of_event = cell % n_gaps
    losses = rng.lognormal(mean=mu[gap_of_event], sigma=sigma[gap_of_event])
    per_cell = np.bincount(cell, weights=losses, minlength=simulations * n_gaps)
    per_year_gap = per_cell.reshape(simulations, n_gaps)
    return Simulation(
        annual_loss=per_year_gap.sum(axis=1), mean_loss_per_gap=per_year_gap.mean(axis=0)
    )


def method_text(simulations: int, seed: int) -> str:
    """The one-paragraph model description stored in ``RiskMetrics.method``."""
    return (
        f"Compound Poisson-lognormal Monte Carlo over {simulations:,} simulated years "
        f"(numpy default_rng, seed {seed}). Each gap has an annual event frequency by severity "
        "(critical 0.5, high 0.25, medium 0.10, low 0.04 per year; halved when the "
        "requirement is partly covered) and a lognormal loss per event whose median is a "
        "severity multiple (2.0/1.0/0.5/0.2) of a chapter base loss: outage hours times the "
        "hourly downtime cost, plus a share of daily transaction value and of annual "
        "revenue (Chapter V third-party gaps assume 8 outage hours, Chapter II/RTS 4, "
        "Chapter III 3), with shape sigma 1.25/1.10/1.00/0.90. Expected annual loss is the "
        "mean of the simulated annual aggregate loss; VaR 95%/99% are its 95th/99th "
        "percentiles; a gap's share is its mean simulated loss over the expected annual "
        "loss. financial_impact equals the expected annual loss."
    )


def _int_option(task: TaskExecution, settings: Mapping[str, Any], name: str, default: int) -> int:
    raw = task.inputs.get(name, settings.get(name, default))
    if raw is None:
        return default
    if isinstance(raw, bool) or not isinstance(raw, int | str | float):
        raise DataValidationError(f"input '{name}' must be an integer, got {raw!r}")
    try:
        value = int(raw)
    except ValueError as exc:
        raise DataValidationError(f"input '{name}' must be an integer, got {raw!r}") from exc
    if isinstance(raw, float) and raw != value:
        raise DataValidationError(f"input '{name}' must be a whole number, got {raw!r}")
    return value


class RiskCalculatorAgent(SimpleAgent):
    """Quantifies the open gaps in EUR with a seeded Monte Carlo (see the module docstring)."""

    TYPE = "risk_calculator"
    CAPABILITIES = ("risk_quantification", "monte_carlo_simulation", "financial_impact")
    version = "1.0.0"

    def _financial_data(self, task: TaskExecution) -> tuple[FinancialData, str]:
        raw = task.inputs.get("financial_data", self.settings.get("financial_data"))
        if raw is None:
            raise DataValidationError(
                f"input 'financial_data' of task '{task.task_id}' is missing (expected the "
                "entity's FinancialData: annual_revenue_eur at least)"
            )
        declared = task.inputs.get("financial_source", self.settings.get("financial_source"))
        if isinstance(raw, str | Path):
            return read_financial_data(raw), str(declared or raw)
        if not isinstance(raw, Mapping):
            raise DataValidationError(
                f"input 'financial_data' must be a FinancialData object or a path, "
                f"got {type(raw).__name__}"
            )
        try:
            fin = read_financial_data(raw)
        except DataValidationError as exc:
            raise DataValidationError(f"input 'financial_data': {exc}") from exc
        return fin, str(declared or "input 'financial_data'")

    async def run(self, task: TaskExecution) -> TaskResult:
        gaps = parse_input(task.inputs, "gaps_data", GapsReport, task_id=task.task_id)
        fin, source = self._financial_data(task)
        seed = _int_option(task, self.settings, "seed", DEFAULT_SEED)
        simulations = _int_option(task, self.settings, "simulations", DEFAULT_SIMULATIONS)
        if seed < 0:
            raise DataValidationError(f"input 'seed' must be >= 0, got {seed}")
        if not MIN_SIMULATIONS <= simulations <= MAX_SIMULATIONS:
            raise DataValidationError(
                f"input 'simulations' must be between {MIN_SIMULATIONS} and "
                f"{MAX_SIMULATIONS:,}, got {simulations}"
            )

        models = gap_loss_models(gaps.gaps, fin)
        sim = simulate(models, simulations, seed)
        annual = sim.annual_loss
        eal = float(annual.mean())
        var95, var99 = (float(v) for v in np.quantile(annual, [0.95, 0.99]))
        p10, p50, p90 = (float(v) for v in np.quantile(annual, [0.10, 0.50, 0.90]))

        contributions = []
        for model, gap_mean in zip(models, sim.mean_loss_per_gap, strict=True):
            share = float(gap_mean) / eal if eal > 0 else 0.0
            contributions.append(
                GapContribution(
                    gap_id=model.gap_id,
                    reference=model.reference,
                    annual_frequency=model.annual_frequency,
                    expected_loss_eur=round(float(gap_mean), 2),
                    share=min(1.0, max(0.0, share)),
                )
            )
        contributions.sort(key=lambda c: (-c.expected_loss_eur, c.gap_id))

        metrics = RiskMetrics(
            simulations=simulations,
            seed=seed,
            expected_annual_loss_eur=round(eal, 2),
            var_95_eur=round(var95, 2),
            var_99_eur=round(var99, 2),
            contributions=contributions,
            financial_source=source,
            method=method_text(simulations, seed),
        )
        top = contributions[0] if contributions else None
        summary = (
            f"Expected annual loss EUR {metrics.expected_annual_loss_eur:,.0f} from "
            f"{len(models)} open gaps (P10 {p10:,.0f}, P50 {p50:,.0f}, P90 {p90:,.0f}; "
            f"VaR 95% {metrics.var_95_eur:,.0f}, VaR 99% {metrics.var_99_eur:,.0f}) over "
            f"{simulations:,} simulated years, seed {seed}."
        )
        if top is not None:
            summary += f" Largest contributor: {top.reference} ({top.share:.0%})."
        return TaskResult(
            outputs={
                "risk_metrics": metrics.model_dump(mode="json"),
                "financial_impact": metrics.expected_annual_loss_eur,
            },
            summary=summary,
            tables={
                "contributions": [c.model_dump(mode="json") for c in contributions],
                "loss_distribution": [
                    {"statistic": name, "eur": round(value, 2)}
                    for name, value in (
                        ("P10", p10),
                        ("P50", p50),
                        ("mean (expected annual loss)", eal),
                        ("P90", p90),
                        ("VaR 95%", var95),
                        ("VaR 99%", var99),
                    )
                ],
                "gap_parameters": [
                    {
                        "gap_id": m.gap_id,
                        "reference": m.reference,
                        "events_per_year": m.annual_frequency,
                        "median_loss_eur": round(m.median_loss_eur, 2),
                        "mean_loss_per_event_eur": round(m.mean_loss_eur, 2),
                        "sigma": m.sigma,
                    }
                    for m in models
                ],
            },
        )
