"""Input models for ICT-related incidents and cyber threats (the ``dora incident`` contract).

Why a strict contract: the classification and the reporting deadlines are legal
conclusions, so a misspelt field must not silently become ``false`` or ``0``. Every model
forbids unknown keys; free-form additions go under the top-level ``extra`` object only.
Booleans are strict (``"yes"`` or ``1`` is an error, not ``true``) and every timestamp must
carry a UTC offset: a deadline computed from a naive time could be off by the Member
State's offset.

Entity types are the snake_case names of DORA (Reg. 2022/2554) Art. 2(1)(a)-(t) as listed
in field 1.4 of CIR 2025/302 Annex II (plus the exempted payment / e-money institutions that
field lists separately); common spellings are accepted as aliases.
"""

from __future__ import annotations

import itertools
import math
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    field_validator,
    model_validator,
)


class EntityType(StrEnum):
    """DORA Art. 2(1)(a)-(t) financial entity types (field 1.4, CIR 2025/302 Annex II)."""

    credit_institution = "credit_institution"  # (a)
    payment_institution = "payment_institution"  # (b)
    exempted_payment_institution = "exempted_payment_institution"  # (b), Art. 16(1)
    account_information_service_provider = "account_information_service_provider"  # (c)
    electronic_money_institution = "electronic_money_institution"  # (d)
    exempted_electronic_money_institution = "exempted_electronic_money_institution"  # (d)
    investment_firm = "investment_firm"  # (e)
    crypto_asset_service_provider = "crypto_asset_service_provider"  # (f)
    issuer_of_asset_referenced_tokens = "issuer_of_asset_referenced_tokens"  # (f)
    central_securities_depository = "central_securities_depository"  # (g)
    central_counterparty = "central_counterparty"  # (h)
    trading_venue = "trading_venue"  # (i) (its operator reports)
    trade_repository = "trade_repository"  # (j)
    alternative_investment_fund_manager = "alternative_investment_fund_manager"  # (k)
    management_company = "management_company"  # (l)
    data_reporting_service_provider = "data_reporting_service_provider"  # (m)
    insurance_undertaking = "insurance_undertaking"  # (n)
    reinsurance_undertaking = "reinsurance_undertaking"  # (n)
    insurance_intermediary = "insurance_intermediary"  # (o)
    reinsurance_intermediary = "reinsurance_intermediary"  # (o)
    ancillary_insurance_intermediary = "ancillary_insurance_intermediary"  # (o)
    institution_for_occupational_retirement_provision = (
        "institution_for_occupational_retirement_provision"  # (p)
    )
    credit_rating_agency = "credit_rating_agency"  # (q)
    administrator_of_critical_benchmarks = "administrator_of_critical_benchmarks"  # (r)
    crowdfunding_service_provider = "crowdfunding_service_provider"  # (s)
    securitisation_repository = "securitisation_repository"  # (t)


#: other spellings people use for the same Art. 2(1) type
ENTITY_TYPE_ALIASES: dict[str, EntityType] = {
    "bank": EntityType.credit_institution,
    "credit_institutions": EntityType.credit_institution,
    "ccp": EntityType.central_counterparty,
    "central_counterparties": EntityType.central_counterparty,
    "operator_of_trading_venue": EntityType.trading_venue,
    "operator_of_a_trading_venue": EntityType.trading_venue,
    "trading_venue_operator": EntityType.trading_venue,
    "trading_venues": EntityType.trading_venue,
    "csd": EntityType.central_securities_depository,
    "e_money_institution": EntityType.electronic_money_institution,
    "emoney_institution": EntityType.electronic_money_institution,
    "exempted_e_money_institution": EntityType.exempted_electronic_money_institution,
    "aisp": EntityType.account_information_service_provider,
    "casp": EntityType.crypto_asset_service_provider,
    "aifm": EntityType.alternative_investment_fund_manager,
    "manager_of_alternative_investment_funds": EntityType.alternative_investment_fund_manager,
    "manager_of_alternative_investment_fund": EntityType.alternative_investment_fund_manager,
    "ucits_management_company": EntityType.management_company,
    "drsp": EntityType.data_reporting_service_provider,
    "insurance_and_reinsurance_undertaking": EntityType.insurance_undertaking,
    "iorp": EntityType.institution_for_occupational_retirement_provision,
    "cra": EntityType.credit_rating_agency,
    "critical_benchmark_administrator": EntityType.administrator_of_critical_benchmarks,
}


