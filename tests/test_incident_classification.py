"""Classification per CDR 2024/1772: thresholds at/below/above, the gate, Art. 8(1)/(2), Art. 10."""

from __future__ import annotations

from typing import Any

import pytest

from agents.incident.classification import assess_threat, classify, classify_with_history
from agents.incident.inputs import IncidentInputError, parse
from agents.incident.models import CyberThreat, HistoricalIncident, Incident
from tests.test_incident_cases import MAJOR_CASES, THRESHOLD_CASES, incident


def _inc(**kw: Any) -> Incident:
    return parse(Incident, incident(**kw), "test")


@pytest.mark.parametrize(
    ("overrides", "code", "met"),
    [pytest.param(o, c, m, id=i) for i, o, c, m in THRESHOLD_CASES],
)
def test_threshold_boundaries(overrides: dict[str, Any], code: str, met: bool) -> None:
    result = classify(_inc(**overrides))
    crit = next(c for c in result.criteria if c.code == code)
    assert crit.met is met
    assert (code in result.criteria_met) is met
    # nothing else is met by the base incident
    assert set(result.criteria_met) <= {code}


@pytest.mark.parametrize(
    ("overrides", "major", "met"),
    [pytest.param(o, mj, m, id=i) for i, o, mj, m in MAJOR_CASES],
)
def test_major_rule(overrides: dict[str, Any], major: bool, met: list[str]) -> None:
    result = classify(_inc(**overrides))
    assert result.major is major
    assert result.criteria_met == met


def test_result_explains_figures_and_articles() -> None:
    result = classify(_inc(clients__affected=101, clients__total=1000, downtime_hours=2.5))
    cli = next(
        c for c in result.criteria if c.code == "clients_financial_counterparts_transactions"
    )
    a = next(x for x in cli.conditions if x.article == "Art. 9(1)(a)")
    assert a.figures == {"affected": 101, "total": 1000, "percent": 10.1, "threshold_percent": 10}
    assert a.met and "Art. 9(1)(a)" in cli.explanation
    assert result.decided_by.startswith("Art. 8(1)(b)")
    assert result.other_thresholds_met == 2
    assert "CDR (EU) 2024/1772" in cli.article


def test_gate_not_met_explains_why() -> None:
    result = classify(
        _inc(critical_services_affected=False, downtime_hours=3, economic_impact_eur=200_000)
    )
    assert not result.major and not result.gate.met
    assert "Art. 6" in result.gate.explanation
    assert "gate" in result.decided_by


def test_malicious_path_is_art_8_1_a() -> None:
    result = classify(_inc(malicious_unauthorised_access=True))
    assert result.major and result.malicious_access_path
    assert result.decided_by.startswith("Art. 8(1)(a)")
    # 9(5)(b) is not one of the "other" thresholds of Art. 8(1)(b)
    assert result.other_thresholds_met == 0


def _past(iid: str, when: str, cause: str, **kw: Any) -> HistoricalIncident:
    data = incident(incident_id=iid, detected_at=when, classified_at=None, **kw)
    return HistoricalIncident(apparent_root_cause=cause, incident=parse(Incident, data, iid))


CAUSE = "expired certificate on the payment gateway"


def test_recurring_incidents_collectively_major() -> None:
    # each: 1.5 h downtime, 60 000 EUR: neither threshold alone; together 3 h and 120 000 EUR
    now = _inc(downtime_hours=1.5, economic_impact_eur=60_000)
    past = [
        _past(
            "P-1",
            "2026-01-10T09:00:00+01:00",
            CAUSE,
            downtime_hours=1.5,
            economic_impact_eur=60_000,
        )
    ]
    assert not classify(now).major
    result = classify_with_history(now, CAUSE, past)
    assert result.major
    assert result.decided_by.startswith("Art. 8(2)")
    assert result.recurring is not None and result.recurring.incident_ids == ["P-1", "INC-1"]
    assert result.recurring.collective is not None
    assert set(result.recurring.collective.criteria_met) == {"duration_downtime", "economic_impact"}


