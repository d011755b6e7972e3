"""Typed rows of the ICT asset inventory, the business-function list and the risk register.

The asset record holds what RTS 2024/1774 Art. 4(2)(b) requires the entity to keep for
each ICT asset: (i) unique identifier, (ii) location, (iii) classification, (iv) owner,
(v) business functions supported, (vi) RTO/RPO, (vii) exposure to external networks incl.
the internet, (viii) links and interdependencies, (ix) end of support. Those fields are
*optional in the model* on purpose: a missing owner is a completeness finding the review
reports (with file, row and column), not a reason to refuse the whole inventory. Values
that are present but wrong (a date that is not a date, an unknown criticality) are errors.

The review dates feed the fixed frequencies in ``frequencies.py``.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agents.ict_risk.tabular import parse_bool, parse_date, split_list

Classification = Literal["public", "internal", "confidential", "strictly_confidential"]
Criticality = Literal["critical", "high", "medium", "low"]
Treatment = Literal["mitigate", "accept", "transfer", "avoid"]


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _lower(value: Any) -> Any:
    return (
        value.strip().lower().replace(" ", "_").replace("-", "_")
        if isinstance(value, str)
        else value
    )


class BusinessFunction(_Row):
    """A business function; ``critical_or_important`` as defined by DORA Art. 3(22)."""

    function_id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    critical_or_important: bool
    owner: str | None = None
    #: impact tolerance of the function: the RTO/RPO its assets must meet (DORA Art. 12)
    max_rto_hours: float | None = Field(None, ge=0)
    max_rpo_hours: float | None = Field(None, ge=0)

    @field_validator("critical_or_important", mode="before")
    @classmethod
    def _bool(cls, v: Any) -> Any:
        return parse_bool(v)


class Asset(_Row):
    """One ICT asset (RTS 2024/1774 Art. 4(2)(b)) plus the dates of its periodic reviews."""

    asset_id: str = Field(min_length=1)
    name: str | None = None
    asset_type: str | None = None
    location: str | None = None
    classification: Classification | None = None
    owner: str | None = None
    functions: list[str] = Field(default_factory=list)
    criticality: Criticality | None = None
    rto_hours: float | None = Field(None, ge=0)
    rpo_hours: float | None = Field(None, ge=0)
    internet_exposed: bool | None = None
    dependencies: list[str] = Field(default_factory=list)
    #: last day of the supplier's (regular, extended or custom) support; None = not applicable
    end_of_support: date | None = None
    last_classification_review: date | None = None
    last_vulnerability_scan: date | None = None
    last_firewall_review: date | None = None
    last_access_review: date | None = None
    last_legacy_assessment: date | None = None
    #: software and hardware products as CPE-like "vendor:product:version" (threat matching;
    #: RTS 2024/1774 Art. 10(2)(d) asks to track third-party libraries and versions)
    products: list[str] = Field(default_factory=list)
    #: IP addresses, CIDR ranges and DNS names of the asset (indicator matching)
    network_identifiers: list[str] = Field(default_factory=list)

    @field_validator("functions", "dependencies", "products", "network_identifiers", mode="before")
    @classmethod
    def _lists(cls, v: Any) -> list[str]:
        return split_list(v)

    @field_validator("classification", "criticality", mode="before")
    @classmethod
    def _enums(cls, v: Any) -> Any:
        return _lower(v)

    @field_validator("internet_exposed", mode="before")
    @classmethod
    def _bool(cls, v: Any) -> Any:
        return parse_bool(v)

    @field_validator(
        "end_of_support",
        "last_classification_review",
        "last_vulnerability_scan",
        "last_firewall_review",
        "last_access_review",
        "last_legacy_assessment",
        mode="before",
    )
    @classmethod
    def _dates(cls, v: Any) -> Any:
        return parse_date(v)


class RiskEntry(_Row):
    """One ICT risk (RTS 2024/1774 Art. 3): scenario, scores, treatment and acceptance.

    ``likelihood`` and ``impact`` are 1..5 (Art. 3(b)(ii): the indicators to measure impact
    and likelihood); ``control_effectiveness`` is the share of the inherent risk the
    implemented controls remove (0..0.95; nothing removes all risk).
    """

    risk_id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    asset_ids: list[str] = Field(default_factory=list)
    threat: str | None = None
    vulnerability: str | None = None
    likelihood: int = Field(ge=1, le=5)
    impact: int = Field(ge=1, le=5)
    control_effectiveness: float = Field(0.0, ge=0, le=0.95)
    owner: str | None = None
    treatment: Treatment | None = None
    treatment_due: date | None = None
    accepted_by: str | None = None
    acceptance_justification: str | None = None
    last_assessed: date | None = None
    last_acceptance_review: date | None = None

    @field_validator("asset_ids", mode="before")
    @classmethod
    def _lists(cls, v: Any) -> list[str]:
        return split_list(v)

    @field_validator("treatment", mode="before")
    @classmethod
    def _enum(cls, v: Any) -> Any:
        return _lower(v)

    @field_validator("control_effectiveness", mode="before")
    @classmethod
    def _pct(cls, v: Any) -> Any:
        if isinstance(v, str) and v.strip().endswith("%"):
            return float(v.strip().rstrip("%")) / 100
        if v is None:
            return 0.0
        return v

    @field_validator("treatment_due", "last_assessed", "last_acceptance_review", mode="before")
    @classmethod
    def _dates(cls, v: Any) -> Any:
        return parse_date(v)
