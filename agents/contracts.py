"""Typed data the assessment agents pass to each other.

The flow moves these as JSON (``model_dump(mode="json")``) because task outputs are
persisted, hashed and read by CEL conditions; each agent re-validates what it receives
with ``Model.model_validate`` so a malformed upstream output fails loudly as a
``DataValidationError`` instead of producing a quietly wrong report.

Chain: policy_analyzer -> AnalysisResults -> gap_assessment -> GapsReport + RiskAssessment
-> risk_calculator -> RiskMetrics -> implementation_planner -> ImplementationPlan + Timeline
-> report_generator -> ReportFiles.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agents.incident.models import entity_type

Coverage = Literal["covered", "partial", "missing", "not_applicable"]
Severity = Literal["critical", "high", "medium", "low"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- entity profile
class EntityProfile(_Model):
    """The financial entity being assessed; drives applicability (proportionality)."""

    name: str = "Example Bank AG"
    #: snake_case Art. 2(1) type; aliases ("e_money_institution", "AIFM") are normalised
    #: so applicability limited to a type is never silently lost to a spelling
    entity_type: str = "credit_institution"
    member_state: str = "DE"
    microenterprise: bool = False
    simplified_regime: bool = False  # Art. 16(1) entity -> RTS 2024/1774 Title III
    significant_credit_institution: bool = False
    annual_revenue_eur: float | None = None
    total_assets_eur: float | None = None
    employees: int | None = None

    @field_validator("entity_type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        return entity_type(value).value


# ---------------------------------------------------------------- documents
class DocumentInfo(_Model):
    """One input document, as ingested (or the reason it could not be)."""

    path: str
    sha256: str | None = None
    format: str | None = None  # pdf, docx, markdown, html, text
    pages: int | None = None
    sections: int = 0
    characters: int = 0
    status: Literal["ok", "error"] = "ok"
    finding: str | None = None  # e.g. "encrypted PDF: no password given"


# ---------------------------------------------------------------- policy_analyzer
class Evidence(_Model):
    """A passage that supports a requirement, with where it is and why it matched."""

    document: str
    location: str  # "p. 4", "§ 3.2 Access reviews", "section 'Backup'"
    quote: str  # the matched span, at most a few hundred characters
    reason: str  # "matched 'access rights review'; obligation verb 'shall'; frequency 'every six months'"
    score: float = Field(ge=0, le=1)


class RequirementAssessment(_Model):
    requirement_id: str
    reference: str  # normalised, e.g. "DORA Art. 12(1)", "RTS 2024/1774 Art. 10(2)(a)"
    title: str
    chapter: str  # e.g. "II" for DORA, "RTS-II" for RTS 2024/1774 Title II
    article: str  # e.g. "DORA Art. 12"
    severity_weight: float
    coverage: Coverage
    score: float = Field(ge=0, le=1)
    evidence: list[Evidence] = Field(default_factory=list)
    rationale: str = ""


class ChapterCoverage(_Model):
    chapter: str
    title: str
    requirements: int
    covered: int
    partial: int
    missing: int
    score: float = Field(ge=0, le=1)


class AnalysisResults(_Model):
    catalog_version: str
    analyzer_version: str
    profile: EntityProfile
    documents: list[DocumentInfo]
    requirements: list[RequirementAssessment]
    chapters: list[ChapterCoverage]
    compliance_score: float = Field(ge=0, le=1)


# ---------------------------------------------------------------- gap_assessment
class Gap(_Model):
    gap_id: str  # "GAP-<requirement_id>"
    requirement_id: str
    reference: str
    title: str
    chapter: str
    coverage: Literal["partial", "missing"]
    severity: Severity
    critical: bool
    severity_weight: float
    description: str  # what is missing, in plain words
    evidence: list[Evidence] = Field(default_factory=list)
    recommendation: str


class GapsReport(_Model):
    gaps: list[Gap]
    counts: dict[Severity, int]
    no_critical_gaps: bool


class ChapterRisk(_Model):
    chapter: str
    title: str
    rating: Severity
    gaps: int
    rationale: str


class RiskAssessment(_Model):
    overall_rating: Severity
    chapters: list[ChapterRisk]


# ---------------------------------------------------------------- risk_calculator
class GapContribution(_Model):
    gap_id: str
    reference: str
    annual_frequency: float
    expected_loss_eur: float
    share: float = Field(ge=0, le=1)


class RiskMetrics(_Model):
    currency: Literal["EUR"] = "EUR"
    simulations: int
    seed: int
    expected_annual_loss_eur: float
    var_95_eur: float
    var_99_eur: float
    contributions: list[GapContribution]
    financial_source: str  # where financial_data came from
    method: str  # one paragraph on the model used


# ---------------------------------------------------------------- implementation_planner
class PlanAction(_Model):
    action_id: str
    gap_ids: list[str]
    title: str
    description: str
    owner_role: str
    effort_days: float
    depends_on: list[str] = Field(default_factory=list)
    risk_reduction_eur: float = 0.0
    priority_score: float = 0.0
    start: date
    end: date
    on_critical_path: bool = False


class Milestone(_Model):
    name: str
    due: date
    action_ids: list[str]


class ImplementationPlan(_Model):
    actions: list[PlanAction]
    critical_path: list[str]
    capacity_days_per_week: float


class Timeline(_Model):
    start: date
    end: date
    milestones: list[Milestone]


# ---------------------------------------------------------------- report_generator
class ReportFiles(_Model):
    html: str
    pdf: str
    markdown: str | None = None


# ---------------------------------------------------------------- external financial data
class FinancialData(BaseModel):
    """The entity's figures that scale loss estimates (read from the ``financial_system`` source).

    Extra fields are allowed: finance systems export more than we use.
    """

    model_config = ConfigDict(extra="allow")

    currency: Literal["EUR"] = "EUR"
    reporting_date: date | None = None
    annual_revenue_eur: float = Field(gt=0)
    total_assets_eur: float | None = Field(default=None, gt=0)
    operating_income_eur: float | None = None
    ict_budget_eur: float | None = Field(default=None, ge=0)
    clients: int | None = Field(default=None, ge=0)
    daily_transactions: int | None = Field(default=None, ge=0)
    daily_transaction_value_eur: float | None = Field(default=None, ge=0)
    #: average cost of one hour of outage of critical services
    hourly_downtime_cost_eur: float | None = Field(default=None, ge=0)
