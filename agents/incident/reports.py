"""Incident reports as data: the templates of Commission Implementing Regulation (EU) 2025/302.

Why data and not documents: a competent authority's portal takes the Annex I / Annex III
fields one by one, and whether a report may be sent depends on which of them are filled.
So a report is a typed model whose attributes are the template's data fields (field
numbers as in the Annex), and :func:`validate` applies the "mandatory for initial /
intermediate / final" columns of Annex II (Annex IV for cyber threats), including the
conditional ones ("Yes, if 'Geographical spread' threshold is met").

* :class:`IncidentReport` - Annex I fields 1.1-1.15 (general), 2.1-2.10 (initial),
  3.1-3.35 (intermediate), 4.1-4.16 (final). One model for all three stages: an
  intermediate report repeats and updates the initial fields (Art. 1(4) of the ITS) and
  later fields may be filled early (Art. 1(1)).
* :class:`CyberThreatNotification` - Annex III fields 1-20 (voluntary, DORA Art. 19(2)).
* :func:`draft_report` fills what the incident and its classification already know.

Conditions the data cannot show (e.g. 3.1 "if applicable", 4.10/4.11 for resolution
entities) are listed as *recommended*, not enforced, and say so. Some conditions of
Annex II depend on facts outside the template; they are read from the report's
``context`` block (e.g. ``part_of_group`` for 1.13/1.14).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, field_validator

from agents.incident.classification import Classification
from agents.incident.models import EEA_MEMBER_STATES, EntityType, Incident

ITS = "CIR (EU) 2025/302"
ReportType = Literal["initial", "intermediate", "final", "cyber_threat"]
REPORT_TYPES: tuple[ReportType, ...] = ("initial", "intermediate", "final", "cyber_threat")
STAGES: tuple[ReportType, ...] = ("initial", "intermediate", "final")

SubmissionType = Literal[
    "initial_notification",
    "intermediate_report",
    "final_report",
    "major_incident_reclassified_as_non_major",
]
SUBMISSION_FOR_STAGE: dict[str, str] = {
    "initial": "initial_notification",
    "intermediate": "intermediate_report",
    "final": "final_report",
}
TriggerCriterion = Literal[
    "clients_financial_counterparts_transactions",
    "reputational",
    "duration_downtime",
    "geographical_spread",
    "data_losses",
    "critical_services",
    "economic_impact",
]
Discovery = Literal[
    "it_security",
    "staff",
    "internal_audit",
    "external_audit",
    "clients",
    "financial_counterparts",
    "third_party_provider",
    "attacker",
    "monitoring_systems",
    "authority_agency_law_enforcement",
    "other",
]
NumbersFlag = Literal[
    "actual_clients",
    "actual_financial_counterparts",
    "actual_transactions",
    "estimates_clients",
    "estimates_financial_counterparts",
    "estimates_transactions",
    "no_impact_clients",
    "no_impact_financial_counterparts",
    "no_impact_transactions",
]
ReputationalCategory = Literal[
    "media", "repeated_complaints", "regulatory_requirements_not_met", "client_loss"
]
ActualOrEstimate = Literal["actual", "estimates", "actual_and_estimates", "no_information"]
MemberStateImpact = Literal[
    "clients",
    "financial_counterparts",
    "branch",
    "group_financial_entities",
    "financial_market_infrastructure",
    "common_third_party_providers",
]
DataLossType = Literal["availability", "authenticity", "integrity", "confidentiality"]
IncidentType = Literal[
    "cybersecurity_related",
    "process_failure",
    "system_failure",
    "external_event",
    "payment_related",
    "other",
]
Technique = Literal[
    "social_engineering",
    "ddos",
    "identity_theft",
    "data_encryption_for_impact",
    "resource_hijacking",
    "data_exfiltration_and_manipulation",
    "data_destruction",
    "defacement",
    "supply_chain_attack",
    "other",
]
YesNoNA = Literal["yes", "no", "information_not_available"]
Authority = Literal[
    "police_law_enforcement",
    "csirt",
    "data_protection_authority",
    "national_cybersecurity_agency",
    "none",
    "other",
]
RootCause = Literal[
    "malicious_actions", "process_failure", "system_failure", "human_error", "external_event"
]
#: 4.2 detailed root causes that require an additional classification in 4.3
NEEDS_ADDITIONAL_ROOT_CAUSE = frozenset(
    {
        "process_failure:insufficient_monitoring_or_control",
        "process_failure:ict_risk_management_process_failure",
        "process_failure:ict_operations_and_security_operations",
        "process_failure:ict_systems_acquisition_development_maintenance",
    }
)
ThreatStatus = Literal["active", "inactive"]

_LEI = re.compile(r"^[A-Z0-9]{18}[0-9]{2}$")
_PHONE = re.compile(r"^\+[0-9][0-9 ()./-]{5,}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DDHHMM = re.compile(r"^\d{2,}:[0-2]\d:[0-5]\d$")


def lei_valid(code: str) -> bool:
    """ISO 17442: 20 characters, the last two check digits (ISO 7064 MOD 97-10)."""
    if not _LEI.match(code):
        return False
    digits = "".join(str(int(ch, 36)) for ch in code)
    return int(digits) % 97 == 1


def _check_phone(value: str | None) -> str | None:
    if value is not None and not _PHONE.match(value.strip()):
        raise ValueError(f"{value!r}: telephone numbers need the international prefix, e.g. +49...")
    return value


def _check_email(value: str | None) -> str | None:
    if value is not None and not _EMAIL.match(value.strip()):
        raise ValueError(f"{value!r} is not an e-mail address")
    return value


class ReportContext(BaseModel):
    """Facts outside the template that decide whether a conditional field is mandatory."""

    model_config = ConfigDict(extra="forbid")

    submitted_on_behalf: StrictBool = Field(
        False, description="Submitted by another entity (1.5/1.6; Annex III 3-5)."
    )
    part_of_group: StrictBool = Field(False, description="1.13/1.14: belongs to a group.")
    originates_from_third_party: StrictBool = Field(
        False, description="2.8: originates from a TPP or another financial entity."
    )
    recurring: StrictBool = Field(False, description="4.15/4.16: Art. 8(2) recurring incidents.")
    risk_to_critical_functions: StrictBool = Field(False, description="4.10 (BRRD entities).")
    resolvability_affected: StrictBool = Field(False, description="4.11 (BRRD entities).")
    others_notified: StrictBool = Field(False, description="Annex III 18.")


class _Report(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class IncidentReport(_Report):
    """CIR 2025/302 Annex I: one major ICT-related incident report (any stage)."""

    context: ReportContext = Field(default_factory=ReportContext)
    # 1. General information about the financial entity
    type_of_submission: SubmissionType | None = Field(None, description="1.1")
    submitter_name: str | None = Field(None, description="1.2")
    submitter_code: str | None = Field(None, description="1.3 (LEI for a financial entity)")
    affected_entity_types: list[EntityType] | None = Field(None, description="1.4")
    affected_entity_name: str | None = Field(None, description="1.5")
    affected_entity_lei: str | None = Field(None, description="1.6")
    primary_contact_name: str | None = Field(None, description="1.7")
    primary_contact_email: str | None = Field(None, description="1.8")
    primary_contact_phone: str | None = Field(None, description="1.9")
    second_contact_name: str | None = Field(None, description="1.10")
    second_contact_email: str | None = Field(None, description="1.11")
    second_contact_phone: str | None = Field(None, description="1.12")
    ultimate_parent_name: str | None = Field(None, description="1.13")
    ultimate_parent_lei: str | None = Field(None, description="1.14")
    reporting_currency: str | None = Field(None, description="1.15 (ISO 4217)")
    # 2. Initial notification
    incident_reference: str | None = Field(None, description="2.1")
    detected_at: AwareDatetime | None = Field(None, description="2.2")
    classified_at: AwareDatetime | None = Field(None, description="2.3")
    description: str | None = Field(None, description="2.4")
    classification_criteria: list[TriggerCriterion] | None = Field(None, description="2.5")
    member_states_impacted: list[str] | None = Field(None, description="2.6 (ISO 3166 alpha-2)")
    discovery: Discovery | None = Field(None, description="2.7")
    third_party_origin: str | None = Field(None, description="2.8 (name, code, code type)")
    bcp_activated: StrictBool | None = Field(None, description="2.9")
    other_information: str | None = Field(None, description="2.10")
    # 3. Intermediate report
    authority_reference: str | None = Field(None, description="3.1")
    occurred_at: AwareDatetime | None = Field(None, description="3.2")
    recovered_at: AwareDatetime | None = Field(None, description="3.3")
    clients_affected: int | None = Field(None, ge=0, description="3.4")
    clients_affected_percent: float | None = Field(None, ge=0, le=100, description="3.5")
    counterparts_affected: int | None = Field(None, ge=0, description="3.6")
    counterparts_affected_percent: float | None = Field(None, ge=0, le=100, description="3.7")
    relevant_clients_impact: StrictBool | None = Field(None, description="3.8")
    transactions_affected: int | None = Field(None, ge=0, description="3.9")
    transactions_affected_percent: float | None = Field(None, ge=0, description="3.10")
    transactions_affected_value: float | None = Field(None, ge=0, description="3.11")
    numbers_actual_or_estimates: list[NumbersFlag] | None = Field(None, description="3.12")
    reputational_impact: list[ReputationalCategory] | None = Field(None, description="3.13")
    reputational_context: str | None = Field(None, description="3.14")
    duration: str | None = Field(None, description="3.15 (DD:HH:MM)")
    service_downtime: str | None = Field(None, description="3.16 (DD:HH:MM)")
    duration_actual_or_estimates: ActualOrEstimate | None = Field(None, description="3.17")
    member_state_impact_types: list[MemberStateImpact] | None = Field(None, description="3.18")
    member_state_impact_description: str | None = Field(None, description="3.19")
    data_losses: list[DataLossType] | None = Field(None, description="3.20")
    data_losses_description: str | None = Field(None, description="3.21")
    critical_services_information: str | None = Field(None, description="3.22")
    incident_types: list[IncidentType] | None = Field(None, description="3.23")
    other_incident_type: str | None = Field(None, description="3.24")
    threat_techniques: list[Technique] | None = Field(None, description="3.25")
    other_techniques: str | None = Field(None, description="3.26")
    functional_areas_and_processes: str | None = Field(None, description="3.27")
    infrastructure_affected: YesNoNA | None = Field(None, description="3.28")
    infrastructure_description: str | None = Field(None, description="3.29")
    clients_financial_interest_impact: YesNoNA | None = Field(None, description="3.30")
    other_authorities: list[Authority] | None = Field(None, description="3.31")
    other_authorities_specification: str | None = Field(None, description="3.32")
    temporary_actions: StrictBool | None = Field(None, description="3.33")
    temporary_actions_description: str | None = Field(None, description="3.34")
    indicators_of_compromise: str | None = Field(None, description="3.35")
    # 4. Final report
    root_causes_high_level: list[RootCause] | None = Field(None, description="4.1")
    root_causes_detailed: list[str] | None = Field(
        None,
        description="4.2 ('<high-level>:<detail>', e.g. 'system_failure:network_configuration')",
    )
    root_causes_additional: list[str] | None = Field(None, description="4.3")
    other_root_causes: str | None = Field(None, description="4.4")
    root_cause_information: str | None = Field(None, description="4.5")
    resolution: str | None = Field(None, description="4.6")
    root_cause_addressed_at: AwareDatetime | None = Field(None, description="4.7")
    resolved_at: AwareDatetime | None = Field(None, description="4.8")
    resolution_date_deviation: str | None = Field(None, description="4.9")
    critical_functions_risk: str | None = Field(None, description="4.10")
    resolution_authorities_information: str | None = Field(None, description="4.11")
    economic_threshold_details: str | None = Field(None, description="4.12")
    gross_costs_and_losses: float | None = Field(None, ge=0, description="4.13")
    financial_recoveries: float | None = Field(None, ge=0, description="4.14")
    recurring_information: str | None = Field(None, description="4.15")
    recurring_first_occurred_at: AwareDatetime | None = Field(None, description="4.16")

    # LEIs are checked by validate(): 1.3 may also be a third party's RoI identification code

    @field_validator("primary_contact_phone", "second_contact_phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return _check_phone(value)

    @field_validator("primary_contact_email", "second_contact_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return _check_email(value)

    @field_validator("reporting_currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Z]{3}", value.strip().upper()):
            raise ValueError(f"{value!r} is not an ISO 4217 currency code such as 'EUR'")
        return value.strip().upper() if value else value

    @field_validator("member_states_impacted")
    @classmethod
    def _states(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        out = []
        for v in value:
            code = "GR" if v.strip().upper() == "EL" else v.strip().upper()
            if code not in EEA_MEMBER_STATES:
                raise ValueError(f"{v!r} is not an EEA Member State (ISO 3166 alpha-2)")
            out.append(code)
        return sorted(set(out))

    @field_validator("duration", "service_downtime")
    @classmethod
    def _ddhhmm(cls, value: str | None) -> str | None:
        if value is not None and not _DDHHMM.match(value):
            raise ValueError(f"{value!r}: expected DD:HH:MM, e.g. '01:02:30'")
        return value


class CyberThreatNotification(_Report):
    """CIR 2025/302 Annex III: voluntary notification of a significant cyber threat."""

    context: ReportContext = Field(default_factory=ReportContext)
    submitter_name: str | None = Field(None, description="1")
    submitter_code: str | None = Field(None, description="2")
    submitter_entity_types: list[EntityType] | None = Field(None, description="3")
    entity_name: str | None = Field(None, description="4")
    entity_lei: str | None = Field(None, description="5")
    primary_contact_name: str | None = Field(None, description="6")
    primary_contact_email: str | None = Field(None, description="7")
    primary_contact_phone: str | None = Field(None, description="8")
    second_contact_name: str | None = Field(None, description="9")
    second_contact_email: str | None = Field(None, description="10")
    second_contact_phone: str | None = Field(None, description="11")
    detected_at: AwareDatetime | None = Field(None, description="12")
    description: str | None = Field(None, description="13")
    potential_impact: str | None = Field(None, description="14")
    potential_classification_criteria: list[TriggerCriterion] | None = Field(None, description="15")
    status: ThreatStatus | None = Field(None, description="16")
    preventive_actions: str | None = Field(None, description="17")
    other_stakeholders_notified: str | None = Field(None, description="18")
    indicators_of_compromise: str | None = Field(None, description="19")
    other_information: str | None = Field(None, description="20")

    @field_validator("primary_contact_phone", "second_contact_phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return _check_phone(value)

    @field_validator("primary_contact_email", "second_contact_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return _check_email(value)


# ----------------------------------------------------------------- mandatory rules
Rule = Callable[[Any], bool]
ALWAYS: Rule = lambda r: True  # noqa: E731
NEVER: Rule = lambda r: False  # noqa: E731


def _has(values: list[str] | None, item: str) -> bool:
    return bool(values) and item in (values or [])


def _criterion(code: str) -> Rule:
    return lambda r: _has(r.classification_criteria, code)


@dataclass(frozen=True)
class FieldSpec:
    """One data field: number, attribute, Annex label, and when it is mandatory per stage."""

    number: str
    name: str
    label: str
    when: dict[str, Rule] = field(default_factory=dict)  # stage -> is it mandatory?
    condition: str = ""  # the Annex's wording of a conditional "Yes, if ..."
    recommended: str = ""  # "if applicable" conditions the data cannot decide

    def mandatory(self, stage: str, report: Any) -> bool:
        return self.when.get(stage, NEVER)(report)


def _all(rule: Rule = ALWAYS) -> dict[str, Rule]:
    return {"initial": rule, "intermediate": rule, "final": rule}


def _later(rule: Rule = ALWAYS) -> dict[str, Rule]:
    return {"intermediate": rule, "final": rule}


def _final(rule: Rule = ALWAYS) -> dict[str, Rule]:
    return {"final": rule}


_behalf: Rule = lambda r: r.context.submitted_on_behalf  # noqa: E731
_group: Rule = lambda r: r.context.part_of_group  # noqa: E731
_reclassified: Rule = lambda r: r.type_of_submission == "major_incident_reclassified_as_non_major"  # noqa: E731
_no_tx_impact: Rule = lambda r: _has(r.numbers_actual_or_estimates, "no_impact_transactions")  # noqa: E731
_cyber: Rule = lambda r: _has(r.incident_types, "cybersecurity_related")  # noqa: E731


def _downtime(r: Any) -> bool:
    return r.recovered_at is not None or _has(r.classification_criteria, "duration_downtime")


def _additional_root_cause(r: Any) -> bool:
    return any(c in NEEDS_ADDITIONAL_ROOT_CAUSE for c in r.root_causes_detailed or [])


def _other_root_cause(r: Any) -> bool:
    return any(c.endswith(":other") for c in r.root_causes_detailed or [])


INCIDENT_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("1.1", "type_of_submission", "Type of submission", when=_all()),
    FieldSpec("1.2", "submitter_name", "Name of the entity submitting the report", when=_all()),
    FieldSpec(
        "1.3",
        "submitter_code",
        "Identification code of the entity submitting the report",
        when=_all(),
    ),
    FieldSpec("1.4", "affected_entity_types", "Type of financial entity affected", when=_all()),
    FieldSpec(
        "1.5",
        "affected_entity_name",
        "Name of the financial entity affected",
        when=_all(_behalf),
        condition="if the affected entity is not the submitter, or aggregated reporting",
    ),
    FieldSpec(
        "1.6",
        "affected_entity_lei",
        "LEI code of the financial entity affected",
        when=_all(_behalf),
        condition="if the affected entity is not the submitter, or aggregated reporting",
    ),
    FieldSpec("1.7", "primary_contact_name", "Primary contact person name", when=_all()),
    FieldSpec("1.8", "primary_contact_email", "Primary contact person email", when=_all()),
    FieldSpec("1.9", "primary_contact_phone", "Primary contact person telephone", when=_all()),
    FieldSpec("1.10", "second_contact_name", "Second contact person name", when=_all()),
    FieldSpec("1.11", "second_contact_email", "Second contact person email", when=_all()),
    FieldSpec("1.12", "second_contact_phone", "Second contact person telephone", when=_all()),
    FieldSpec(
        "1.13",
        "ultimate_parent_name",
        "Name of the ultimate parent undertaking",
        when=_all(_group),
        condition="if the financial entity belongs to a group",
    ),
    FieldSpec(
        "1.14",
        "ultimate_parent_lei",
        "LEI code of the ultimate parent undertaking",
        when=_all(_group),
        condition="if the financial entity belongs to a group",
    ),
    FieldSpec("1.15", "reporting_currency", "Reporting currency", when=_all()),
    FieldSpec(
        "2.1",
        "incident_reference",
        "Incident reference code assigned by the financial entity",
        when=_all(),
    ),
    FieldSpec(
        "2.2", "detected_at", "Date and time of detection of the ICT-related incident", when=_all()
    ),
    FieldSpec(
        "2.3",
        "classified_at",
        "Date and time of classification of the incident as major",
        when=_all(),
    ),
    FieldSpec("2.4", "description", "Description of the ICT-related incident", when=_all()),
    FieldSpec(
        "2.5",
        "classification_criteria",
        "Classification criteria that triggered the incident report",
        when=_all(),
    ),
    FieldSpec(
        "2.6",
        "member_states_impacted",
        "Materiality thresholds for the classification criterion 'Geographical spread'",
        when=_all(_criterion("geographical_spread")),
        condition="if the 'Geographical spread' threshold is met",
    ),
    FieldSpec("2.7", "discovery", "Discovery of the major ICT-related incident", when=_all()),
    FieldSpec(
        "2.8",
        "third_party_origin",
        "Indication whether the incident originates from a third-party provider or another financial entity",
        when=_all(lambda r: r.context.originates_from_third_party),
        condition="if the incident originates from a third-party provider or another financial entity",
    ),
    FieldSpec(
        "2.9", "bcp_activated", "Activation of business continuity plan, if activated", when=_all()
    ),
    FieldSpec(
        "2.10",
        "other_information",
        "Other relevant information",
        when=_all(_reclassified),
        condition="if the incident has been reclassified as non-major (or there is other information)",
    ),
    FieldSpec(
        "3.1",
        "authority_reference",
        "Incident reference code provided by the competent authority",
        recommended="intermediate and final report, if the competent authority assigned one",
    ),
    FieldSpec("3.2", "occurred_at", "Date and time of occurrence of the incident", when=_later()),
    FieldSpec(
        "3.3",
        "recovered_at",
        "Date and time when services, activities or operations have been recovered",
        when=_later(lambda r: r.service_downtime is not None),
        condition="if 3.16 'Service downtime' is populated",
    ),
    FieldSpec("3.4", "clients_affected", "Number of clients affected", when=_later()),
    FieldSpec("3.5", "clients_affected_percent", "Percentage of clients affected", when=_later()),
    FieldSpec(
        "3.6", "counterparts_affected", "Number of financial counterparts affected", when=_later()
    ),
    FieldSpec(
        "3.7",
        "counterparts_affected_percent",
        "Percentage of financial counterparts affected",
        when=_later(),
    ),
    FieldSpec(
        "3.8",
        "relevant_clients_impact",
        "Impact on relevant clients or financial counterparts",
        when=_later(_criterion("clients_financial_counterparts_transactions")),
        condition="if the clients, counterparts and transactions criterion triggered the report "
        "(Annex II: if the 'relevance of clients and financial counterparts' threshold is met)",
    ),
    FieldSpec(
        "3.9",
        "transactions_affected",
        "Number of affected transactions",
        when=_later(lambda r: not _no_tx_impact(r)),
        condition="if any transaction has been affected (not flagged 'no impact on transactions' in 3.12)",
    ),
    FieldSpec(
        "3.10",
        "transactions_affected_percent",
        "Percentage of affected transactions",
        when=_later(lambda r: not _no_tx_impact(r)),
        condition="if any transaction has been affected",
    ),
    FieldSpec(
        "3.11",
        "transactions_affected_value",
        "Value of affected transactions",
        when=_later(lambda r: not _no_tx_impact(r)),
        condition="if any transaction has been affected",
    ),
    FieldSpec(
        "3.12",
        "numbers_actual_or_estimates",
        "Information on whether the numbers are actual or estimates, or whether there has not been any impact",
        when=_later(),
    ),
    FieldSpec(
        "3.13",
        "reputational_impact",
        "Reputational impact",
        when=_later(_criterion("reputational")),
        condition="if the 'Reputational impact' criterion is met",
    ),
    FieldSpec(
        "3.14",
        "reputational_context",
        "Contextual information about the reputational impact",
        when=_later(_criterion("reputational")),
        condition="if the 'Reputational impact' criterion is met",
    ),
    FieldSpec("3.15", "duration", "Duration of the incident", when=_later()),
    FieldSpec(
        "3.16",
        "service_downtime",
        "Service downtime",
        when=_later(_downtime),
        condition="if the incident has caused a service downtime (3.3 set or the duration/downtime criterion met)",
    ),
    FieldSpec(
        "3.17",
        "duration_actual_or_estimates",
        "Information on whether the numbers for duration and service downtime are actual or estimates",
        when=_later(_criterion("duration_downtime")),
        condition="if the 'Duration and service downtime' criterion is met",
    ),
    FieldSpec(
        "3.18",
        "member_state_impact_types",
        "Types of impact in the Member States",
        when=_later(_criterion("geographical_spread")),
        condition="if the 'Geographical spread' threshold is met",
    ),
    FieldSpec(
        "3.19",
        "member_state_impact_description",
        "Description of how the incident has an impact in other Member States",
        when=_later(_criterion("geographical_spread")),
        condition="if the 'Geographical spread' threshold is met",
    ),
    FieldSpec(
        "3.20",
        "data_losses",
        "Materiality thresholds for the classification criterion 'Data losses'",
        when=_later(_criterion("data_losses")),
        condition="if the 'Data losses' criterion is met",
    ),
    FieldSpec(
        "3.21",
        "data_losses_description",
        "Description of the data losses",
        when=_later(_criterion("data_losses")),
        condition="if the 'Data losses' criterion is met",
    ),
    FieldSpec(
        "3.22",
        "critical_services_information",
        "Classification criterion 'Critical services affected'",
        when=_later(),
    ),
    FieldSpec("3.23", "incident_types", "Type of the incident", when=_later()),
    FieldSpec(
        "3.24",
        "other_incident_type",
        "Other types of incidents",
        when=_later(lambda r: _has(r.incident_types, "other")),
        condition="if 'other' is selected in 3.23",
    ),
    FieldSpec(
        "3.25",
        "threat_techniques",
        "Threats and techniques used by the threat actor",
        when=_later(_cyber),
        condition="if the incident is 'cybersecurity-related' in 3.23",
    ),
    FieldSpec(
        "3.26",
        "other_techniques",
        "Other types of techniques",
        when=_later(lambda r: _has(r.threat_techniques, "other")),
        condition="if 'other' is selected in 3.25",
    ),
    FieldSpec(
        "3.27",
        "functional_areas_and_processes",
        "Information about affected functional areas and business processes",
        when=_later(),
    ),
    FieldSpec(
        "3.28",
        "infrastructure_affected",
        "Affected infrastructure components supporting business processes",
        when=_later(),
    ),
    FieldSpec(
        "3.29",
        "infrastructure_description",
        "Information about affected infrastructure components supporting business processes",
        when=_later(lambda r: r.infrastructure_affected == "yes"),
        condition="if 3.28 is 'yes'",
    ),
    FieldSpec(
        "3.30",
        "clients_financial_interest_impact",
        "Impact on the financial interest of clients",
        when=_later(),
    ),
    FieldSpec("3.31", "other_authorities", "Reporting to other authorities", when=_later()),
    FieldSpec(
        "3.32",
        "other_authorities_specification",
        "Specification of 'other' authorities",
        when=_later(lambda r: _has(r.other_authorities, "other")),
        condition="if 'other' is selected in 3.31",
    ),
    FieldSpec(
        "3.33",
        "temporary_actions",
        "Temporary actions/measures taken or planned to be taken to recover from the incident",
        when=_later(),
    ),
    FieldSpec(
        "3.34",
        "temporary_actions_description",
        "Description of any temporary actions and measures taken or planned",
        when=_later(lambda r: r.temporary_actions is True),
        condition="if 3.33 is 'yes'",
    ),
    FieldSpec(
        "3.35",
        "indicators_of_compromise",
        "Indicators of compromise",
        when=_later(_cyber),
        condition="if 'cybersecurity-related' is selected in 3.23 (NIS2-scope entities, where relevant)",
    ),
    FieldSpec(
        "4.1",
        "root_causes_high_level",
        "High-level classification of root causes of the incident",
        when=_final(),
    ),
    FieldSpec(
        "4.2",
        "root_causes_detailed",
        "Detailed classification of root causes of the incident",
        when=_final(),
    ),
    FieldSpec(
        "4.3",
        "root_causes_additional",
        "Additional classification of root causes of the incident",
        when=_final(_additional_root_cause),
        condition="if 4.2 lists a category that needs further granularity (process failure (a), (c), (d), (g))",
    ),
    FieldSpec(
        "4.4",
        "other_root_causes",
        "Other types of root cause types",
        when=_final(_other_root_cause),
        condition="if 'other' is selected in 4.2",
    ),
    FieldSpec(
        "4.5",
        "root_cause_information",
        "Information about the root causes of the incident",
        when=_final(),
    ),
    FieldSpec("4.6", "resolution", "Incident resolution summary", when=_final()),
    FieldSpec(
        "4.7",
        "root_cause_addressed_at",
        "Date and time when the incident root cause was addressed",
        when=_final(),
    ),
    FieldSpec("4.8", "resolved_at", "Date and time when the incident was resolved", when=_final()),
    FieldSpec(
        "4.9",
        "resolution_date_deviation",
        "Information if the permanent resolution date differs from the initially planned implementation date",
        when=_final(),
    ),
    FieldSpec(
        "4.10",
        "critical_functions_risk",
        "Assessment of risk to critical functions for resolution purposes",
        when=_final(lambda r: r.context.risk_to_critical_functions),
        condition="if the incident poses a risk to critical functions (Directive 2014/59/EU Art. 2(1)(35))",
    ),
    FieldSpec(
        "4.11",
        "resolution_authorities_information",
        "Information relevant for resolution authorities",
        when=_final(lambda r: r.context.resolvability_affected),
        condition="if the incident has affected the resolvability of the entity or the group",
    ),
    FieldSpec(
        "4.12",
        "economic_threshold_details",
        "Materiality threshold for the classification criterion 'Economic impact'",
        when=_final(),
    ),
    FieldSpec(
        "4.13",
        "gross_costs_and_losses",
        "Amount of gross direct and indirect costs and losses",
        when=_final(),
    ),
    FieldSpec("4.14", "financial_recoveries", "Amount of financial recoveries", when=_final()),
    FieldSpec(
        "4.15",
        "recurring_information",
        "Information on whether the non-major incidents have been recurring",
        when=_final(lambda r: r.context.recurring),
        condition="if the major incident comprises recurring non-major incidents",
    ),
    FieldSpec(
        "4.16",
        "recurring_first_occurred_at",
        "Date and time of occurrence of recurring incidents",
        when=_final(lambda r: r.context.recurring),
        condition="for recurring incidents",
    ),
)


def _threat(rule: Rule = ALWAYS) -> dict[str, Rule]:
    return {"cyber_threat": rule}


THREAT_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "1", "submitter_name", "Name of the entity submitting the notification", when=_threat()
    ),
    FieldSpec(
        "2",
        "submitter_code",
        "Identification code of the entity submitting the notification",
        when=_threat(),
    ),
    FieldSpec(
        "3",
        "submitter_entity_types",
        "Type of the financial entity submitting the notification",
        when=_threat(_behalf),
        condition="if the notification is not provided by the affected financial entity directly",
    ),
    FieldSpec(
        "4",
        "entity_name",
        "Name of the financial entity",
        when=_threat(_behalf),
        condition="if the financial entity is different from the submitting entity",
    ),
    FieldSpec(
        "5",
        "entity_lei",
        "LEI code of the financial entity",
        when=_threat(_behalf),
        condition="if the financial entity is different from the submitting entity",
    ),
    FieldSpec("6", "primary_contact_name", "Primary contact person name", when=_threat()),
    FieldSpec("7", "primary_contact_email", "Primary contact person email", when=_threat()),
    FieldSpec("8", "primary_contact_phone", "Primary contact person telephone", when=_threat()),
    FieldSpec("9", "second_contact_name", "Second contact person name", recommended="if available"),
    FieldSpec(
        "10", "second_contact_email", "Second contact person email", recommended="if available"
    ),
    FieldSpec(
        "11", "second_contact_phone", "Second contact person telephone", recommended="if available"
    ),
    FieldSpec(
        "12", "detected_at", "Date and time of detection of the cyber threat", when=_threat()
    ),
    FieldSpec("13", "description", "Description of the significant cyber threat", when=_threat()),
    FieldSpec("14", "potential_impact", "Information about potential impact", when=_threat()),
    FieldSpec(
        "15",
        "potential_classification_criteria",
        "Potential incident classification criteria",
        when=_threat(),
    ),
    FieldSpec("16", "status", "Status of the cyber threat", when=_threat()),
    FieldSpec(
        "17", "preventive_actions", "Actions taken to prevent materialisation", when=_threat()
    ),
    FieldSpec(
        "18",
        "other_stakeholders_notified",
        "Notification to other stakeholders",
        when=_threat(lambda r: r.context.others_notified),
        condition="if other financial entities or authorities have been informed",
    ),
    FieldSpec(
        "19",
        "indicators_of_compromise",
        "Indicators of compromise",
        recommended="if IoCs are available",
    ),
    FieldSpec(
        "20",
        "other_information",
        "Other relevant information",
        recommended="if there is other information",
    ),
)


# ----------------------------------------------------------------- validation
class FieldProblem(BaseModel):
    field: str  # Annex field number, e.g. "2.4"
    name: str
    label: str
    message: str


class ValidationReport(BaseModel):
    """Which mandatory fields of a stage are missing or wrong; ``complete`` = may be sent."""

    report_type: ReportType
    template: str
    complete: bool
    missing: list[FieldProblem]
    invalid: list[FieldProblem]
    recommended: list[FieldProblem]
    mandatory_fields: list[str]


def _empty(value: Any) -> bool:
    return (
        value is None
        or (isinstance(value, str | list) and len(value) == 0)
        or (isinstance(value, str) and not value.strip())
    )


def validate(
    report: IncidentReport | CyberThreatNotification, report_type: ReportType
) -> ValidationReport:
    """Mandatory fields of ``report_type`` per Annex II (incidents) or Annex IV (threats)."""
    specs: tuple[FieldSpec, ...]
    if report_type == "cyber_threat":
        if not isinstance(report, CyberThreatNotification):
            raise TypeError("a cyber_threat report must be a CyberThreatNotification")
        specs, template = THREAT_FIELDS, f"{ITS} Annex III (instructions: Annex IV)"
    else:
        if not isinstance(report, IncidentReport):
            raise TypeError(f"a {report_type} report must be an IncidentReport")
        specs, template = INCIDENT_FIELDS, f"{ITS} Annex I (instructions: Annex II)"
    stage = report_type
    missing, invalid, recommended, mandatory = [], [], [], []
    for spec in specs:
        value = getattr(report, spec.name)
        if spec.mandatory(stage, report):
            mandatory.append(spec.number)
            if _empty(value):
                why = f"mandatory for the {_stage_name(stage)}"
                if spec.condition:
                    why += f" ({spec.condition})"
                missing.append(
                    FieldProblem(field=spec.number, name=spec.name, label=spec.label, message=why)
                )
        elif spec.recommended and _empty(value) and _stage_reached(spec.number, stage):
            recommended.append(
                FieldProblem(
                    field=spec.number,
                    name=spec.name,
                    label=spec.label,
                    message=f"not enforced: {spec.recommended}",
                )
            )
    invalid.extend(_content_checks(report, stage))
    return ValidationReport(
        report_type=report_type,
        template=template,
        complete=not missing and not invalid,
        missing=missing,
        invalid=invalid,
        recommended=recommended,
        mandatory_fields=mandatory,
    )


def _stage_reached(number: str, stage: str) -> bool:
    """Section 3 fields concern the intermediate report onwards, section 4 the final one."""
    if stage == "cyber_threat":
        return True
    section = number.split(".", maxsplit=1)[0]
    return {"3": stage in ("intermediate", "final"), "4": stage == "final"}.get(section, True)


def _stage_name(stage: str) -> str:
    return {
        "initial": "initial notification",
        "intermediate": "intermediate report",
        "final": "final report",
        "cyber_threat": "cyber threat notification",
    }[stage]


def _content_checks(
    report: IncidentReport | CyberThreatNotification, stage: str
) -> list[FieldProblem]:
    out: list[FieldProblem] = []
    specs = {s.name: s for s in (THREAT_FIELDS if stage == "cyber_threat" else INCIDENT_FIELDS)}

    def bad(name: str, message: str) -> None:
        s = specs[name]
        out.append(FieldProblem(field=s.number, name=name, label=s.label, message=message))

    if isinstance(report, IncidentReport):
        expected = SUBMISSION_FOR_STAGE[stage]
        if report.type_of_submission not in (
            None,
            expected,
            "major_incident_reclassified_as_non_major",
        ):
            bad(
                "type_of_submission",
                f"is {report.type_of_submission!r}, expected {expected!r} for this report",
            )
        for name in ("affected_entity_lei", "ultimate_parent_lei"):
            value = getattr(report, name)
            if value and not lei_valid(value):
                bad(name, f"{value!r} is not a valid LEI (ISO 17442 check digits)")
        code = report.submitter_code
        if code and not report.context.submitted_on_behalf and not lei_valid(code):
            bad(
                "submitter_code",
                f"{code!r}: a financial entity identifies itself by a valid LEI (ISO 17442)",
            )
        if (
            report.detected_at
            and report.classified_at
            and report.classified_at < report.detected_at
        ):
            bad("classified_at", "classification is before detection")
        if report.occurred_at and report.detected_at and report.occurred_at > report.detected_at:
            bad("occurred_at", "occurrence is after detection")
        if (
            report.clients_affected_percent is not None
            and round(report.clients_affected_percent, 1) != report.clients_affected_percent
        ):
            bad("clients_affected_percent", "at most one decimal place (round half-up)")
    else:
        if report.entity_lei and not lei_valid(report.entity_lei):
            bad("entity_lei", f"{report.entity_lei!r} is not a valid LEI (ISO 17442 check digits)")
        code = report.submitter_code
        if code and not report.context.submitted_on_behalf and not lei_valid(code):
            bad(
                "submitter_code",
                f"{code!r}: a financial entity identifies itself by a valid LEI (ISO 17442)",
            )
    return out


# ----------------------------------------------------------------- export
def _utc(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # Annex II: ISO 8601 UTC
    return value


def export(
    report: IncidentReport | CyberThreatNotification, report_type: ReportType
) -> dict[str, Any]:
    """The report as JSON data: every template field by number, timestamps in UTC."""
    specs = THREAT_FIELDS if report_type == "cyber_threat" else INCIDENT_FIELDS
    check = validate(report, report_type)
    fields = []
    for spec in specs:
        value = getattr(report, spec.name)
        if isinstance(value, list):
            value = [v.value if hasattr(v, "value") else v for v in value]
        fields.append(
            {"number": spec.number, "name": spec.name, "label": spec.label, "value": _utc(value)}
        )
    return {
        "template": check.template,
        "report_type": report_type,
        "complete": check.complete,
        "missing_mandatory": [p.field for p in check.missing],
        "fields": fields,
    }


def load_report(
    data: Any, report_type: ReportType, source: str
) -> IncidentReport | CyberThreatNotification:
    """Parse a report document (named attributes, or the ``fields`` list :func:`export` writes)."""
    from agents.incident.inputs import parse

    if isinstance(data, dict) and isinstance(data.get("fields"), list):
        data = {f["name"]: f["value"] for f in data["fields"] if f.get("value") is not None} | (
            {"context": data["context"]} if "context" in data else {}
        )
    model: type[IncidentReport] | type[CyberThreatNotification] = (
        CyberThreatNotification if report_type == "cyber_threat" else IncidentReport
    )
    return parse(model, data, source)


# ----------------------------------------------------------------- drafts
def _ddhhmm(hours: float) -> str:
    minutes = round(hours * 60)
    d, rest = divmod(minutes, 24 * 60)
    h, m = divmod(rest, 60)
    return f"{d:02d}:{h:02d}:{m:02d}"


def _pct1(part: float, whole: float) -> float | None:
    if whole <= 0:
        return None
    from decimal import ROUND_HALF_UP, Decimal

    value = Decimal(str(part)) * 100 / Decimal(str(whole))
    return float(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def draft_report(
    incident: Incident, classification: Classification, stage: ReportType
) -> IncidentReport:
    """Fill what the incident and its classification already know for ``stage``.

    Names, contacts and narratives come from ``incident.extra["report"]`` (attribute names
    of :class:`IncidentReport`), so a run can produce a complete draft for approval.
    """
    if stage == "cyber_threat":
        raise ValueError("use draft_threat_notification for cyber threats")
    criteria: list[str] = list(classification.criteria_met)
    if classification.gate.met:
        criteria.append("critical_services")
    order = list(TriggerCriterion.__args__)  # type: ignore[attr-defined]
    values: dict[str, Any] = {
        "type_of_submission": SUBMISSION_FOR_STAGE[stage],
        "affected_entity_types": [incident.entity.type],
        "incident_reference": incident.incident_id,
        "detected_at": incident.detected_at,
        "classified_at": incident.classified_at,
        "classification_criteria": sorted(set(criteria), key=order.index),
        "reporting_currency": "EUR",
    }
    if "geographical_spread" in criteria:
        values["member_states_impacted"] = list(incident.member_states_affected)
    if stage in ("intermediate", "final"):
        c, fc, t = incident.clients, incident.financial_counterparts, incident.transactions
        values |= {
            "clients_affected": c.affected,
            "clients_affected_percent": _pct1(c.affected, c.total),
            "counterparts_affected": fc.affected,
            "counterparts_affected_percent": _pct1(fc.affected, fc.total),
            "relevant_clients_impact": c.relevant_affected,
            "transactions_affected": t.affected_count,
            "transactions_affected_percent": _pct1(t.affected_count, t.daily_average_count),
            "transactions_affected_value": t.affected_value_eur,
            "duration": _ddhhmm(incident.duration_hours),
        }
        if incident.downtime_hours:
            values["service_downtime"] = _ddhhmm(incident.downtime_hours)
        rep = incident.reputational
        cats = [
            name
            for name, on in (
                ("media", rep.media_coverage),
                ("repeated_complaints", rep.repeated_complaints),
                ("regulatory_requirements_not_met", rep.regulatory_breach_likely),
                ("client_loss", rep.client_loss_likely),
            )
            if on
        ]
        if cats:
            values["reputational_impact"] = cats
    if stage == "final":
        values["gross_costs_and_losses"] = incident.economic_impact_eur
        values["economic_threshold_details"] = next(
            x.explanation for x in classification.criteria if x.code == "economic_impact"
        )
    if classification.recurring and classification.recurring.major:
        values["context"] = ReportContext(recurring=True)
    provided = incident.extra.get("report", {})
    if not isinstance(provided, dict):
        raise ValueError("extra.report must be an object of IncidentReport fields")
    values |= provided
    from agents.incident.inputs import parse

    return parse(IncidentReport, values, f"incident {incident.incident_id} report draft")


__all__ = [
    "INCIDENT_FIELDS",
    "REPORT_TYPES",
    "THREAT_FIELDS",
    "CyberThreatNotification",
    "FieldSpec",
    "IncidentReport",
    "ReportContext",
    "ValidationReport",
    "draft_report",
    "export",
    "lei_valid",
    "load_report",
    "validate",
]


def draft_threat_notification(threat: Any, assessment: Any) -> CyberThreatNotification:
    """Annex III draft from an Art. 10 assessment; contacts etc. from ``threat.extra["report"]``."""
    from agents.incident.inputs import parse

    values: dict[str, Any] = {
        "detected_at": threat.detected_at,
        "description": threat.description or None,
        "potential_classification_criteria": [
            c
            for c in assessment.potential_criteria
            if c in TriggerCriterion.__args__  # type: ignore[attr-defined]
        ],
        "submitter_entity_types": [threat.entity.type],
    }
    provided = threat.extra.get("report", {})
    if not isinstance(provided, dict):
        raise ValueError("extra.report must be an object of CyberThreatNotification fields")
    values |= provided
    return parse(CyberThreatNotification, values, f"threat {threat.threat_id} notification draft")
