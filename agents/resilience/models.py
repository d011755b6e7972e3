"""Typed inputs of the testing programme: past tests, their findings, the entity profile.

The asset inventory and business functions are those of the ICT risk review
(``agents.ict_risk.models``), so the systems in testing scope are exactly the assets that
support critical or important functions there, including through dependencies.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agents.ict_risk.tabular import parse_bool, parse_date, split_list

#: DORA Art. 25(1) test types, plus the TLPT of Art. 26 and the BCP / response and recovery
#: plan tests of Art. 11(6)
TestType = Literal[
    "vulnerability_assessment",
    "open_source_analysis",
    "network_security_assessment",
    "gap_analysis",
    "physical_security_review",
    "questionnaire",
    "source_code_review",
    "scenario_based_test",
    "compatibility_test",
    "performance_test",
    "end_to_end_test",
    "penetration_test",
    "tlpt",
    "bcp_test",
]
Severity = Literal["critical", "high", "medium", "low"]


def _norm(value: Any) -> Any:
    return (
        value.strip().lower().replace(" ", "_").replace("-", "_")
        if isinstance(value, str)
        else value
    )


class TestRecord(BaseModel):
    """One test performed (or started), on one or more ICT assets."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    __test__ = False  # not a pytest class

    test_id: str = Field(min_length=1)
    test_type: TestType
    asset_ids: list[str] = Field(default_factory=list)
    start_date: date
    end_date: date | None = None
    tester_type: Literal["internal", "external"]
    tester_name: str | None = None
    scope: str | None = None

    @field_validator("asset_ids", mode="before")
    @classmethod
    def _list(cls, v: Any) -> list[str]:
        return split_list(v)

    @field_validator("test_type", "tester_type", mode="before")
    @classmethod
    def _enum(cls, v: Any) -> Any:
        return _norm(v)

    @field_validator("start_date", "end_date", mode="before")
    @classmethod
    def _dates(cls, v: Any) -> Any:
        return parse_date(v)

    @property
    def done_on(self) -> date:
        return self.end_date or self.start_date


class TestFinding(BaseModel):
    """A weakness a test revealed and its remediation (DORA Art. 24(5))."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    __test__ = False

    finding_id: str = Field(min_length=1)
    test_id: str = Field(min_length=1)
    asset_id: str | None = None
    title: str = Field(min_length=1)
    severity: Severity
    identified: date
    due: date | None = None
    closed: date | None = None
    owner: str | None = None
    validated: bool | None = None  # closure checked by the internal validation method

    @field_validator("severity", mode="before")
    @classmethod
    def _enum(cls, v: Any) -> Any:
        return _norm(v)

    @field_validator("identified", "due", "closed", mode="before")
    @classmethod
    def _dates(cls, v: Any) -> Any:
        return parse_date(v)

    @field_validator("validated", mode="before")
    @classmethod
    def _bool(cls, v: Any) -> Any:
        return parse_bool(v)


class YearFigures(BaseModel):
    """A figure for each of the two calendar years before the TLPT authority's assessment."""

    model_config = ConfigDict(extra="forbid")

    previous_year: float = Field(ge=0)
    year_before: float = Field(ge=0)

    def both_exceed(self, threshold: float) -> bool:
        """'exceeded in each of the 2 calendar years' (strictly higher, both years)."""
        return self.previous_year > threshold and self.year_before > threshold


class PastTlpt(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code_name: str
    red_team_end: date
    tester_type: Literal["internal", "external"]
    attestation: date | None = None


class TlptProfile(BaseModel):
    """What RTS 2025/1190 Art. 2(2) and DORA Art. 26 need to decide and plan TLPT."""

    model_config = ConfigDict(extra="forbid")

    name: str
    entity_type: Literal[
        "credit_institution",
        "payment_institution",
        "electronic_money_institution",
        "central_securities_depository",
        "central_counterparty",
        "trading_venue",
        "insurance_undertaking",
        "reinsurance_undertaking",
        "investment_firm",
        "other",
    ]
    member_state: str = "DE"
    microenterprise: bool = False
    simplified_regime: bool = False  # DORA Art. 16(1)
    significant_credit_institution: bool = False  # ECB-supervised: external testers only
    # credit institutions (Art. 2(2)(a))
    gsii: bool = False
    osii: bool = False
    part_of_gsii_or_osii: bool = False
    # payment and e-money institutions (Art. 2(2)(b)-(c)), EUR
    payment_transactions_eur: YearFigures | None = None
    emoney_outstanding_eur: YearFigures | None = None
    # trading venues (Art. 2(2)(f))
    electronic_trading_system: bool = False
    national_turnover_leader_both_years: bool = False
    eu_turnover_share_pct: YearFigures | None = None
    # (re)insurance (Art. 2(2)(g)), EUR and % of national total assets
    life_or_composite: bool = False
    gross_written_premium_eur: float | None = None
    technical_provisions_eur: float | None = None
    total_assets_share_pct: float | None = None
    # the authority's Art. 2(1) assessment: identified anyway, or TLPT not justified
    identified_by_tlpt_authority: bool = False
    authority_assessment_not_justified: bool = False
    tlpt_notification: date | None = None
    past_tlpts: list[PastTlpt] = Field(default_factory=list)
    planned_tester_type: Literal["internal", "external"] = "external"
