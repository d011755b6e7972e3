"""Reporting deadlines per Commission Delegated Regulation (EU) 2025/301 Art. 5.

Why every deadline is computed in the Member State's own time zone: the weekend and
bank-holiday relief of Art. 5(4) depends on the *local* calendar day a deadline falls on,
and the relief itself ("by noon of the next working day") is a local wall-clock time.

Rules:

* Initial notification (Art. 5(1)(a)): within 4 h of the classification as major and no
  later than 24 h after the entity became aware of the incident, i.e. the earlier of
  ``classified + 4 h`` and ``aware + 24 h``. When the incident is classified as major only
  after those 24 h, within 4 h of the classification (Art. 5(2)).
* Intermediate report (Art. 5(1)(b)): within 72 h of the submission of the initial
  notification (an updated one is due without undue delay and when regular activities have
  recovered).
* Final report (Art. 5(1)(c)): one month after the (latest updated) intermediate report.
  "One month" is the same day and time of the next calendar month, or the month's last day
  when it has no such day (31 January -> 28/29 February); this is the earlier reading of a
  month, the safe side for a deadline.
* Weekend / bank holiday (Art. 5(4)): a deadline falling on a Saturday, Sunday or public
  holiday in the entity's Member State moves to 12:00 noon local time of the next working
  day. Not for the initial notification or intermediate report of credit institutions,
  central counterparties, operators of trading venues and NIS2 essential or important
  entities (Art. 5(5)); it always applies to the final report. A competent authority may
  also withdraw it for other significant or systemic entities by notifying them
  (Art. 5(6)); that decision is not part of the input contract and is not modelled.

Hours are elapsed time (4 h across a DST change are 4 real hours, so the local wall-clock
time moves by 3 or 5 h); the month of the final report is calendar time in the Member
State's zone. Bank holidays are the nationwide public holidays of the ``holidays`` library
for the Member State (regional holidays, e.g. of a German Land, are not included).
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

import holidays
from pydantic import BaseModel, Field

from agents.incident.models import MEMBER_STATE_TIME_ZONES, EntityType, Incident

RTS = "CDR (EU) 2025/301"
INITIAL_AFTER_CLASSIFICATION = timedelta(hours=4)
INITIAL_AFTER_AWARENESS = timedelta(hours=24)
INTERMEDIATE_AFTER_INITIAL = timedelta(hours=72)
NOON = time(12, 0)
#: Art. 5(5): no weekend relief for their initial notification and intermediate report
NO_RELIEF_TYPES = frozenset(
    {EntityType.credit_institution, EntityType.central_counterparty, EntityType.trading_venue}
)

ReportKind = Literal["initial_notification", "intermediate_report", "final_report"]
REPORTS: tuple[ReportKind, ...] = ("initial_notification", "intermediate_report", "final_report")


def zone(member_state: str) -> ZoneInfo:
    return ZoneInfo(MEMBER_STATE_TIME_ZONES[member_state])


@lru_cache(maxsize=256)
def _holidays(member_state: str, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(member_state, years=year)


def bank_holiday(day: date, member_state: str) -> str | None:
    """Name of the nationwide public holiday on ``day`` in the Member State, if any."""
    name = _holidays(member_state, day.year).get(day)
    return str(name) if name else None


def is_working_day(day: date, member_state: str) -> bool:
    return day.weekday() < 5 and bank_holiday(day, member_state) is None


def next_working_day(day: date, member_state: str) -> date:
    nxt = day + timedelta(days=1)
    while not is_working_day(nxt, member_state):
        nxt += timedelta(days=1)
    return nxt


def add_months(when: datetime, months: int) -> datetime:
    """Same wall-clock time ``months`` calendar months later, clamped to the month's end."""
    index = when.year * 12 + (when.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    day = min(when.day, calendar.monthrange(year, month)[1])
    moved = when.replace(year=year, month=month, day=day)
    tz = moved.tzinfo
    # a wall time inside a spring-forward gap does not exist: normalise through UTC
    return moved.astimezone(UTC).astimezone(tz) if tz is not None else moved


def weekend_relief_available(incident: Incident, report: ReportKind) -> tuple[bool, str]:
    """Whether Art. 5(4) may move this report's deadline, with the reason."""
    if report == "final_report":
        return True, "Art. 5(4) applies to the final report of every financial entity"
    entity = incident.entity
    if entity.type in NO_RELIEF_TYPES:
        return False, (
            f"Art. 5(5): no weekend/bank-holiday relief for the initial notification or "
            f"intermediate report of a {entity.type.value.replace('_', ' ')}"
        )
    if entity.nis2_entity:
        return False, (
            "Art. 5(5): no weekend/bank-holiday relief for the initial notification or "
            "intermediate report of a NIS2 essential or important entity"
        )
    return True, "Art. 5(4) available (the competent authority may withdraw it, Art. 5(6))"


def apply_weekend_rule(
    due: datetime, member_state: str, available: bool
) -> tuple[datetime, str | None]:
    """Move ``due`` to noon of the next working day when it falls on a non-working day."""
    local = due.astimezone(zone(member_state))
    day = local.date()
    if is_working_day(day, member_state):
        return local, None
    why = bank_holiday(day, member_state) or calendar.day_name[day.weekday()]
    if not available:
        return local, f"falls on {day.isoformat()} ({why}) but the relief is not available"
    nxt = next_working_day(day, member_state)
    moved = datetime.combine(nxt, NOON, tzinfo=zone(member_state))
    return moved, (
        f"falls on {day.isoformat()} ({why}) in {member_state}: moved to noon of the next "
        f"working day {nxt.isoformat()} (Art. 5(4))"
    )


class Deadline(BaseModel):
    """One report's deadline, how it was reached, and whether it was met."""

    report: ReportKind
    due: datetime | None = Field(None, description="Local time of the Member State.")
    unadjusted_due: datetime | None = None
    rule: str
    weekend_relief_available: bool
    weekend_relief_applied: bool = False
    explanation: str
    submitted_at: datetime | None = None
    on_time: bool | None = None


class DeadlineSchedule(BaseModel):
    """The three deadlines of one major incident in the entity's Member State."""

    incident_id: str
    member_state: str
    time_zone: str
    initial_notification: Deadline
    intermediate_report: Deadline
    final_report: Deadline
    notes: list[str] = Field(default_factory=list)

    def deadlines(self) -> list[Deadline]:
        return [self.initial_notification, self.intermediate_report, self.final_report]

    def contract(self) -> dict[str, str | None]:
        """``{report: ISO 8601 with the Member State offset, or None}``."""
        return {d.report: d.due.isoformat() if d.due else None for d in self.deadlines()}


def _iso(when: datetime, member_state: str) -> str:
    return when.astimezone(zone(member_state)).isoformat()


def _finish(
    incident: Incident,
    report: ReportKind,
    raw: datetime | None,
    rule: str,
    explanation: str,
    submitted: datetime | None,
) -> Deadline:
    ms = incident.entity.member_state
    available, why_available = weekend_relief_available(incident, report)
    if raw is None:
        return Deadline(
            report=report,
            rule=rule,
            weekend_relief_available=available,
            explanation=explanation,
            submitted_at=submitted.astimezone(zone(ms)) if submitted else None,
        )
    due, moved = apply_weekend_rule(raw, ms, available)
    text = f"{explanation}: {_iso(raw, ms)}"
    if moved:
        text += f"; {moved}"
        if not available:
            text += f" ({why_available})"
    applied = moved is not None and available
    return Deadline(
        report=report,
        due=due,
        unadjusted_due=raw.astimezone(zone(ms)),
        rule=rule,
        weekend_relief_available=available,
        weekend_relief_applied=applied,
        explanation=text,
        submitted_at=submitted.astimezone(zone(ms)) if submitted else None,
        on_time=None if submitted is None else submitted <= due,
    )


def initial_due(detected_at: datetime, classified_at: datetime) -> tuple[datetime, str, str]:
    """The unadjusted initial-notification deadline, the article and how it was reached."""
    if classified_at - detected_at > INITIAL_AFTER_AWARENESS:
        return (
            classified_at + INITIAL_AFTER_CLASSIFICATION,
            f"Art. 5(2) {RTS}",
            "classified as major more than 24 h after awareness: 4 h from classification",
        )
    by_class = classified_at + INITIAL_AFTER_CLASSIFICATION
    by_aware = detected_at + INITIAL_AFTER_AWARENESS
    if by_aware < by_class:
        why = "24 h from awareness (earlier than 4 h from classification)"
    else:
        why = "4 h from classification (within 24 h from awareness)"
    return min(by_class, by_aware), f"Art. 5(1)(a) {RTS}", why


def schedule(incident: Incident, major: bool) -> DeadlineSchedule:
    """All three deadlines of ``incident``; None where the start event has not happened yet."""
    ms = incident.entity.member_state
    notes: list[str] = []
    if not major:
        reason = "not a major incident: no reporting deadline (DORA Art. 19(1))"
        deadlines = [
            Deadline(
                report=r,
                rule=f"Art. 5 {RTS}",
                weekend_relief_available=weekend_relief_available(incident, r)[0],
                explanation=reason,
            )
            for r in REPORTS
        ]
        return DeadlineSchedule(
            incident_id=incident.incident_id,
            member_state=ms,
            time_zone=MEMBER_STATE_TIME_ZONES[ms],
            initial_notification=deadlines[0],
            intermediate_report=deadlines[1],
            final_report=deadlines[2],
            notes=[reason],
        )

    if incident.classified_at is None:
        initial = _finish(
            incident,
            "initial_notification",
            None,
            f"Art. 5(1)(a) {RTS}",
            "not yet determined: classified_at is not set (4 h from the classification as "
            f"major, at the latest 24 h from awareness at {_iso(incident.detected_at + INITIAL_AFTER_AWARENESS, ms)} "
            "if classified within 24 h)",
            None,
        )
    else:
        raw, rule, why = initial_due(incident.detected_at, incident.classified_at)
        initial = _finish(
            incident, "initial_notification", raw, rule, why, incident.initial_submitted_at
        )

    if incident.initial_submitted_at is None:
        intermediate = _finish(
            incident,
            "intermediate_report",
            None,
            f"Art. 5(1)(b) {RTS}",
            "not yet determined: 72 h from the submission of the initial notification, "
            "which has not been submitted",
            None,
        )
    else:
        intermediate = _finish(
            incident,
            "intermediate_report",
            incident.initial_submitted_at + INTERMEDIATE_AFTER_INITIAL,
            f"Art. 5(1)(b) {RTS}",
            "72 h from the submission of the initial notification",
            incident.intermediate_submitted_at,
        )

    if incident.intermediate_submitted_at is None:
        final = _finish(
            incident,
            "final_report",
            None,
            f"Art. 5(1)(c) {RTS}",
            "not yet determined: one month from the latest (updated) intermediate report, "
            "which has not been submitted",
            None,
        )
    else:
        start = incident.intermediate_submitted_at.astimezone(zone(ms))
        final = _finish(
            incident,
            "final_report",
            add_months(start, 1),
            f"Art. 5(1)(c) {RTS}",
            "one month from the submission of the latest intermediate report",
            None,
        )
    notes.append(
        "Art. 5(3): if a deadline cannot be met, inform the competent authority before it "
        "passes and explain the delay."
    )
    notes.append(
        "Art. 5(1)(b): an updated intermediate report is due without undue delay, and in any "
        "case when regular activities have been recovered; the final report's month runs "
        "from the latest updated one."
    )
    if initial.weekend_relief_available:
        notes.append(
            "Art. 5(6): the competent authority may withdraw the weekend relief for the initial "
            "and intermediate reports of significant or systemic entities (not modelled)."
        )
    return DeadlineSchedule(
        incident_id=incident.incident_id,
        member_state=ms,
        time_zone=MEMBER_STATE_TIME_ZONES[ms],
        initial_notification=initial,
        intermediate_report=intermediate,
        final_report=final,
        notes=notes,
    )


# ----------------------------------------------------------------- reminders
#: how long before each deadline a reminder goes out
REMINDER_LEADS: dict[ReportKind, tuple[timedelta, ...]] = {
    "initial_notification": (timedelta(hours=2), timedelta(hours=1), timedelta(minutes=15)),
    "intermediate_report": (timedelta(hours=24), timedelta(hours=4), timedelta(hours=1)),
    "final_report": (timedelta(days=7), timedelta(days=1)),
}


class Reminder(BaseModel):
    report: ReportKind
    remind_at: datetime
    due: datetime
    lead: str
    state: Literal["scheduled", "due_now", "overdue"]


def reminders(sched: DeadlineSchedule, as_of: datetime) -> list[Reminder]:
    """Reminders for every open deadline (not submitted yet), relative to ``as_of``.

    A reminder whose time has passed is kept once as ``due_now`` (the deadline is still
    ahead) so nobody misses the last call; a passed deadline gives one ``overdue`` entry.
    """
    out: list[Reminder] = []
    for d in sched.deadlines():
        if d.due is None or d.submitted_at is not None:
            continue
        if as_of > d.due:
            out.append(
                Reminder(report=d.report, remind_at=as_of, due=d.due, lead="0", state="overdue")
            )
            continue
        passed = False
        for lead in REMINDER_LEADS[d.report]:
            at = d.due - lead
            if at < as_of:
                passed = True
                continue
            out.append(
                Reminder(
                    report=d.report,
                    remind_at=at.astimezone(d.due.tzinfo),
                    due=d.due,
                    lead=_lead(lead),
                    state="scheduled",
                )
            )
        if passed and not any(r.report == d.report for r in out):
            out.append(
                Reminder(report=d.report, remind_at=as_of, due=d.due, lead="now", state="due_now")
            )
    return sorted(out, key=lambda r: r.remind_at)


def _lead(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        return f"{minutes // (24 * 60)} d"
    if minutes % 60 == 0:
        return f"{minutes // 60} h"
    return f"{minutes} min"


__all__ = [
    "REPORTS",
    "Deadline",
    "DeadlineSchedule",
    "Reminder",
    "add_months",
    "apply_weekend_rule",
    "bank_holiday",
    "initial_due",
    "is_working_day",
    "next_working_day",
    "reminders",
    "schedule",
    "weekend_relief_available",
]
