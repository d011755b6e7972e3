"""The report on the review of the ICT risk management framework (RTS 2024/1774 Art. 27).

Art. 27(2) fixes the sections (a)-(l); each becomes one section of the report, in that
order, with its point in the heading so a supervisor can find it. What the inventory and
the register can tell (findings, severities, measures with dates and owners, accepted
residual risks, sources) is filled in from the assessment; what only people know (the
management body's approval date, major changes since the last review, past reviews) comes
from the review context file and is marked "to be completed" when absent, never invented.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from dateutil.relativedelta import relativedelta
from pydantic import BaseModel, ConfigDict, Field

from agents.ict_risk.assessment import IctRiskAssessment
from agents.ict_risk.html import Kpi, ReportView, Section, Table
from agents.ict_risk.tabular import read_yaml_model

TODO = "To be completed by the ICT risk management function (not derivable from the inventory)."


class PastReview(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: date
    reason: str
    open_measures: int = 0
    note: str = ""


class ReviewContext(BaseModel):
    """What the review report needs that no inventory holds (RTS 2024/1774 Art. 27(2))."""

    model_config = ConfigDict(extra="forbid")

    entity: str = "the financial entity"
    group_structure: str = ""
    context: str = ""
    review_reason: str = "Yearly review of the ICT risk management framework (DORA Art. 6(5))"
    period_start: date | None = None
    period_end: date | None = None
    responsible_function: str = "ICT risk management function (second line of defence)"
    management_body_approval: date | None = None
    major_changes: list[str] = Field(default_factory=list)
    planned_developments: list[str] = Field(default_factory=list)
    past_reviews: list[PastReview] = Field(default_factory=list)
    competent_authority_process: str = ""
    internal_audit_results: str = ""
    compliance_assessment_results: str = ""
    testing_results: str = ""


def load_context(path: str | None) -> ReviewContext:
    """Read the review context YAML; a bad field names the file and the field."""
    if not path:
        return ReviewContext()
    return read_yaml_model(path, ReviewContext, "review context")


def _rows(items: list[BaseModel], cols: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for item in items:
        data = item.model_dump(mode="json")
        out.append({label: _fmt(data.get(key)) for label, key in cols.items()})
    return out


def _fmt(value: Any) -> Any:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def build_view(
    a: IctRiskAssessment, ctx: ReviewContext, *, generated_at: str, run_id: str
) -> ReportView:
    s = a.summary
    start = ctx.period_start or (a.as_of - relativedelta(years=1))
    end = ctx.period_end or a.as_of
    sev = s.findings
    cif_names = [f["name"] for f in a.functions if f.get("critical_or_important")]
    top = [f for f in a.findings if f.severity in ("critical", "high")]
    untreated = [r for r in a.risk_register if r.status == "mitigation_required"]
    accepted = [r for r in a.risk_register if r.status == "accepted_above_tolerance"]

    profile = (
        f"{s.assets} ICT assets support {s.functions} business functions, "
        f"{s.critical_or_important_functions} of them critical or important "
        f"({', '.join(cif_names) or 'none'}). {s.cif_assets} assets support a critical or "
        f"important function, {s.cif_assets_via_dependency} of them only through dependencies. "
        f"Of {s.risks} ICT risks, {s.risks_above_tolerance} have a residual score above the "
        f"declared tolerance of {a.risk_tolerance:g}; {s.risks_above_tolerance_untreated} of "
        "those still need treatment."
    )
    findings_line = (
        f"The review found {sum(sev.values())} issues: {sev['critical']} critical, "
        f"{sev['high']} high, {sev['medium']} medium, {sev['low']} low. "
        f"{s.end_of_support} asset(s) are past end of support ({s.end_of_support_on_cif} "
        f"supporting critical or important functions), {s.overdue_reviews} periodic reviews "
        f"are overdue and {s.missing_rto_rpo} asset(s) lack RTO or RPO."
    )
    sections = [
        Section(
            id="a-introduction",
            heading="(a) Introduction",
            reference="RTS 2024/1774 Art. 27(2)(a)(i)-(iv)",
            paragraphs=[
                f"Entity: {ctx.entity}."
                + (f" Group structure: {ctx.group_structure}" if ctx.group_structure else ""),
                ctx.context or TODO,
                "Major changes since the previous report: "
                + (
                    "; ".join(c.rstrip(".") for c in ctx.major_changes) + "."
                    if ctx.major_changes
                    else TODO
                ),
                "Executive summary of the ICT risk profile: " + profile + " " + findings_line,
            ],
        ),
        Section(
            id="b-approval",
            heading="(b) Approval by the management body",
            reference="RTS 2024/1774 Art. 27(2)(b); DORA Art. 5(2)",
            paragraphs=[
                f"Approved on {ctx.management_body_approval.isoformat()}."
                if ctx.management_body_approval
                else "Not yet approved: the report must be approved by the management body before "
                "it is submitted."
            ],
        ),
        Section(
            id="c-reason",
            heading="(c) Reason for the review",
            reference="RTS 2024/1774 Art. 27(2)(c); DORA Art. 6(5)",
            paragraphs=[ctx.review_reason],
        ),
        Section(
            id="d-period",
            heading="(d) Review period",
            reference="RTS 2024/1774 Art. 27(2)(d)",
            paragraphs=[
                f"From {start.isoformat()} to {end.isoformat()} (inventory as of {a.as_of.isoformat()})."
            ],
        ),
        Section(
            id="e-function",
            heading="(e) Function responsible for the review",
            reference="RTS 2024/1774 Art. 27(2)(e); DORA Art. 6(4)",
            paragraphs=[ctx.responsible_function],
        ),
        Section(
            id="f-changes",
            heading="(f) Major changes and improvements since the previous review",
            reference="RTS 2024/1774 Art. 27(2)(f)",
            paragraphs=ctx.major_changes or [TODO],
        ),
        Section(
            id="g-findings",
            heading="(g) Findings and severity of weaknesses, deficiencies and gaps",
            reference="RTS 2024/1774 Art. 27(2)(g)",
            paragraphs=[findings_line],
            tables=[
                Table(
                    caption="Critical and high findings",
                    columns=[
                        "finding",
                        "severity",
                        "subject",
                        "finding text",
                        "reference",
                        "where",
                    ],
                    rows=[
                        {
                            "finding": f.finding_id,
                            "severity": f.severity,
                            "subject": f.subject,
                            "finding text": f.message,
                            "reference": f.reference,
                            "where": f"{Path(f.file).name if f.file else '-'} row {f.row}, {f.column}",
                        }
                        for f in top
                    ],
                ),
                Table(
                    caption="Assets and their critical or important functions",
                    columns=[
                        "asset",
                        "name",
                        "criticality",
                        "CIF",
                        "mapping",
                        "RTO h",
                        "RPO h",
                        "end of support",
                        "findings",
                    ],
                    rows=[
                        {
                            "asset": v.asset_id,
                            "name": _fmt(v.name),
                            "criticality": _fmt(v.criticality),
                            "CIF": _fmt(v.cif_functions),
                            "mapping": v.cif_mapping,
                            "RTO h": _fmt(v.rto_hours),
                            "RPO h": _fmt(v.rpo_hours),
                            "end of support": _fmt(
                                v.end_of_support and v.end_of_support.isoformat()
                            ),
                            "findings": v.findings,
                        }
                        for v in a.assets
                    ],
                ),
            ],
        ),
        Section(
            id="h-measures",
            heading="(h) Measures to address weaknesses, deficiencies and gaps",
            reference="RTS 2024/1774 Art. 27(2)(h)(i)-(vi); Art. 3(c)-(d)",
            paragraphs=[
                f"{len(untreated)} risk(s) above tolerance need treatment; {len(accepted)} are "
                "accepted above tolerance by a named approver with a justification (criteria "
                "for accepting residual risk: Art. 3(d)).",
                "Information of the competent authority: "
                + (ctx.competent_authority_process or TODO),
            ],
            tables=[
                Table(
                    caption="Risk register with treatment proposals",
                    columns=[
                        "risk",
                        "title",
                        "inherent",
                        "residual",
                        "band",
                        "CIF",
                        "status",
                        "owner",
                        "due",
                        "proposal",
                    ],
                    rows=[
                        {
                            "risk": r.risk_id,
                            "title": r.title,
                            "inherent": r.inherent_score,
                            "residual": r.residual_score,
                            "band": r.residual_band,
                            "CIF": _fmt(r.supports_cif),
                            "status": r.status,
                            "owner": _fmt(r.owner),
                            "due": _fmt(r.treatment_due and r.treatment_due.isoformat()),
                            "proposal": r.proposal,
                        }
                        for r in a.risk_register
                    ],
                )
            ],
        ),
        Section(
            id="i-developments",
            heading="(i) Planned further developments of the framework",
            reference="RTS 2024/1774 Art. 27(2)(i)",
            paragraphs=ctx.planned_developments or [TODO],
        ),
        Section(
            id="j-conclusions",
            heading="(j) Conclusions",
            reference="RTS 2024/1774 Art. 27(2)(j)",
            paragraphs=_conclusions(a),
        ),
        Section(
            id="k-past-reviews",
            heading="(k) Past reviews",
            reference="RTS 2024/1774 Art. 27(2)(k)",
            paragraphs=[] if ctx.past_reviews else ["No past review recorded. " + TODO],
            tables=[
                Table(
                    columns=["date", "reason", "open measures", "note"],
                    rows=[
                        {
                            "date": p.date.isoformat(),
                            "reason": p.reason,
                            "open measures": p.open_measures,
                            "note": p.note or "-",
                        }
                        for p in ctx.past_reviews
                    ],
                )
            ]
            if ctx.past_reviews
            else [],
        ),
        Section(
            id="l-sources",
            heading="(l) Sources of information",
            reference="RTS 2024/1774 Art. 27(2)(l)",
            paragraphs=[
                "Internal audit results: " + (ctx.internal_audit_results or TODO),
                "Compliance assessment results: " + (ctx.compliance_assessment_results or TODO),
                "Digital operational resilience testing results: " + (ctx.testing_results or TODO),
            ],
            tables=[
                Table(
                    caption="Files read for this review",
                    columns=["role", "file", "sha256"],
                    rows=[
                        {"role": src["role"], "file": src["path"], "sha256": src["sha256"]}
                        for src in a.sources
                    ],
                )
            ],
        ),
    ]
    kpis = [
        Kpi(id="assets", label="ICT assets", value=str(s.assets)),
        Kpi(id="cif-assets", label="Assets supporting CIF", value=str(s.cif_assets)),
        Kpi(
            id="above-tolerance", label="Risks above tolerance", value=str(s.risks_above_tolerance)
        ),
        Kpi(id="eos-cif", label="End of support on CIF", value=str(s.end_of_support_on_cif)),
        Kpi(id="overdue", label="Overdue reviews", value=str(s.overdue_reviews)),
    ]
    return ReportView(
        title=f"Review of the ICT risk management framework: {ctx.entity}",
        subtitle="Report under DORA Art. 6(5) in the format of RTS 2024/1774 Art. 27.",
        generated_at=generated_at,
        run_id=run_id,
        kpis=kpis,
        sections=sections,
        provenance=[("as of", a.as_of.isoformat()), ("risk tolerance", f"{a.risk_tolerance:g}")]
        + [(f"{src['role']} {src['path']}", src["sha256"]) for src in a.sources],
    )


def _conclusions(a: IctRiskAssessment) -> list[str]:
    s = a.summary
    out = []
    if s.end_of_support_on_cif:
        out.append(
            f"{s.end_of_support_on_cif} unsupported asset(s) support critical or important "
            "functions: replace or isolate them and assess them as legacy systems (DORA Art. 8(7)); "
            "this has been escalated."
        )
    if s.risks_above_tolerance_untreated:
        out.append(
            f"{s.risks_above_tolerance_untreated} risk(s) exceed the risk tolerance without valid "
            "treatment or acceptance (RTS 2024/1774 Art. 3(c))."
        )
    if not a.inventory_complete:
        out.append(
            f"The ICT asset inventory is incomplete for {s.incomplete_records} asset(s) "
            "(RTS 2024/1774 Art. 4(2)(b))."
        )
    if s.overdue_reviews:
        out.append(
            f"{s.overdue_reviews} periodic review(s) are overdue against the prescribed frequencies."
        )
    return out or ["No weaknesses found against the checks performed."]