@pytest.mark.parametrize(
    ("when", "cause", "major"),
    [
        pytest.param("2025-09-06T10:00:00+02:00", CAUSE, True, id="exactly_6_months_before"),
        pytest.param("2025-09-06T09:59:00+02:00", CAUSE, False, id="just_over_6_months"),
        pytest.param("2026-02-01T10:00:00+01:00", "another cause", False, id="other_root_cause"),
        pytest.param(
            "2026-02-01T10:00:00+01:00",
            "  Expired certificate on the PAYMENT gateway ",
            True,
            id="cause_case_insensitive",
        ),
    ],
)
def test_recurring_window_and_root_cause(when: str, cause: str, major: bool) -> None:
    now = _inc(downtime_hours=1.5, economic_impact_eur=60_000)  # detected 2026-03-06 10:00 CET
    past = [_past("P-1", when, cause, downtime_hours=1.5, economic_impact_eur=60_000)]
    assert classify_with_history(now, CAUSE, past).major is major


def test_recurring_ignores_individually_major_incidents_and_needs_two() -> None:
    now = _inc(downtime_hours=1.5, economic_impact_eur=60_000)
    major_before = _past(
        "P-2", "2026-02-01T10:00:00+01:00", CAUSE, downtime_hours=3, economic_impact_eur=200_000
    )
    result = classify_with_history(now, CAUSE, [major_before])
    assert not result.major
    assert result.recurring is not None and "two occurrences" in result.recurring.explanation


def test_recurring_collectively_below_thresholds() -> None:
    now = _inc(downtime_hours=0.5)
    past = [_past("P-1", "2026-02-01T10:00:00+01:00", CAUSE, downtime_hours=0.5)]
    result = classify_with_history(now, CAUSE, past)
    assert not result.major and result.recurring is not None and result.recurring.applicable


@pytest.mark.parametrize(
    "entity",
    [
        pytest.param({"microenterprise": True}, id="microenterprise"),
        pytest.param({"type": "exempted_payment_institution"}, id="art_16_1_entity"),
    ],
)
def test_recurring_not_for_micro_or_art_16_entities(entity: dict[str, Any]) -> None:
    data = incident(downtime_hours=1.5, economic_impact_eur=60_000)
    data["entity"] |= entity
    now = parse(Incident, data, "test")
    past = [
        _past(
            "P-1",
            "2026-02-01T10:00:00+01:00",
            CAUSE,
            downtime_hours=1.5,
            economic_impact_eur=60_000,
        )
    ]
    result = classify_with_history(now, CAUSE, past)
    assert not result.major
    assert result.recurring is not None and not result.recurring.applicable


def test_recurring_shares_are_not_inflated_by_summing_clients() -> None:
    # 80 of 1000 clients twice (maybe the same clients): 16 % collectively, capped at the base
    now = _inc(clients__affected=800, clients__total=1000)
    assert classify(now).criteria_met == ["clients_financial_counterparts_transactions"]
    past = [
        _past("P-1", "2026-02-01T10:00:00+01:00", CAUSE, clients__affected=800, clients__total=1000)
    ]
    result = classify_with_history(now, CAUSE, past)
    assert result.recurring is not None and result.recurring.collective is not None
    assert result.recurring.collective.incident_id == "INC-1+recurring"
    assert not result.major  # one criterion only


# ----------------------------------------------------------------- Art. 10 cyber threats
def _threat(**kw: Any) -> CyberThreat:
    data: dict[str, Any] = {
        "threat_id": "CT-1",
        "entity": {"type": "investment_firm", "member_state": "FR"},
        "detected_at": "2026-05-04T08:15:00+02:00",
        "could_affect": {"critical_or_important_functions": True},
        "probability": {
            "high": True,
            "exploitable_vulnerabilities": True,
            "threat_actor_capability_and_intent": True,
            "persistence_or_past_incidents": False,
        },
        "potential_criteria": {"critical_services": True},
    }
    for key, value in kw.items():
        section, field = key.split("__")
        data[section][field] = value
    return parse(CyberThreat, data, "threat")


