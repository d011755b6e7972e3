"""Incident scenarios shared by the incident test modules (library and CLI must agree).

Each threshold case is (id, overrides, expected criterion met?) on the base incident of
``tests/fixtures/incidents/base-incident.json`` (nothing met, gate met). Values sit at the
threshold, just below and just above it: every Art. 9 comparison of CDR 2024/1772 is a
strict "higher than", so "at" is never met.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures" / "incidents"
BASE: dict[str, Any] = json.loads((FIXTURES / "base-incident.json").read_text(encoding="utf-8"))


def incident(**overrides: Any) -> dict[str, Any]:
    """The base incident with dotted-key overrides (``clients.affected=5``)."""
    data = copy.deepcopy(BASE)
    for key, value in overrides.items():
        node = data
        *parents, leaf = key.split("__")
        for p in parents:
            node = node[p]
        node[leaf] = value
    return data


CLI = "clients_financial_counterparts_transactions"

#: (case id, overrides, criterion code, expected met)
THRESHOLD_CASES: list[tuple[str, dict[str, Any], str, bool]] = [
    # 9(1)(a): > 10 % of the clients of the service
    ("clients_pct_below", {"clients__affected": 99, "clients__total": 1000}, CLI, False),
    ("clients_pct_at", {"clients__affected": 100, "clients__total": 1000}, CLI, False),
    ("clients_pct_above", {"clients__affected": 101, "clients__total": 1000}, CLI, True),
    # 9(1)(b): > 100 000 clients (share tiny)
    ("clients_abs_below", {"clients__affected": 99_999, "clients__total": 10_000_000}, CLI, False),
    ("clients_abs_at", {"clients__affected": 100_000, "clients__total": 10_000_000}, CLI, False),
    ("clients_abs_above", {"clients__affected": 100_001, "clients__total": 10_000_000}, CLI, True),
    # 9(1)(c): > 30 % of financial counterparts
    (
        "fc_below",
        {"financial_counterparts__affected": 29, "financial_counterparts__total": 100},
        CLI,
        False,
    ),
    (
        "fc_at",
        {"financial_counterparts__affected": 30, "financial_counterparts__total": 100},
        CLI,
        False,
    ),
    (
        "fc_above",
        {"financial_counterparts__affected": 31, "financial_counterparts__total": 100},
        CLI,
        True,
    ),
    # 9(1)(d): > 10 % of the daily average number of transactions
    (
        "tx_count_below",
        {"transactions__affected_count": 999, "transactions__daily_average_count": 10_000},
        CLI,
        False,
    ),
    (
        "tx_count_at",
        {"transactions__affected_count": 1000, "transactions__daily_average_count": 10_000},
        CLI,
        False,
    ),
    (
        "tx_count_above",
        {"transactions__affected_count": 1001, "transactions__daily_average_count": 10_000},
        CLI,
        True,
    ),
    # 9(1)(e): > 10 % of the daily average value (0.1 in floating point is not 10 % exactly)
    (
        "tx_value_below",
        {
            "transactions__affected_value_eur": 299_999.99,
            "transactions__daily_average_value_eur": 3_000_000,
        },
        CLI,
        False,
    ),
    (
        "tx_value_at",
        {
            "transactions__affected_value_eur": 300_000,
            "transactions__daily_average_value_eur": 3_000_000,
        },
        CLI,
        False,
    ),
    (
        "tx_value_at_float",
        {"transactions__affected_value_eur": 0.3, "transactions__daily_average_value_eur": 3},
        CLI,
        False,
    ),
    (
        "tx_value_above",
        {
            "transactions__affected_value_eur": 300_000.01,
            "transactions__daily_average_value_eur": 3_000_000,
        },
        CLI,
        True,
    ),
    # 9(1)(f): relevant client or counterpart affected
    ("relevant_affected", {"clients__relevant_affected": True}, CLI, True),
    # 9(2): any reputational condition
    ("rep_media", {"reputational__media_coverage": True}, "reputational", True),
    ("rep_complaints", {"reputational__repeated_complaints": True}, "reputational", True),
    ("rep_regulatory", {"reputational__regulatory_breach_likely": True}, "reputational", True),
    ("rep_client_loss", {"reputational__client_loss_likely": True}, "reputational", True),
    # 9(3)(a): duration > 24 h
    ("duration_below", {"duration_hours": 23.99}, "duration_downtime", False),
    ("duration_at", {"duration_hours": 24}, "duration_downtime", False),
    ("duration_above", {"duration_hours": 24.01}, "duration_downtime", True),
    # 9(3)(b): downtime of CIF services > 2 h
    ("downtime_below", {"downtime_hours": 1.99}, "duration_downtime", False),
    ("downtime_at", {"downtime_hours": 2}, "duration_downtime", False),
    ("downtime_above", {"downtime_hours": 2.01}, "duration_downtime", True),
    # 9(4): two or more Member States
    ("spread_one", {"member_states_affected": ["DE"]}, "geographical_spread", False),
    ("spread_one_dup", {"member_states_affected": ["DE", "de"]}, "geographical_spread", False),
    ("spread_two", {"member_states_affected": ["DE", "FR"]}, "geographical_spread", True),
    ("spread_greece_el", {"member_states_affected": ["EL", "GR"]}, "geographical_spread", False),
    # 9(5)(a) and (b)
    ("data_business", {"data_losses__business_or_compliance_impact": True}, "data_losses", True),
    ("data_malicious", {"malicious_unauthorised_access": True}, "data_losses", True),
    # 9(6): > EUR 100 000
    ("economic_below", {"economic_impact_eur": 99_999.99}, "economic_impact", False),
    ("economic_at", {"economic_impact_eur": 100_000}, "economic_impact", False),
    ("economic_above", {"economic_impact_eur": 100_000.01}, "economic_impact", True),
]

#: (case id, overrides, expected major, expected criteria_met)
MAJOR_CASES: list[tuple[str, dict[str, Any], bool, list[str]]] = [
    ("nothing", {}, False, []),
    ("one_threshold", {"downtime_hours": 3}, False, ["duration_downtime"]),
    (
        "two_thresholds",
        {"downtime_hours": 3, "economic_impact_eur": 150_000},
        True,
        ["duration_downtime", "economic_impact"],
    ),
    (
        "two_thresholds_no_gate",
        {"critical_services_affected": False, "downtime_hours": 3, "economic_impact_eur": 150_000},
        False,
        ["duration_downtime", "economic_impact"],
    ),
    (
        "all_thresholds_no_gate",
        {
            "critical_services_affected": False,
            "clients__affected": 200_000,
            "clients__total": 300_000,
            "reputational__media_coverage": True,
            "duration_hours": 30,
            "member_states_affected": ["DE", "AT"],
            "data_losses__business_or_compliance_impact": True,
            "economic_impact_eur": 1_000_000,
        },
        False,
        [
            "clients_financial_counterparts_transactions",
            "reputational",
            "duration_downtime",
            "geographical_spread",
            "data_losses",
            "economic_impact",
        ],
    ),
    ("malicious_alone", {"malicious_unauthorised_access": True}, True, ["data_losses"]),
    (
        "malicious_alone_gate_by_art_6c",
        {"critical_services_affected": False, "malicious_unauthorised_access": True},
        True,
        ["data_losses"],
    ),
    # 9(5)(a) counts as one of the "other" thresholds of Art. 8(1)(b)
    (
        "data_business_plus_one",
        {"data_losses__business_or_compliance_impact": True, "reputational__media_coverage": True},
        True,
        ["reputational", "data_losses"],
    ),
    # several conditions of one criterion are still one threshold
    (
        "one_criterion_many_conditions",
        {
            "clients__affected": 200_000,
            "clients__total": 300_000,
            "clients__relevant_affected": True,
        },
        False,
        ["clients_financial_counterparts_transactions"],
    ),
]


MAJOR_FIGURES = {"downtime_hours": 3, "economic_impact_eur": 150_000}
_SAT = {"detected_at": "2026-03-06T22:00:00+01:00", "classified_at": "2026-03-07T00:30:00+01:00"}
_SAT_72 = {
    "detected_at": "2026-03-04T08:00:00+01:00",
    "classified_at": "2026-03-04T09:00:00+01:00",
    "initial_submitted_at": "2026-03-04T10:00:00+01:00",
}
_N = None

#: (case id, entity changes, incident overrides, (initial, intermediate, final) due)
DEADLINE_CASES: list[tuple[str, dict[str, Any], dict[str, Any], tuple[str | None, ...]]] = [
    ("4h_from_classification", {}, {}, ("2026-03-06T18:00:00+01:00", _N, _N)),
    (
        "24h_from_awareness_first",
        {},
        {"detected_at": "2026-03-09T10:00:00+01:00", "classified_at": "2026-03-10T08:00:00+01:00"},
        ("2026-03-10T10:00:00+01:00", _N, _N),
    ),
    (
        "classified_at_24h",
        {},
        {"detected_at": "2026-03-09T10:00:00+01:00", "classified_at": "2026-03-10T10:00:00+01:00"},
        ("2026-03-10T10:00:00+01:00", _N, _N),
    ),
    (
        "classified_after_24h",
        {},
        {"detected_at": "2026-03-09T10:00:00+01:00", "classified_at": "2026-03-10T10:01:00+01:00"},
        ("2026-03-10T14:01:00+01:00", _N, _N),
    ),
    (
        "weekend_payment_institution",
        {"type": "payment_institution"},
        _SAT,
        ("2026-03-09T12:00:00+01:00", _N, _N),
    ),
    (
        "weekend_credit_institution",
        {"type": "credit_institution"},
        _SAT,
        ("2026-03-07T04:30:00+01:00", _N, _N),
    ),
    ("weekend_ccp", {"type": "central_counterparty"}, _SAT, ("2026-03-07T04:30:00+01:00", _N, _N)),
    (
        "weekend_trading_venue",
        {"type": "trading_venue"},
        _SAT,
        ("2026-03-07T04:30:00+01:00", _N, _N),
    ),
    (
        "weekend_nis2",
        {"type": "insurance_undertaking", "nis2_entity": True},
        _SAT,
        ("2026-03-07T04:30:00+01:00", _N, _N),
    ),
    (
        "intermediate_weekend_relief",
        {"type": "investment_firm"},
        _SAT_72,
        ("2026-03-04T13:00:00+01:00", "2026-03-09T12:00:00+01:00", _N),
    ),
    (
        "intermediate_weekend_credit_institution",
        {},
        _SAT_72,
        ("2026-03-04T13:00:00+01:00", "2026-03-07T10:00:00+01:00", _N),
    ),
    (
        "de_good_friday",
        {"type": "payment_institution"},
        {"detected_at": "2026-04-03T04:00:00+02:00", "classified_at": "2026-04-03T05:00:00+02:00"},
        ("2026-04-07T12:00:00+02:00", _N, _N),
    ),
    (
        "fr_bastille_day",
        {"type": "investment_firm", "member_state": "FR"},
        {
            "detected_at": "2026-07-11T08:00:00+02:00",
            "classified_at": "2026-07-11T09:00:00+02:00",
            "initial_submitted_at": "2026-07-11T09:00:00+02:00",
        },
        ("2026-07-13T12:00:00+02:00", "2026-07-15T12:00:00+02:00", _N),
    ),
    (
        "final_month_end_saturday_credit_institution",
        {},
        {
            "detected_at": "2026-01-29T09:00:00+01:00",
            "classified_at": "2026-01-29T10:00:00+01:00",
            "initial_submitted_at": "2026-01-29T11:00:00+01:00",
            "intermediate_submitted_at": "2026-01-31T10:00:00+01:00",
        },
        ("2026-01-29T14:00:00+01:00", "2026-02-01T11:00:00+01:00", "2026-03-02T12:00:00+01:00"),
    ),
    (
        "dst_spring_forward",
        {},
        {"detected_at": "2026-03-29T00:30:00+01:00", "classified_at": "2026-03-29T00:30:00+01:00"},
        ("2026-03-29T05:30:00+02:00", _N, _N),
    ),
    (
        "dst_fall_back",
        {},
        {"detected_at": "2026-10-25T00:30:00+02:00", "classified_at": "2026-10-25T00:30:00+02:00"},
        ("2026-10-25T03:30:00+01:00", _N, _N),
    ),
    (
        "dst_72h_and_month",
        {},
        {
            "detected_at": "2026-03-27T08:00:00+01:00",
            "classified_at": "2026-03-27T10:00:00+01:00",
            "initial_submitted_at": "2026-03-27T12:00:00+01:00",
            "intermediate_submitted_at": "2026-03-30T12:30:00+02:00",
        },
        ("2026-03-27T14:00:00+01:00", "2026-03-30T13:00:00+02:00", "2026-04-30T12:30:00+02:00"),
    ),
]


def deadline_case(entity: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    data = incident(**(MAJOR_FIGURES | overrides))
    data["entity"] |= entity
    return data


def test_every_case_is_a_valid_incident() -> None:
    from agents.incident.inputs import parse
    from agents.incident.models import Incident

    for case_id, overrides, *_ in THRESHOLD_CASES + MAJOR_CASES:  # type: ignore[operator]
        assert parse(Incident, incident(**overrides), case_id).incident_id == "INC-1"
    for case_id, entity, overrides, _ in DEADLINE_CASES:
        assert parse(Incident, deadline_case(entity, overrides), case_id).entity.member_state
