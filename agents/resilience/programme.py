"""The digital operational resilience testing programme (DORA Arts. 24-25, 11(6)).

*Scope.* Every ICT asset that supports a critical or important function (CIF), directly or
through dependencies (the mapping of the ICT risk review), must have appropriate tests at
least yearly (DORA Art. 24(6)). The *test types* are a risk-based choice (Art. 24(3),
25(1)); the rule used here, so planners can recompute it:

- every CIF asset: a vulnerability assessment (Art. 25(1));
- CIF assets exposed to the internet: also a penetration test;
- CIF network and identity assets: also a network security assessment;
- assets that support no CIF: risk-based, no statutory frequency; they get calendar entries
  only when an internal interval is given (``non_cif_interval_months``).

Automated weekly vulnerability scanning of CIF assets (RTS 2024/1774 Art. 10(2)) runs
continuously and is tracked by the ICT risk review, not planned here.

*Compliance with Art. 24(6).* A CIF asset is overdue when no test of any Art. 25 type
ended within the year before ``as_of`` (due = last test end + 1 year; overdue from the day
after). The ICT business continuity and response and recovery plans are tested at least
yearly too (Art. 11(6)(a)); that is an entity-level entry.

*Calendar.* Each planned test is dated when it falls due (last test of that type, else of
any type, + 1 year); tests already due before the programme window opens are scheduled as
catch-ups at the start of the window. TLPT milestones inside the programme year are added.

*Findings* (Art. 24(5): prioritise, classify, remedy, validate): open, overdue (due date
passed), without due date, and closed without internal validation are tracked by severity.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from dateutil.relativedelta import relativedelta
from pydantic import BaseModel, Field

from agents.ict_risk.assessment import map_cif
from agents.ict_risk.models import Asset, BusinessFunction
from agents.ict_risk.tabular import Row, RowError, TableError
from agents.resilience.models import TestFinding, TestRecord, TlptProfile
from agents.resilience.tlpt import TlptDecision, decide

YEARLY = relativedelta(years=1)
ART_25_TYPES = {
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
}
SEVERITIES = ("critical", "high", "medium", "low")


class SystemPlan(BaseModel):
    asset_id: str
    name: str | None
    cif_functions: list[str]
    in_scope: bool
    tests: list[str]
    cadence: str
    last_test: date | None
    due: date | None
    status: str  # "compliant", "overdue", "never_tested", "risk_based"
    reference: str


class CalendarEntry(BaseModel):
    date: date
    kind: str
    subject: str
    description: str
    catch_up: bool = False
    reference: str = ""


class FindingStatus(BaseModel):
    finding_id: str
    test_id: str
    asset_id: str | None
    title: str
    severity: str
    status: str  # "open", "overdue", "closed", "closed_not_validated"
    due: date | None
    days_open: int
    owner: str | None


class ProgrammeSummary(BaseModel):
    programme_year: int
    systems: int
    systems_in_scope: int
    cif_systems_overdue: int
    cif_systems_never_tested: int
    planned_tests: int
    catch_up_tests: int
    bcp_test_overdue: bool
    open_findings: int
    overdue_findings: int
    overdue_critical_or_high_findings: int
    findings_without_due_date: int
    closed_not_validated: int
    tlpt_required: bool


class TestingProgramme(BaseModel):
    as_of: date
    entity: str
    summary: ProgrammeSummary
    #: facts published to conditions
    cif_tested_within_year: bool
    no_overdue_findings: bool
    systems: list[SystemPlan]
    calendar: list[CalendarEntry]
    findings: list[FindingStatus]
    findings_by_severity: dict[str, dict[str, int]]
    bcp: dict[str, Any]
    tlpt: TlptDecision
    sources: list[dict[str, Any]] = Field(default_factory=list)


def _check_refs(
    assets: Sequence[Row[Asset]],
    tests: Sequence[Row[TestRecord]],
    findings: Sequence[Row[TestFinding]],
) -> None:
    problems: list[RowError] = []
    aids = {r.value.asset_id for r in assets}
    seen_tests: dict[str, int] = {}
    for t in tests:
        if t.value.test_id in seen_tests:
            problems.append(
                RowError(
                    t.file,
                    t.row,
                    "test_id",
                    f"duplicate id {t.value.test_id!r} (first in row {seen_tests[t.value.test_id]})",
                )
            )
        seen_tests.setdefault(t.value.test_id, t.row)
        for a in t.value.asset_ids:
            if a not in aids:
                problems.append(RowError(t.file, t.row, "asset_ids", f"unknown asset {a!r}"))
        if t.value.end_date and t.value.end_date < t.value.start_date:
            problems.append(RowError(t.file, t.row, "end_date", "ends before it starts"))
    seen_f: dict[str, int] = {}
    for f in findings:
        v = f.value
        if v.finding_id in seen_f:
            problems.append(
                RowError(
                    f.file,
                    f.row,
                    "finding_id",
                    f"duplicate id {v.finding_id!r} (first in row {seen_f[v.finding_id]})",
                )
            )
        seen_f.setdefault(v.finding_id, f.row)
        if v.test_id not in seen_tests:
            problems.append(RowError(f.file, f.row, "test_id", f"unknown test {v.test_id!r}"))
        if v.asset_id and v.asset_id not in aids:
            problems.append(RowError(f.file, f.row, "asset_id", f"unknown asset {v.asset_id!r}"))
        if v.closed and v.closed < v.identified:
            problems.append(RowError(f.file, f.row, "closed", "closed before it was identified"))
    if problems:
        raise TableError("testing programme cross-references", problems)


def planned_types(asset: Asset, cif: bool) -> list[str]:
    """Test types planned for an asset (the rule of the module docstring)."""
    types = ["vulnerability_assessment"]
    if cif and asset.internet_exposed:
        types.append("penetration_test")
    if cif and (asset.asset_type or "").lower() in {"network", "identity"}:
        types.append("network_security_assessment")
    return types


def build_programme(
    functions: Sequence[Row[BusinessFunction]],
    assets: Sequence[Row[Asset]],
    tests: Sequence[Row[TestRecord]],
    findings: Sequence[Row[TestFinding]],
    profile: TlptProfile,
    *,
    as_of: date,
    programme_year: int,
    non_cif_interval_months: int = 0,
    red_team_weeks: int = 12,
) -> TestingProgramme:
    from agents.ict_risk.assessment import check_references

    check_references(functions, assets, [])
    _check_refs(assets, tests, findings)
    cif_map = map_cif([f.value for f in functions], [a.value for a in assets])
    window_start = max(as_of, date(programme_year, 1, 1))
    year_end = date(programme_year, 12, 31)

    by_asset: dict[str, list[TestRecord]] = {}
    for t in tests:
        for aid in t.value.asset_ids:
            by_asset.setdefault(aid, []).append(t.value)

    systems: list[SystemPlan] = []
    calendar: list[CalendarEntry] = []
    for row in assets:
        a = row.value
        cif = bool(cif_map[a.asset_id])
        history = [t for t in by_asset.get(a.asset_id, []) if t.test_type in ART_25_TYPES]
        last = max((t.done_on for t in history), default=None)
        types = planned_types(a, cif)
        if cif:
            due = last + YEARLY if last else None
            status = (
                "never_tested"
                if last is None
                else "overdue"
                if as_of > (last + YEARLY)
                else "compliant"
            )
            cadence = "at least yearly"
            ref = "DORA Art. 24(6); test types Art. 24(3), 25(1)"
        else:
            due = (
                last + relativedelta(months=non_cif_interval_months)
                if (last and non_cif_interval_months)
                else None
            )
            status = "risk_based"
            cadence = (
                f"every {non_cif_interval_months} months (internal policy)"
                if non_cif_interval_months
                else "risk-based, no statutory frequency"
            )
            ref = "DORA Art. 24(3)"
        systems.append(
            SystemPlan(
                asset_id=a.asset_id,
                name=a.name,
                cif_functions=sorted(cif_map[a.asset_id]),
                in_scope=cif,
                tests=types,
                cadence=cadence,
                last_test=last,
                due=due,
                status=status,
                reference=ref,
            )
        )
        if not cif and not non_cif_interval_months:
            continue
        step = YEARLY if cif else relativedelta(months=non_cif_interval_months)
        for ttype in types:
            same = [t.done_on for t in history if t.test_type == ttype]
            base = max(same, default=last)
            when = base + step if base else window_start
            catch_up = when < window_start
            when = max(when, window_start)
            if when > year_end:
                continue
            calendar.append(
                CalendarEntry(
                    date=when,
                    kind=ttype,
                    subject=a.asset_id,
                    description=f"{ttype.replace('_', ' ')} of {a.name or a.asset_id}"
                    + (f" (supports {', '.join(sorted(cif_map[a.asset_id]))})" if cif else ""),
                    catch_up=catch_up,
                    reference=ref,
                )
            )

    bcp_tests = [t.value.done_on for t in tests if t.value.test_type == "bcp_test"]
    bcp_last = max(bcp_tests, default=None)
    bcp_due = bcp_last + YEARLY if bcp_last else None
    bcp_overdue = bcp_last is None or as_of > (bcp_last + YEARLY)
    bcp_when = max(bcp_due or window_start, window_start)
    if bcp_when <= year_end:
        calendar.append(
            CalendarEntry(
                date=bcp_when,
                kind="bcp_test",
                subject="entity",
                description="Test of the ICT business continuity plan and the ICT response and recovery plans (incl. switchover, RTS 2024/1774 Art. 25)",
                catch_up=bool(bcp_due and bcp_due < window_start),
                reference="DORA Art. 11(6)(a)",
            )
        )

    decision = decide(profile, as_of, red_team_weeks=red_team_weeks)
    for ph in decision.phases:
        d = date.fromisoformat(ph["date"])
        if window_start <= d <= year_end:
            calendar.append(
                CalendarEntry(
                    date=d,
                    kind="tlpt",
                    subject="entity",
                    description=f"TLPT: {ph['milestone']}",
                    reference=ph["reference"],
                )
            )
    calendar.sort(key=lambda c: (c.date, c.kind, c.subject))

    statuses: list[FindingStatus] = []
    for fr in findings:
        f = fr.value
        if f.closed is not None:
            st = "closed" if f.validated else "closed_not_validated"
            days = (f.closed - f.identified).days
        else:
            st = "overdue" if (f.due is not None and as_of > f.due) else "open"
            days = (as_of - f.identified).days
        statuses.append(
            FindingStatus(
                finding_id=f.finding_id,
                test_id=f.test_id,
                asset_id=f.asset_id,
                title=f.title,
                severity=f.severity,
                status=st,
                due=f.due,
                days_open=days,
                owner=f.owner,
            )
        )
    order = {s: i for i, s in enumerate(SEVERITIES)}
    statuses.sort(
        key=lambda s: (s.status not in ("overdue", "open"), order[s.severity], s.finding_id)
    )
    by_sev = {
        s: {
            st: sum(1 for x in statuses if x.severity == s and x.status == st)
            for st in ("open", "overdue", "closed", "closed_not_validated")
        }
        for s in SEVERITIES
    }
    open_ = [s for s in statuses if s.status in ("open", "overdue")]
    overdue = [s for s in statuses if s.status == "overdue"]
    cif_systems = [s for s in systems if s.in_scope]
    summary = ProgrammeSummary(
        programme_year=programme_year,
        systems=len(systems),
        systems_in_scope=len(cif_systems),
        cif_systems_overdue=sum(1 for s in cif_systems if s.status == "overdue"),
        cif_systems_never_tested=sum(1 for s in cif_systems if s.status == "never_tested"),
        planned_tests=len(calendar),
        catch_up_tests=sum(1 for c in calendar if c.catch_up),
        bcp_test_overdue=bcp_overdue,
        open_findings=len(open_),
        overdue_findings=len(overdue),
        overdue_critical_or_high_findings=sum(
            1 for s in overdue if s.severity in ("critical", "high")
        ),
        findings_without_due_date=sum(1 for s in open_ if s.due is None),
        closed_not_validated=sum(1 for s in statuses if s.status == "closed_not_validated"),
        tlpt_required=decision.required,
    )
    return TestingProgramme(
        as_of=as_of,
        entity=profile.name,
        summary=summary,
        cif_tested_within_year=all(s.status == "compliant" for s in cif_systems),
        no_overdue_findings=not overdue,
        systems=systems,
        calendar=calendar,
        findings=statuses,
        findings_by_severity=by_sev,
        bcp={
            "last_test": bcp_last.isoformat() if bcp_last else None,
            "due": bcp_due.isoformat() if bcp_due else None,
            "overdue": bcp_overdue,
            "reference": "DORA Art. 11(6)(a): ICT business continuity and response and recovery plans tested at least yearly",
        },
        tlpt=decision,
    )