def entity_type(value: str) -> EntityType:
    """The Art. 2(1) type for ``value``, whatever its case, hyphens or common alias
    ("e-money institution", "AIFM"); ValueError naming the valid types otherwise."""
    key = value.strip().lower().replace("-", "_").replace(" ", "_")
    if key in EntityType.__members__:
        return EntityType(key)
    if key in ENTITY_TYPE_ALIASES:
        return ENTITY_TYPE_ALIASES[key]
    raise ValueError(
        f"unknown entity type {value!r}; use a DORA Art. 2(1) type such as "
        + ", ".join(t.value for t in list(EntityType)[:4])
        + " (all: "
        + ", ".join(t.value for t in EntityType)
        + ")"
    )


#: Member State (ISO 3166-1 alpha-2) -> IANA time zone of its capital. Portugal and Spain
#: also have Atlantic time zones (Azores, Madeira, Canary Islands); an entity seated there
#: is not covered by this table.
MEMBER_STATE_TIME_ZONES: dict[str, str] = {
    "AT": "Europe/Vienna",
    "BE": "Europe/Brussels",
    "BG": "Europe/Sofia",
    "CY": "Asia/Nicosia",
    "CZ": "Europe/Prague",
    "DE": "Europe/Berlin",
    "DK": "Europe/Copenhagen",
    "EE": "Europe/Tallinn",
    "ES": "Europe/Madrid",
    "FI": "Europe/Helsinki",
    "FR": "Europe/Paris",
    "GR": "Europe/Athens",
    "HR": "Europe/Zagreb",
    "HU": "Europe/Budapest",
    "IE": "Europe/Dublin",
    "IT": "Europe/Rome",
    "LT": "Europe/Vilnius",
    "LU": "Europe/Luxembourg",
    "LV": "Europe/Riga",
    "MT": "Europe/Malta",
    "NL": "Europe/Amsterdam",
    "PL": "Europe/Warsaw",
    "PT": "Europe/Lisbon",
    "RO": "Europe/Bucharest",
    "SE": "Europe/Stockholm",
    "SI": "Europe/Ljubljana",
    "SK": "Europe/Bratislava",
}
EU_MEMBER_STATES = frozenset(MEMBER_STATE_TIME_ZONES)
#: DORA is EEA-relevant; field 2.6 of CIR 2025/302 lists "EEA Member States impacted"
EEA_MEMBER_STATES = EU_MEMBER_STATES | {"IS", "LI", "NO"}


def _country(value: Any, allowed: frozenset[str], what: str) -> Any:
    if not isinstance(value, str):
        return value
    code = value.strip().upper()
    code = "GR" if code == "EL" else code  # the EU's own code for Greece
    if code not in allowed:
        raise ValueError(
            f"{value!r} is not {what} (ISO 3166-1 alpha-2, e.g. 'DE', 'FR'); "
            f"known: {', '.join(sorted(allowed))}"
        )
    return code


def _member_state(value: Any) -> Any:
    return _country(value, EU_MEMBER_STATES, "an EU Member State")


def _eea_state(value: Any) -> Any:
    return _country(value, EEA_MEMBER_STATES, "an EEA Member State")


