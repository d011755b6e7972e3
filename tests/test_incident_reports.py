"""CIR 2025/302 reports: mandatory fields per stage (Annex II / IV), conditional fields,
content checks, export and drafts from an incident."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agents.incident.assess import assess
from agents.incident.classification import assess_threat
from agents.incident.inputs import IncidentInputError, parse
from agents.incident.models import CyberThreat, Incident
from agents.incident.reports import (
    INCIDENT_FIELDS,
    THREAT_FIELDS,
    CyberThreatNotification,
    IncidentReport,
    draft_report,
    draft_threat_notification,
    export,
    lei_valid,
    load_report,
    validate,
)
from tests.test_incident_cases import FIXTURES, incident

INITIAL: dict[str, Any] = json.loads((FIXTURES / "initial-complete.json").read_text())

INTERMEDIATE_EXTRA: dict[str, Any] = {
    "type_of_submission": "intermediate_report",
    "occurred_at": "2026-10-02T19:40:00+02:00",
    "recovered_at": "2026-10-03T00:15:00+02:00",
    "clients_affected": 48000,
    "clients_affected_percent": 11.7,
    "counterparts_affected": 0,
    "counterparts_affected_percent": 0,
    "relevant_clients_impact": False,
    "transactions_affected": 61000,
    "transactions_affected_percent": 11.7,
    "transactions_affected_value": 9300,
    "numbers_actual_or_estimates": [
        "actual_clients",
        "actual_transactions",
        "no_impact_financial_counterparts",
    ],
    "duration": "00:06:30",
    "service_downtime": "00:04:15",
    "duration_actual_or_estimates": "actual",
    "critical_services_information": "Card authorisation supports a critical function.",
    "incident_types": ["system_failure"],
    "functional_areas_and_processes": "Information technology; card payments",
    "infrastructure_affected": "yes",
    "infrastructure_description": "Payments database cluster, version 14.2, internal.",
    "clients_financial_interest_impact": "no",
    "other_authorities": ["none"],
    "temporary_actions": True,
    "temporary_actions_description": "Manual failover to the secondary site at 00:05.",
}

FINAL_EXTRA: dict[str, Any] = {
    "type_of_submission": "final_report",
    "root_causes_high_level": ["system_failure"],
    "root_causes_detailed": ["system_failure:software_compatibility_configuration"],
    "root_cause_information": "A quorum setting prevented automatic failover.",
    "resolution": "Quorum configuration corrected; failover tested monthly.",
    "root_cause_addressed_at": "2026-10-10T12:00:00+02:00",
    "resolved_at": "2026-10-03T00:15:00+02:00",
    "resolution_date_deviation": "none",
    "economic_threshold_details": "EUR 85 000, below EUR 100 000",
    "gross_costs_and_losses": 85,
    "financial_recoveries": 0,
}


def _report(**kw: Any) -> IncidentReport:
    return parse(IncidentReport, INITIAL | kw, "report")


def _missing(report: IncidentReport | CyberThreatNotification, stage: Any) -> list[str]:
    return [p.field for p in validate(report, stage).missing]


def test_field_tables_match_the_annexes() -> None:
    numbers = [f.number for f in INCIDENT_FIELDS]
    assert numbers[0] == "1.1" and numbers[-1] == "4.16"
    assert sum(n.startswith("1.") for n in numbers) == 15
    assert sum(n.startswith("2.") for n in numbers) == 10
    assert sum(n.startswith("3.") for n in numbers) == 35
    assert sum(n.startswith("4.") for n in numbers) == 16
    assert [f.number for f in THREAT_FIELDS] == [str(i) for i in range(1, 21)]
    described = {name: f.description for name, f in IncidentReport.model_fields.items()}
    for spec in INCIDENT_FIELDS:  # each attribute documents its Annex field number
        assert (described[spec.name] or "").split(" ")[0] == spec.number


def test_complete_reports_per_stage() -> None:
    assert _missing(_report(), "initial") == []
    intermediate = _report(**INTERMEDIATE_EXTRA)
    assert _missing(intermediate, "intermediate") == []
    final = _report(**(INTERMEDIATE_EXTRA | FINAL_EXTRA))
    assert _missing(final, "final") == []
    assert validate(final, "final").complete


@pytest.mark.parametrize(
    ("stage", "dropped", "field"),
    [
        ("initial", "submitter_name", "1.2"),
        ("initial", "discovery", "2.7"),
        ("initial", "bcp_activated", "2.9"),
        ("intermediate", "occurred_at", "3.2"),
        ("intermediate", "incident_types", "3.23"),
        ("final", "root_cause_information", "4.5"),
        ("final", "gross_costs_and_losses", "4.13"),
    ],
)
def test_each_missing_mandatory_field_is_named(stage: str, dropped: str, field: str) -> None:
    data = INITIAL | INTERMEDIATE_EXTRA | FINAL_EXTRA
    data["type_of_submission"] = {
        "initial": "initial_notification",
        "intermediate": "intermediate_report",
        "final": "final_report",
    }[stage]
    data.pop(dropped)
    report = parse(IncidentReport, data, "report")
    assert _missing(report, stage) == [field]


def test_later_fields_not_mandatory_for_initial() -> None:
    assert "3.2" not in validate(_report(), "initial").mandatory_fields
    assert "4.1" not in validate(_report(**INTERMEDIATE_EXTRA), "intermediate").mandatory_fields


@pytest.mark.parametrize(
    ("changes", "stage", "field"),
    [
        pytest.param(
            {"classification_criteria": ["geographical_spread", "critical_services"]},
            "initial",
            "2.6",
            id="spread_needs_states",
        ),
        pytest.param(
            {"context": {"part_of_group": True}}, "initial", "1.13", id="group_needs_parent"
        ),
        pytest.param(
            {"context": {"submitted_on_behalf": True}},
            "initial",
            "1.5",
            id="on_behalf_needs_entity",
        ),
        pytest.param(
            {"context": {"originates_from_third_party": True}},
            "initial",
            "2.8",
            id="third_party_origin",
        ),
        pytest.param(
            {"type_of_submission": "major_incident_reclassified_as_non_major"},
            "initial",
            "2.10",
            id="reclassification_needs_reason",
        ),
        pytest.param(
            {"incident_types": ["cybersecurity_related"]},
            "intermediate",
            "3.25",
            id="cyber_needs_techniques",
        ),
        pytest.param(
            {"incident_types": ["other"]}, "intermediate", "3.24", id="other_type_needs_text"
        ),
        pytest.param(
            {"infrastructure_description": None},
            "intermediate",
            "3.29",
            id="infrastructure_yes_needs_text",
        ),
        pytest.param(
            {"other_authorities": ["other"]}, "intermediate", "3.32", id="other_authority"
        ),
        pytest.param(
            {"classification_criteria": ["reputational", "critical_services"]},
            "intermediate",
            "3.13",
            id="reputational",
        ),
        pytest.param(
            {"classification_criteria": ["data_losses", "critical_services"]},
            "intermediate",
            "3.20",
            id="data_losses",
        ),
        pytest.param(
            {"root_causes_detailed": ["process_failure:ict_operations_and_security_operations"]},
            "final",
            "4.3",
            id="needs_additional_root_cause",
        ),
        pytest.param(
            {"root_causes_detailed": ["human_error:other"]}, "final", "4.4", id="other_root_cause"
        ),
        pytest.param({"context": {"recurring": True}}, "final", "4.15", id="recurring"),
    ],
)
def test_conditional_fields(changes: dict[str, Any], stage: str, field: str) -> None:
    base = INITIAL | INTERMEDIATE_EXTRA | FINAL_EXTRA
    base["type_of_submission"] = {
        "initial": "initial_notification",
        "intermediate": "intermediate_report",
        "final": "final_report",
    }[stage]
    before = parse(IncidentReport, base, "before")
    assert field not in _missing(before, stage)
    after = parse(
        IncidentReport, {k: v for k, v in (base | changes).items() if v is not None}, "after"
    )
    assert field in _missing(after, stage)


def test_no_transaction_impact_waives_3_9_to_3_11() -> None:
    data = INITIAL | INTERMEDIATE_EXTRA
    for name in (
        "transactions_affected",
        "transactions_affected_percent",
        "transactions_affected_value",
    ):
        data.pop(name)
    report = parse(IncidentReport, data, "r")
    assert {"3.9", "3.10", "3.11"} <= set(_missing(report, "intermediate"))
    data["numbers_actual_or_estimates"] = ["actual_clients", "no_impact_transactions"]
    report = parse(IncidentReport, data, "r")
    assert not {"3.9", "3.10", "3.11"} & set(_missing(report, "intermediate"))


def test_content_checks() -> None:
    assert lei_valid("529900DORABANK0DE006")
    assert not lei_valid("529900DORABANK0DE007")
    bad = validate(_report(submitter_code="529900DORABANK0DE007"), "initial")
    assert not bad.complete and [p.field for p in bad.invalid] == ["1.3"]
    on_behalf = _report(
        submitter_code="TPP-ROI-CODE-1",
        context={"submitted_on_behalf": True},
        affected_entity_name="Bank",
        affected_entity_lei="529900DORABANK0DE006",
    )
    assert validate(on_behalf, "initial").complete  # a TPP may use its RoI identification code
    wrong_type = validate(_report(type_of_submission="final_report"), "initial")
    assert [p.field for p in wrong_type.invalid] == ["1.1"]
    for field, value in (
        ("primary_contact_email", "not-an-email"),
        ("reporting_currency", "EURO"),
        ("member_states_impacted", ["DE", "US"]),
        ("duration", "6h30"),
        ("clients_affected_percent", 120),
        ("discovery", "twitter"),
    ):
        with pytest.raises(IncidentInputError) as err:
            _report(**{field: value})
        assert err.value.fields[0].startswith(field)


def test_export_and_reload() -> None:
    report = _report(**INTERMEDIATE_EXTRA)
    data = export(report, "intermediate")
    assert data["complete"] and data["template"].startswith("CIR (EU) 2025/302 Annex I")
    by_number = {f["number"]: f["value"] for f in data["fields"]}
    assert by_number["2.3"] == "2026-10-02T21:00:00Z"
    assert by_number["1.4"] == ["credit_institution"]
    again = load_report(json.loads(json.dumps(data)), "intermediate", "export.json")
    assert validate(again, "intermediate").complete


def test_draft_initial_from_incident() -> None:
    inc = parse(
        Incident,
        incident(
            downtime_hours=3, economic_impact_eur=150_000, member_states_affected=["DE", "AT"]
        ),
        "inc",
    )
    result = assess(inc)
    draft = draft_report(inc, result.classification, "initial")
    assert draft.classification_criteria == [
        "duration_downtime",
        "geographical_spread",
        "critical_services",
        "economic_impact",
    ]
    assert draft.member_states_impacted == ["AT", "DE"]
    assert draft.incident_reference == "INC-1"
    missing = _missing(draft, "initial")
    assert "2.4" in missing and "1.2" in missing and "2.6" not in missing
    later = draft_report(inc, result.classification, "intermediate")
    assert later.duration == "00:00:00" and later.service_downtime == "00:03:00"


def test_cyber_threat_notification() -> None:
    threat = parse(
        CyberThreat,
        json.loads(
            (
                FIXTURES.parent.parent.parent
                / "examples"
                / "incidents"
                / "phishing-kit-threat-it-insurer.json"
            ).read_text()
        ),
        "threat",
    )
    draft = draft_threat_notification(threat, assess_threat(threat))
    assert set(draft.potential_classification_criteria or []) == {
        "critical_services",
        "clients_financial_counterparts_transactions",
    }
    check = validate(draft, "cyber_threat")
    assert check.complete, check.missing
    blank = CyberThreatNotification()
    assert _missing(blank, "cyber_threat") == [
        "1",
        "2",
        "6",
        "7",
        "8",
        "12",
        "13",
        "14",
        "15",
        "16",
        "17",
    ]
    with_others = CyberThreatNotification(
        context={"others_notified": True, "submitted_on_behalf": True}
    )  # type: ignore[arg-type]
    assert {"3", "4", "5", "18"} <= set(_missing(with_others, "cyber_threat"))
