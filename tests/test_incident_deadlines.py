"""Deadlines per CDR 2025/301 Art. 5: 4 h / 24 h, late classification, 72 h, one month,
weekend and bank-holiday relief (DE and FR holidays), Art. 5(5) exclusions, DST changes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from agents.incident.assess import assess
from agents.incident.deadlines import (
    add_months,
    bank_holiday,
    is_working_day,
    reminders,
    schedule,
)
from agents.incident.inputs import parse
from agents.incident.models import MEMBER_STATE_TIME_ZONES, Incident
from tests.test_incident_cases import DEADLINE_CASES, deadline_case, incident

MAJOR = {"downtime_hours": 3, "economic_impact_eur": 150_000}


def _inc(entity: dict[str, Any] | None = None, **kw: Any) -> Incident:
    data = incident(**(MAJOR | kw))
    if entity:
        data["entity"] |= entity
    return parse(Incident, data, "test")


def _due(inc: Incident) -> dict[str, str | None]:
    return schedule(inc, major=True).contract()


# ----------------------------------------------------------------- initial notification
@pytest.mark.parametrize(
    ("detected", "classified", "due", "rule"),
    [
        # the example: 4 h from classification
        (
            "2026-03-06T10:00:00+01:00",
            "2026-03-06T14:00:00+01:00",
            "2026-03-06T18:00:00+01:00",
            "Art. 5(1)(a)",
        ),
        # classified after 22 h: the 24 h from awareness comes first
        (
            "2026-03-09T10:00:00+01:00",
            "2026-03-10T08:00:00+01:00",
            "2026-03-10T10:00:00+01:00",
            "Art. 5(1)(a)",
        ),
        # classified exactly 24 h after awareness: still "within 24 h", so the 24 h limit holds
        (
            "2026-03-09T10:00:00+01:00",
            "2026-03-10T10:00:00+01:00",
            "2026-03-10T10:00:00+01:00",
            "Art. 5(1)(a)",
        ),
        # classified one minute after the 24 h: 4 h from classification (Art. 5(2))
        (
            "2026-03-09T10:00:00+01:00",
            "2026-03-10T10:01:00+01:00",
            "2026-03-10T14:01:00+01:00",
            "Art. 5(2)",
        ),
        # classified days later
        (
            "2026-03-02T10:00:00+01:00",
            "2026-03-10T09:00:00+01:00",
            "2026-03-10T13:00:00+01:00",
            "Art. 5(2)",
        ),
    ],
)
def test_initial_notification_clock(detected: str, classified: str, due: str, rule: str) -> None:
    inc = _inc(detected_at=detected, classified_at=classified)
    sched = schedule(inc, major=True)
    assert sched.initial_notification.due is not None
    assert sched.initial_notification.due.isoformat() == due
    assert sched.initial_notification.rule.startswith(rule)
    assert "CDR (EU) 2025/301" in sched.initial_notification.rule


def test_utc_input_is_reported_in_member_state_time() -> None:
    inc = _inc(detected_at="2026-07-01T08:00:00Z", classified_at="2026-07-01T09:00:00Z")
    assert _due(inc)["initial_notification"] == "2026-07-01T15:00:00+02:00"
    pt = _inc(
        {"member_state": "PT"},
        detected_at="2026-07-01T08:00:00Z",
        classified_at="2026-07-01T09:00:00Z",
    )
    assert _due(pt)["initial_notification"] == "2026-07-01T14:00:00+01:00"
    gr = _inc(
        {"member_state": "EL"},
        detected_at="2026-01-05T08:00:00Z",
        classified_at="2026-01-05T09:00:00Z",
    )
    assert _due(gr)["initial_notification"] == "2026-01-05T15:00:00+02:00"


def test_not_determined_yet_and_not_major() -> None:
    inc = _inc(classified_at=None)
    assert _due(inc) == {
        "initial_notification": None,
        "intermediate_report": None,
        "final_report": None,
    }
    assert "24 h from awareness" in schedule(inc, True).initial_notification.explanation
    minor = parse(Incident, incident(), "minor")
    result = assess(minor)
    assert not result.classification.major
    assert result.schedule.contract() == {
        "initial_notification": None,
        "intermediate_report": None,
        "final_report": None,
    }


# ----------------------------------------------------------------- intermediate and final
def test_intermediate_72h_from_initial_submission_and_final_one_month() -> None:
    inc = _inc(
        initial_submitted_at="2026-03-06T17:30:00+01:00",  # Friday
        intermediate_submitted_at="2026-03-09T11:15:00+01:00",  # Monday
    )
    due = _due(inc)
    assert due["intermediate_report"] == "2026-03-09T17:30:00+01:00"  # Monday, 72 h later
    assert due["final_report"] == "2026-04-09T11:15:00+02:00"  # one month, now in CEST
    s = schedule(inc, True)
    assert s.initial_notification.on_time is True
    assert s.intermediate_report.on_time is True


def test_late_submission_is_flagged() -> None:
    inc = _inc(initial_submitted_at="2026-03-06T18:00:01+01:00")
    s = schedule(inc, True)
    assert s.initial_notification.on_time is False


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2026-01-31T10:00:00+01:00", 1, "2026-02-28T10:00:00+01:00"),
        ("2028-01-31T10:00:00+01:00", 1, "2028-02-29T10:00:00+01:00"),
        ("2026-12-15T10:00:00+01:00", 1, "2027-01-15T10:00:00+01:00"),
        ("2026-03-06T10:00:00+01:00", -6, "2025-09-06T10:00:00+01:00"),
    ],
)
def test_add_months_clamps_to_month_end(start: str, months: int, expected: str) -> None:
    assert add_months(datetime.fromisoformat(start), months).isoformat() == expected


def test_final_report_month_end_falls_on_saturday() -> None:
    inc = _inc(
        detected_at="2026-01-29T09:00:00+01:00",
        classified_at="2026-01-29T10:00:00+01:00",
        initial_submitted_at="2026-01-29T11:00:00+01:00",
        intermediate_submitted_at="2026-01-31T10:00:00+01:00",
    )
    s = schedule(inc, True)
    assert s.final_report.unadjusted_due is not None
    assert s.final_report.unadjusted_due.isoformat() == "2026-02-28T10:00:00+01:00"  # Saturday
    # the final report keeps the relief even for a credit institution (Art. 5(5))
    assert _due(inc)["final_report"] == "2026-03-02T12:00:00+01:00"
    assert s.final_report.weekend_relief_applied


# ----------------------------------------------------------------- weekend relief (Art. 5(4)-(5))
SATURDAY_INITIAL = {
    "detected_at": "2026-03-06T22:00:00+01:00",  # Friday
    "classified_at": "2026-03-07T00:30:00+01:00",  # Saturday: due 04:30 Saturday
}
SATURDAY_INTERMEDIATE = {
    "detected_at": "2026-03-04T08:00:00+01:00",
    "classified_at": "2026-03-04T09:00:00+01:00",
    "initial_submitted_at": "2026-03-04T10:00:00+01:00",  # Wednesday: due Saturday 10:00
}


@pytest.mark.parametrize(
    ("entity", "initial", "intermediate"),
    [
        pytest.param(
            {"type": "payment_institution"},
            "2026-03-09T12:00:00+01:00",
            "2026-03-09T12:00:00+01:00",
            id="payment_institution_relief",
        ),
        pytest.param(
            {"type": "insurance_undertaking"},
            "2026-03-09T12:00:00+01:00",
            "2026-03-09T12:00:00+01:00",
            id="insurer_relief",
        ),
        pytest.param(
            {"type": "credit_institution"},
            "2026-03-07T04:30:00+01:00",
            "2026-03-07T10:00:00+01:00",
            id="credit_institution_none",
        ),
        pytest.param(
            {"type": "central_counterparty"},
            "2026-03-07T04:30:00+01:00",
            "2026-03-07T10:00:00+01:00",
            id="ccp_none",
        ),
        pytest.param(
            {"type": "trading_venue"},
            "2026-03-07T04:30:00+01:00",
            "2026-03-07T10:00:00+01:00",
            id="trading_venue_none",
        ),
        pytest.param(
            {"type": "operator_of_trading_venue"},
            "2026-03-07T04:30:00+01:00",
            "2026-03-07T10:00:00+01:00",
            id="trading_venue_alias_none",
        ),
        pytest.param(
            {"type": "payment_institution", "nis2_entity": True},
            "2026-03-07T04:30:00+01:00",
            "2026-03-07T10:00:00+01:00",
            id="nis2_entity_none",
        ),
    ],
)
def test_weekend_relief_by_entity_type(
    entity: dict[str, Any], initial: str, intermediate: str
) -> None:
    assert _due(_inc(entity, **SATURDAY_INITIAL))["initial_notification"] == initial
    assert _due(_inc(entity, **SATURDAY_INTERMEDIATE))["intermediate_report"] == intermediate


def test_relief_not_available_is_explained() -> None:
    s = schedule(_inc({"type": "credit_institution"}, **SATURDAY_INITIAL), True)
    d = s.initial_notification
    assert not d.weekend_relief_available and not d.weekend_relief_applied
    assert "Art. 5(5)" in d.explanation and "Saturday" in d.explanation


def test_sunday_deadline_moves_to_monday_noon() -> None:
    inc = _inc(
        {"type": "investment_firm"},
        detected_at="2026-03-08T06:00:00+01:00",  # Sunday
        classified_at="2026-03-08T07:00:00+01:00",
    )
    assert _due(inc)["initial_notification"] == "2026-03-09T12:00:00+01:00"


def test_working_day_deadline_is_not_moved() -> None:
    inc = _inc(
        {"type": "investment_firm"},
        detected_at="2026-03-09T06:00:00+01:00",
        classified_at="2026-03-09T07:00:00+01:00",
    )
    s = schedule(inc, True)
    assert s.initial_notification.due is not None
    assert s.initial_notification.due.isoformat() == "2026-03-09T11:00:00+01:00"
    assert not s.initial_notification.weekend_relief_applied


# ----------------------------------------------------------------- bank holidays
def test_holiday_calendar() -> None:
    assert bank_holiday(datetime(2026, 10, 3).date(), "DE") == "German Unity Day"
    assert bank_holiday(datetime(2026, 7, 14).date(), "FR") == "National Day"
    assert is_working_day(datetime(2026, 7, 14).date(), "DE")
    assert not is_working_day(datetime(2026, 4, 6).date(), "DE")  # Easter Monday
    assert len(MEMBER_STATE_TIME_ZONES) == 27


def test_german_good_friday_and_easter_monday() -> None:
    # due Good Friday 2026-04-03; Saturday, Sunday and Easter Monday follow: Tuesday noon
    inc = _inc(
        {"type": "payment_institution", "member_state": "DE"},
        detected_at="2026-04-03T04:00:00+02:00",
        classified_at="2026-04-03T05:00:00+02:00",
    )
    s = schedule(inc, True)
    assert _due(inc)["initial_notification"] == "2026-04-07T12:00:00+02:00"
    assert "Good Friday" in s.initial_notification.explanation


def test_german_unity_day_intermediate() -> None:
    inc = _inc(
        {"type": "investment_firm", "member_state": "DE"},
        detected_at="2025-09-30T08:00:00+02:00",
        classified_at="2025-09-30T09:00:00+02:00",
        initial_submitted_at="2025-09-30T11:00:00+02:00",  # Tuesday: due Friday 3 October
    )
    assert _due(inc)["intermediate_report"] == "2025-10-06T12:00:00+02:00"


@pytest.mark.parametrize(
    ("member_state", "expected"),
    [
        pytest.param("FR", "2026-07-15T12:00:00+02:00", id="fr_bastille_day"),
        pytest.param("DE", "2026-07-14T09:00:00+02:00", id="de_same_day_is_working"),
    ],
)
def test_french_national_day(member_state: str, expected: str) -> None:
    inc = _inc(
        {"type": "investment_firm", "member_state": member_state},
        detected_at="2026-07-11T08:00:00+02:00",
        classified_at="2026-07-11T09:00:00+02:00",
        initial_submitted_at="2026-07-11T09:00:00+02:00",  # Saturday; +72 h = Tuesday 14 July
    )
    assert _due(inc)["intermediate_report"] == expected


def test_french_holiday_not_relieved_for_credit_institution_but_final_is() -> None:
    inc = _inc(
        {"type": "credit_institution", "member_state": "FR"},
        detected_at="2026-04-08T08:00:00+02:00",
        classified_at="2026-04-08T09:00:00+02:00",
        initial_submitted_at="2026-04-08T10:00:00+02:00",
        intermediate_submitted_at="2026-04-08T10:00:00+02:00",  # combined submission (ITS Art. 2)
    )
    due = _due(inc)
    # one month later is Friday 8 May 2026, Victory Day in France: Monday 11 May noon
    assert due["final_report"] == "2026-05-11T12:00:00+02:00"
    de = _inc(
        {"type": "credit_institution", "member_state": "DE"},
        **{k: v for k, v in inc.model_dump(mode="json").items() if k.endswith("_at")},
    )
    assert _due(de)["final_report"] == "2026-05-08T10:00:00+02:00"


# ----------------------------------------------------------------- DST changes (EU: last Sunday of March / October)
@pytest.mark.parametrize(
    ("classified", "due"),
    [
        # spring forward 2026-03-29 02:00 CET -> 03:00 CEST: 4 real hours, 5 on the wall clock
        pytest.param("2026-03-29T00:30:00+01:00", "2026-03-29T05:30:00+02:00", id="spring_forward"),
        # fall back 2026-10-25 03:00 CEST -> 02:00 CET: 4 real hours, 3 on the wall clock
        pytest.param("2026-10-25T00:30:00+02:00", "2026-10-25T03:30:00+01:00", id="fall_back"),
    ],
)
def test_dst_initial(classified: str, due: str) -> None:
    inc = _inc({"type": "credit_institution"}, detected_at=classified, classified_at=classified)
    assert _due(inc)["initial_notification"] == due


def test_dst_intermediate_and_final() -> None:
    inc = _inc(
        {"type": "credit_institution"},
        detected_at="2026-03-27T08:00:00+01:00",
        classified_at="2026-03-27T10:00:00+01:00",
        initial_submitted_at="2026-03-27T12:00:00+01:00",  # Friday, CET
        intermediate_submitted_at="2026-03-30T12:30:00+02:00",  # Monday, CEST
    )
    due = _due(inc)
    assert due["intermediate_report"] == "2026-03-30T13:00:00+02:00"  # 72 h = 12:00 CET + 1 h
    assert due["final_report"] == "2026-04-30T12:30:00+02:00"


def test_weekend_relief_noon_after_dst_change() -> None:
    # due Sunday 2026-03-29 (CEST from 03:00): Monday noon is in CEST
    inc = _inc(
        {"type": "investment_firm"},
        detected_at="2026-03-29T00:30:00+01:00",
        classified_at="2026-03-29T00:30:00+01:00",
    )
    assert _due(inc)["initial_notification"] == "2026-03-30T12:00:00+02:00"


# ----------------------------------------------------------------- reminders
def test_reminders_before_each_open_deadline() -> None:
    inc = _inc(initial_submitted_at="2026-03-06T17:00:00+01:00")
    s = schedule(inc, True)
    items = reminders(s, datetime.fromisoformat("2026-03-06T17:05:00+01:00"))
    assert [(r.report, r.lead, r.state) for r in items] == [
        ("intermediate_report", "1 d", "scheduled"),
        ("intermediate_report", "4 h", "scheduled"),
        ("intermediate_report", "1 h", "scheduled"),
    ]
    assert items[0].remind_at.isoformat() == "2026-03-08T17:00:00+01:00"


def test_reminders_due_now_and_overdue() -> None:
    inc = _inc()  # initial due 2026-03-06 18:00
    s = schedule(inc, True)
    late_call = reminders(s, datetime.fromisoformat("2026-03-06T17:50:00+01:00"))
    assert [(r.report, r.state) for r in late_call] == [("initial_notification", "due_now")]
    gone = reminders(s, datetime.fromisoformat("2026-03-06T18:01:00+01:00"))
    assert [(r.report, r.state) for r in gone] == [("initial_notification", "overdue")]


@pytest.mark.parametrize(
    ("entity", "overrides", "expected"),
    [pytest.param(e, o, x, id=i) for i, e, o, x in DEADLINE_CASES],
)
def test_deadline_table(
    entity: dict[str, Any], overrides: dict[str, Any], expected: tuple[str | None, ...]
) -> None:
    inc = parse(Incident, deadline_case(entity, overrides), "case")
    assert tuple(schedule(inc, major=True).contract().values()) == expected