def _number(value: Any) -> Any:
    """Numbers only: ``true`` or ``"12"`` in a figure is a data error, not 1 or 12."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {type(value).__name__} {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value!r}")
    return value


def _count(value: Any) -> Any:
    value = _number(value)
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"expected a whole number, got {value!r}")
        value = int(value)
    return value


MemberState = Annotated[str, BeforeValidator(_member_state)]
EEAState = Annotated[str, BeforeValidator(_eea_state)]
Amount = Annotated[float, BeforeValidator(_number), Field(ge=0)]
Count = Annotated[int, BeforeValidator(_count), Field(ge=0)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Entity(_Input):
    """The reporting financial entity: its type, seat and the flags the rules depend on."""

    type: EntityType
    member_state: MemberState = Field(
        description="Member State of the entity (bank holidays, local time, competent authority)."
    )
    nis2_entity: StrictBool = Field(
        False, description="Essential or important entity under NIS2 (Directive 2022/2555 Art. 3)."
    )
    microenterprise: StrictBool = Field(False, description="DORA Art. 3(60).")

    @field_validator("type", mode="before")
    @classmethod
    def _alias(cls, value: Any) -> Any:
        return entity_type(value) if isinstance(value, str) else value

    @property
    def time_zone(self) -> str:
        return MEMBER_STATE_TIME_ZONES[self.member_state]


class Clients(_Input):
    """Art. 1(1) and 1(3) of CDR 2024/1772: clients of the affected service."""

    affected: Count = 0
    total: Count = Field(0, description="All clients using the affected service.")
    relevant_affected: StrictBool = Field(
        False, description="A client or counterpart identified as relevant (Art. 1(3)) affected."
    )


class FinancialCounterparts(_Input):
    """Art. 1(2): financial counterparts with a contract for the affected service."""

    affected: Count = 0
    total: Count = 0


class Transactions(_Input):
    """Art. 1(4): transactions with at least one part carried out in the Union."""

    affected_count: Count = 0
    daily_average_count: Amount = 0
    affected_value_eur: Amount = 0
    daily_average_value_eur: Amount = 0


class Reputational(_Input):
    """Art. 2(a)-(d) of CDR 2024/1772."""

    media_coverage: StrictBool = False
    repeated_complaints: StrictBool = False
    regulatory_breach_likely: StrictBool = False
    client_loss_likely: StrictBool = False


class DataLosses(_Input):
    """Art. 5 / Art. 9(5)(a): an availability, authenticity, integrity or confidentiality
    impact that harms business objectives or regulatory compliance."""

    business_or_compliance_impact: StrictBool = False


class Incident(_Input):
    """One ICT-related incident as the ``dora incident classify`` contract defines it."""

    incident_id: str = Field(min_length=1)
    entity: Entity
    detected_at: AwareDatetime = Field(
        description="When the entity became aware of the incident (the 24 h clock of "
        "CDR 2025/301 Art. 5(1)(a) runs from here)."
    )
    classified_at: AwareDatetime | None = None
    initial_submitted_at: AwareDatetime | None = None
    intermediate_submitted_at: AwareDatetime | None = Field(
        None, description="Submission of the latest (updated) intermediate report."
    )
    critical_services_affected: StrictBool = False
    malicious_unauthorised_access: StrictBool = False
    clients: Clients = Field(default_factory=Clients)
    financial_counterparts: FinancialCounterparts = Field(default_factory=FinancialCounterparts)
    transactions: Transactions = Field(default_factory=Transactions)
    reputational: Reputational = Field(default_factory=Reputational)
    duration_hours: Amount = 0
    downtime_hours: Amount = Field(
        0, description="Downtime of ICT services supporting critical or important functions."
    )
    member_states_affected: list[EEAState] = Field(default_factory=list)
    data_losses: DataLosses = Field(default_factory=DataLosses)
    economic_impact_eur: Amount = 0
    extra: dict[str, Any] = Field(default_factory=dict)

    @field_validator("incident_id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("incident_id must not be blank")
        return value.strip()

    @field_validator("member_states_affected")
    @classmethod
    def _dedupe(cls, value: list[str]) -> list[str]:
        return sorted(set(value))

    @model_validator(mode="after")
    def _consistent(self) -> Incident:
        if self.clients.total and self.clients.affected > self.clients.total:
            raise ValueError(
                f"clients.affected ({self.clients.affected}) exceeds clients.total "
                f"({self.clients.total})"
            )
        fc = self.financial_counterparts
        if fc.total and fc.affected > fc.total:
            raise ValueError(
                f"financial_counterparts.affected ({fc.affected}) exceeds "
                f"financial_counterparts.total ({fc.total})"
            )
        order: list[tuple[str, datetime | None]] = [
            ("detected_at", self.detected_at),
            ("classified_at", self.classified_at),
            ("initial_submitted_at", self.initial_submitted_at),
            ("intermediate_submitted_at", self.intermediate_submitted_at),
        ]
        if self.intermediate_submitted_at is not None and self.initial_submitted_at is None:
            raise ValueError(
                "intermediate_submitted_at is set but initial_submitted_at is not: the "
                "intermediate report follows the initial notification (CDR 2025/301 Art. 5(1)(b))"
            )
        if self.initial_submitted_at is not None and self.classified_at is None:
            raise ValueError(
                "initial_submitted_at is set but classified_at is not: the initial notification "
                "follows the classification as major (CDR 2025/301 Art. 5(1)(a))"
            )
        seen: list[tuple[str, datetime]] = [(n, t) for n, t in order if t is not None]
        for (prev_name, prev), (name, t) in itertools.pairwise(seen):
            if t < prev:
                raise ValueError(
                    f"{name} ({t.isoformat()}) is before {prev_name} ({prev.isoformat()})"
                )
        return self


class ThreatImpactScope(_Input):
    """Art. 10(a): what the threat could affect if it materialised."""

    critical_or_important_functions: StrictBool = False
    other_financial_entities: StrictBool = False
    third_party_providers: StrictBool = False
    clients_or_financial_counterparts: StrictBool = False


class ThreatProbability(_Input):
    """Art. 10(b): the entity's judgement of a high probability of materialisation, with the
    three elements it must at least take into account (recorded, so the judgement is
    reviewable)."""

    high: StrictBool
    exploitable_vulnerabilities: StrictBool
    threat_actor_capability_and_intent: StrictBool
    persistence_or_past_incidents: StrictBool
    rationale: str = ""


class ThreatPotentialCriteria(_Input):
    """Art. 10(c): which criteria the threat could meet if it materialised."""

    critical_services: StrictBool = False  # Art. 6
    clients_financial_counterparts_transactions: StrictBool = False  # Art. 9(1)
    geographical_spread: StrictBool = False  # Art. 9(4)
    # Art. 10 last subparagraph: these *may* also be considered
    reputational: StrictBool = False  # Art. 9(2)
    duration_downtime: StrictBool = False  # Art. 9(3)
    data_losses: StrictBool = False  # Art. 9(5)
    economic_impact: StrictBool = False  # Art. 9(6)
    consider_additional_thresholds: StrictBool = Field(
        False,
        description="The entity concluded that the 9(2), 9(3), 9(5) or 9(6) thresholds could "
        "be met and chooses to consider them (Art. 10, last subparagraph).",
    )


class CyberThreat(_Input):
    """A cyber threat to be assessed under Art. 10 of CDR 2024/1772."""

    threat_id: str = Field(min_length=1)
    entity: Entity
    detected_at: AwareDatetime
    description: str = ""
    could_affect: ThreatImpactScope
    probability: ThreatProbability
    potential_criteria: ThreatPotentialCriteria
    extra: dict[str, Any] = Field(default_factory=dict)


class HistoricalIncident(_Input):
    """One earlier incident for the recurring-incident check of Art. 8(2)."""

    apparent_root_cause: str = Field(
        min_length=1, description="Same apparent root cause: DORA Art. 20, first subpara. (b)."
    )
    occurred_at: AwareDatetime | None = Field(
        None, description="Occurrence time; the incident's detected_at when not given."
    )
    incident: Incident

    @property
    def when(self) -> datetime:
        return self.occurred_at or self.incident.detected_at


class IncidentHistory(_Input):
    """Incidents of the last months with their apparent root causes (monthly Art. 8(2) check)."""

    incidents: list[HistoricalIncident] = Field(default_factory=list)
