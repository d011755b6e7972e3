"""The testing programme as a report for the management body's approval (DORA Art. 24)."""

from __future__ import annotations

from agents.ict_risk.html import Kpi, ReportView, Section, Table
from agents.resilience.programme import TestingProgramme


def _d(value: object) -> str:
    return "-" if value is None else str(value)


def build_view(p: TestingProgramme, *, generated_at: str, run_id: str) -> ReportView:
    s = p.summary
    t = p.tlpt
    sections = [
        Section(
            id="scope",
            heading="Programme scope and test selection",
            reference="DORA Art. 24(1)-(3), 24(6), 25(1)",
            paragraphs=[
                f"{s.systems_in_scope} of {s.systems} ICT assets support critical or important "
                "functions (directly or through dependencies) and are tested at least yearly "
                "(DORA Art. 24(6)). Test types are chosen risk-based (Art. 24(3)): a "
                "vulnerability assessment for every such asset, a penetration test for those "
                "exposed to the internet, a network security assessment for network and "
                "identity assets. Other assets are tested risk-based; DORA sets no frequency "
                "for them.",
                f"{s.cif_systems_overdue} asset(s) supporting critical or important functions "
                f"have not been tested within the last year and {s.cif_systems_never_tested} "
                "have never been tested.",
                "Automated vulnerability scans of these assets run at least weekly (RTS "
                "2024/1774 Art. 10(2)) and are tracked by the ICT risk review.",
            ],
            tables=[
                Table(
                    columns=[
                        "asset",
                        "name",
                        "CIF",
                        "tests",
                        "cadence",
                        "last test",
                        "due",
                        "status",
                    ],
                    rows=[
                        {
                            "asset": x.asset_id,
                            "name": _d(x.name),
                            "CIF": ", ".join(x.cif_functions) or "-",
                            "tests": ", ".join(x.tests),
                            "cadence": x.cadence,
                            "last test": _d(x.last_test),
                            "due": _d(x.due),
                            "status": x.status,
                        }
                        for x in p.systems
                    ],
                )
            ],
        ),
        Section(
            id="calendar",
            heading=f"Test calendar {s.programme_year}",
            reference="DORA Art. 24(1), 24(6), 11(6); RTS 2025/1190 Arts. 9-12",
            paragraphs=[
                f"{s.planned_tests} planned entries, {s.catch_up_tests} of them catch-ups of tests already due."
            ],
            tables=[
                Table(
                    columns=["date", "test", "subject", "description", "catch-up", "reference"],
                    rows=[
                        {
                            "date": c.date.isoformat(),
                            "test": c.kind,
                            "subject": c.subject,
                            "description": c.description,
                            "catch-up": "yes" if c.catch_up else "",
                            "reference": c.reference,
                        }
                        for c in p.calendar
                    ],
                )
            ],
        ),
        Section(
            id="bcp",
            heading="Business continuity and response and recovery plan tests",
            reference=p.bcp["reference"],
            paragraphs=[
                f"Last test: {_d(p.bcp['last_test'])}; next due: {_d(p.bcp['due'])}"
                + ("; overdue." if p.bcp["overdue"] else ".")
            ],
        ),
        Section(
            id="findings",
            heading="Findings and remediation",
            reference="DORA Art. 24(5)",
            paragraphs=[
                f"{s.open_findings} open finding(s), {s.overdue_findings} past their due date "
                f"({s.overdue_critical_or_high_findings} critical or high); "
                f"{s.findings_without_due_date} open without a due date; "
                f"{s.closed_not_validated} closed without internal validation."
            ],
            tables=[
                Table(
                    columns=[
                        "finding",
                        "test",
                        "asset",
                        "title",
                        "severity",
                        "status",
                        "due",
                        "days open",
                        "owner",
                    ],
                    rows=[
                        {
                            "finding": f.finding_id,
                            "test": f.test_id,
                            "asset": _d(f.asset_id),
                            "title": f.title,
                            "severity": f.severity,
                            "status": f.status,
                            "due": _d(f.due),
                            "days open": f.days_open,
                            "owner": _d(f.owner),
                        }
                        for f in p.findings
                    ],
                )
            ],
        ),
        Section(
            id="tlpt",
            heading="Threat-led penetration testing",
            reference="DORA Art. 26-27; RTS 2025/1190 Art. 2, 9-12, 15",
            paragraphs=[
                ("TLPT is mandatory: " + "; ".join(t.basis) + ".")
                if t.required
                else "TLPT is not mandatory. " + " ".join(t.reasons),
                *(
                    [
                        f"Next TLPT due by {t.next_due.isoformat()} (at least every 3 years, DORA Art. 26(1))."
                    ]
                    if t.next_due
                    else []
                ),
                *t.tester_reasons,
            ],
            tables=[
                Table(
                    caption="TLPT phases and time limits",
                    columns=["phase", "milestone", "date", "reference"],
                    rows=list(t.phases),
                )
            ]
            if t.phases
            else [],
        ),
        Section(
            id="approval",
            heading="Approval",
            reference="DORA Art. 5(2)(a), 24(1)",
            paragraphs=[
                "DORA does not prescribe who approves the testing programme; as a governance "
                "choice it is approved by the CIO and the management body, which bears the "
                "ultimate responsibility for ICT risk (Art. 5(2)(a)). The run records who "
                "approved it (require_approval rule of the workflow)."
            ],
        ),
    ]
    return ReportView(
        title=f"Digital operational resilience testing programme {s.programme_year}: {p.entity}",
        subtitle="Programme under DORA Arts. 24-27 and RTS 2025/1190 (TLPT).",
        generated_at=generated_at,
        run_id=run_id,
        kpis=[
            Kpi(id="in-scope", label="Systems supporting CIF", value=str(s.systems_in_scope)),
            Kpi(
                id="overdue",
                label="CIF systems overdue (Art. 24(6))",
                value=str(s.cif_systems_overdue),
            ),
            Kpi(id="planned", label="Planned tests", value=str(s.planned_tests)),
            Kpi(id="findings", label="Open findings", value=str(s.open_findings)),
            Kpi(id="tlpt", label="TLPT mandatory", value="yes" if t.required else "no"),
        ],
        sections=sections,
        provenance=[("as of", p.as_of.isoformat())]
        + [(f"{x['role']} {x['path']}", x["sha256"]) for x in p.sources],
    )