@pytest.mark.parametrize(
    ("overrides", "significant", "failed"),
    [
        pytest.param({}, True, [], id="all_three"),
        pytest.param(
            {"could_affect__critical_or_important_functions": False},
            False,
            ["Art. 10(a)"],
            id="no_a",
        ),
        pytest.param(
            {
                "could_affect__critical_or_important_functions": False,
                "could_affect__clients_or_financial_counterparts": True,
            },
            True,
            [],
            id="a_via_clients",
        ),
        pytest.param({"probability__high": False}, False, ["Art. 10(b)"], id="no_b"),
        pytest.param(
            {"potential_criteria__critical_services": False}, False, ["Art. 10(c)"], id="no_c"
        ),
        pytest.param(
            {
                "potential_criteria__critical_services": False,
                "potential_criteria__geographical_spread": True,
            },
            True,
            [],
            id="c_via_9_4",
        ),
        pytest.param(
            {
                "potential_criteria__critical_services": False,
                "potential_criteria__clients_financial_counterparts_transactions": True,
            },
            True,
            [],
            id="c_via_9_1",
        ),
        pytest.param(
            {
                "potential_criteria__critical_services": False,
                "potential_criteria__economic_impact": True,
            },
            False,
            ["Art. 10(c)"],
            id="c_additional_not_considered",
        ),
        pytest.param(
            {
                "potential_criteria__critical_services": False,
                "potential_criteria__economic_impact": True,
                "potential_criteria__consider_additional_thresholds": True,
            },
            True,
            [],
            id="c_additional_considered",
        ),
    ],
)
def test_significant_cyber_threat(
    overrides: dict[str, Any], significant: bool, failed: list[str]
) -> None:
    result = assess_threat(_threat(**overrides))
    assert result.significant is significant
    assert [c.article for c in result.conditions if not c.met] == failed
    assert "voluntary" in result.notification


def test_threat_probability_elements_are_required() -> None:
    data = _threat().model_dump(mode="json")
    del data["probability"]["persistence_or_past_incidents"]
    with pytest.raises(IncidentInputError) as err:
        parse(CyberThreat, data, "threat.json")
    assert err.value.fields == ["probability.persistence_or_past_incidents"]


def test_monthly_recurring_check_over_the_register() -> None:
    from datetime import datetime

    from agents.incident.classification import monthly_recurring_check

    history = [
        _past(
            "A-1",
            "2026-01-10T09:00:00+01:00",
            CAUSE,
            downtime_hours=1.5,
            economic_impact_eur=60_000,
        ),
        _past(
            "A-2",
            "2026-02-10T09:00:00+01:00",
            CAUSE,
            downtime_hours=1.5,
            economic_impact_eur=60_000,
        ),
        _past("B-1", "2026-02-11T09:00:00+01:00", "disk full", downtime_hours=0.5),
        _past("B-2", "2026-02-12T09:00:00+01:00", "disk full", downtime_hours=0.5),
        _past(
            "C-1",
            "2025-06-01T09:00:00+02:00",
            "old cause",
            downtime_hours=1.9,
            economic_impact_eur=90_000,
        ),
        _past(
            "C-2",
            "2026-02-01T09:00:00+01:00",
            "old cause",
            downtime_hours=1.9,
            economic_impact_eur=90_000,
        ),
    ]
    result = monthly_recurring_check(history, datetime.fromisoformat("2026-03-01T00:00:00+01:00"))
    by_cause = {g.root_cause: g for g in result.groups}
    assert set(by_cause) == {CAUSE, "disk full"}  # C-1 is older than 6 months
    assert by_cause[CAUSE].major and by_cause[CAUSE].incident_ids == ["A-1", "A-2"]
    assert not by_cause["disk full"].major
    assert result.major_groups == 1
