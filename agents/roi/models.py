"""Typed results of the register-of-information agent (validation, analysis, export).

They travel between workflow tasks as JSON (``model_dump(mode="json")``), so they are
plain pydantic models; the next task re-validates what it receives.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["error", "warning"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Issue(_Model):
    """One problem, located by template, file row and column (e.g. B_02.02.0060)."""

    severity: Severity
    rule: str  # e.g. "lei.checksum", "key.duplicate"
    template: str | None = None
    file: str | None = None
    row: int | None = None  # spreadsheet row number (the header is row 1)
    column: str | None = None  # "B_02.02.0060" (OJ column code)
    value: str | None = None
    message: str
    reference: str = ""  # legal basis, e.g. "CIR (EU) 2024/2956 Art. 3(5)"
    #: the EBA rejects the whole submission for this (rules 805-807, UNCONFIRMED numbering)
    blocking: bool = False

    def location(self) -> str:
        parts = [self.file or self.template or "register"]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(self.column)
        return ":".join(parts[:1]) + "".join(f", {p}" for p in parts[1:])

    def line(self) -> str:
        """``file, row N, B_xx.yy.cccc: error [rule]: message``"""
        return f"{self.location()}: {self.severity} [{self.rule}]: {self.message}"


class TemplateSummary(_Model):
    template: str
    file: str | None
    rows: int
    errors: int
    warnings: int


class ValidationReport(_Model):
    directory: str
    valid: bool
    error_count: int
    warning_count: int
    templates: list[TemplateSummary]
    issues: list[Issue]
    entity_lei: str | None = None
    entity_name: str | None = None
    reporting_date: str | None = None


class ProviderShare(_Model):
    provider: str
    name: str
    country: str | None
    third_country: bool
    critical_functions: int
    functions: list[str]
    arrangements: int
    annual_expense_eur: float
    share: float = Field(ge=0, le=1)  # of annual expense on ICT services supporting CIF
    substitutability: str | None  # worst substitutability assessed (B_07.01.0050)


class ConcentrationResult(_Model):
    """DORA Art. 29 concentration risk over ICT services supporting critical functions."""

    basis: str  # what the shares are computed on
    hhi: float  # 0..10 000
    hhi_band: Literal["unconcentrated", "moderate", "high"]
    top_provider: str | None
    top_share: float
    providers: list[ProviderShare]
    shared_providers: list[ProviderShare]  # one provider behind two or more critical functions
    not_substitutable: list[str]  # provider codes assessed not or highly complex to substitute
    max_chain_depth: int  # deepest subcontracting rank (B_05.02.0050)
    chains: list[dict[str, object]]
    third_country_providers: list[str]
    third_country_share: float
    high: bool  # the routing flag: HHI >= 2 500 or one provider >= 50 %


class ExitPlanFinding(_Model):
    function_id: str
    function_name: str
    arrangement: str
    provider: str
    service_type: str
    exit_plan: Literal["yes", "no", "not assessed"]
    message: str


class ProvisionCheck(_Model):
    arrangement: str
    provider: str
    critical: bool
    missing: list[str]  # e.g. "30(2)(b)"
    present: list[str]
    not_recorded: bool  # no contract metadata at all for this arrangement


class AnalysisResult(_Model):
    concentration: ConcentrationResult
    exit_plans: list[ExitPlanFinding]
    critical_without_exit_plan: int
    contract_provisions: list[ProvisionCheck]
    arrangements_missing_provisions: int
    critical_functions: int
    functions: int
    arrangements: int
    providers: int
