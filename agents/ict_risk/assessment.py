"""The ICT risk review: map assets to critical or important functions, score, flag.

Rules (deterministic; every number can be recomputed by hand from the input files):

*Critical or important functions (CIF).* An asset supports a CIF *directly* when one of
its ``functions`` is marked ``critical_or_important``; it supports it *via dependency*
when an asset supporting that CIF depends on it, at any depth (DORA Art. 8(1) and RTS
2024/1774 Art. 4(2)(b)(viii): links and interdependencies). The path is kept so the report
can say why a database with no function of its own is in CIF scope.

*Risk scores* (RTS 2024/1774 Art. 3(b)(ii)). Inherent = likelihood x impact (1..25).
Residual = inherent x (1 - control effectiveness). Bands on the residual score:
>= 15 critical, >= 10 high, >= 5 medium, else low. A risk is *above tolerance* when its
residual score is strictly higher than the declared risk tolerance (Art. 3(a)).

*Treatment proposals* (Art. 3(c), 3(d)). Above tolerance and not validly accepted: mitigate,
with the control effectiveness needed to reach tolerance (1 - tolerance / inherent).
Accepted above tolerance: valid only with an approver and a justification (Art.
3(d)(ii)(1), (iii)). Within tolerance: record in the inventory of accepted residual risks
and review yearly (Art. 3(d)(iii)-(iv)). Transfer never moves responsibility (DORA Art.
28(1)(a)).

*End of support* is the last day the supplier supports the asset: from the day after, the
asset is unsupported (and a legacy ICT system for DORA Art. 8(7)).

*Findings.* Missing asset attributes (Art. 4(2)(b); the functions of an asset that others
depend on are those of its dependents, so infrastructure is not flagged), missing RTO/RPO, RTO/RPO looser than
the function's tolerance, end of support reached (or within the planning horizon), overdue
reviews (``frequencies.py``). Severity: end of support on a CIF asset is critical; other
problems of CIF assets are high; the rest medium (incomplete records of non-CIF assets low).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from agents.ict_risk import frequencies as fq
from agents.ict_risk.models import Asset, BusinessFunction, RiskEntry
from agents.ict_risk.tabular import Row, RowError, TableError

Severity = Literal["critical", "high", "medium", "low"]
SEVERITY_ORDER: dict[str, int] = {"critical": 0, "high": 1, "medium": 2, "low": 3}

#: RTS 2024/1774 Art. 4(2)(b): attribute -> point of the article
REQUIRED_ATTRIBUTES: dict[str, str] = {
    "location": "Art. 4(2)(b)(ii)",
    "classification": "Art. 4(2)(b)(iii)",
    "owner": "Art. 4(2)(b)(iv)",
    "functions": "Art. 4(2)(b)(v)",
    "internet_exposed": "Art. 4(2)(b)(vii)",
    "criticality": "Art. 5(2) (criticality assessment)",
}


class Finding(BaseModel):
    """One problem the review found, pointing back at the file cell where possible."""

    finding_id: str
    kind: str
    severity: Severity
    subject: str  # asset or risk id
    message: str
    reference: str
    file: str | None = None
    row: int | None = None
    column: str | None = None
    due: date | None = None


class AssetView(BaseModel):
    asset_id: str
    name: str | None
    owner: str | None
    criticality: str | None
    internet_exposed: bool | None
    rto_hours: float | None
    rpo_hours: float | None
    end_of_support: date | None
    functions: list[str]
    cif_functions: list[str]
    cif_mapping: Literal["direct", "via_dependency", "none"]
    cif_paths: dict[str, list[str]] = Field(default_factory=dict)
    supports_cif: bool
    end_of_support_reached: bool
    findings: int = 0


class RiskView(BaseModel):
    risk_id: str
    title: str
    asset_ids: list[str]
    owner: str | None
    likelihood: int
    impact: int
    inherent_score: int
    control_effectiveness: float
    residual_score: float
    residual_band: Severity
    above_tolerance: bool
    supports_cif: bool
    treatment: str | None
    status: str
    proposal: str
    reference: str
    treatment_due: date | None = None


class Summary(BaseModel):
    assets: int
    functions: int
    critical_or_important_functions: int
    cif_assets: int
    cif_assets_via_dependency: int
    risks: int
    risks_above_tolerance: int
    risks_above_tolerance_untreated: int
    findings: dict[str, int]
    incomplete_records: int
    missing_rto_rpo: int
    missing_rto_rpo_on_cif: int
    end_of_support: int
    end_of_support_on_cif: int
    overdue_reviews: int
    overdue_reviews_on_cif: int


class IctRiskAssessment(BaseModel):
    as_of: date
    risk_tolerance: float
    summary: Summary
    #: facts published to conditions (see agents/registry.py)
    inventory_complete: bool
    within_risk_tolerance: bool
    escalations: list[str]
    assets: list[AssetView]
    risk_register: list[RiskView]
    findings: list[Finding]
    functions: list[dict[str, Any]]
    sources: list[dict[str, Any]] = Field(default_factory=list)


def band(score: float) -> Severity:
    if score >= 15:
        return "critical"
    if score >= 10:
        return "high"
    if score >= 5:
        return "medium"
    return "low"


def check_references(
    functions: Sequence[Row[BusinessFunction]],
    assets: Sequence[Row[Asset]],
    risks: Sequence[Row[RiskEntry]],
) -> None:
    """Duplicate ids and references to unknown functions/assets; all problems at once."""
    problems: list[RowError] = []

    def dupes(rows: Sequence[Row[Any]], key: str) -> set[str]:
        seen: dict[str, int] = {}
        ids: set[str] = set()
        for r in rows:
            value = getattr(r.value, key)
            if value in seen:
                problems.append(
                    RowError(
                        r.file, r.row, key, f"duplicate id {value!r} (first in row {seen[value]})"
                    )
                )
            else:
                seen[value] = r.row
            ids.add(value)
        return ids

    fids = dupes(functions, "function_id")
    aids = dupes(assets, "asset_id")
    dupes(risks, "risk_id")
    for r in assets:
        for f in r.value.functions:
            if f not in fids:
                problems.append(
                    RowError(r.file, r.row, "functions", f"unknown business function {f!r}")
                )
        for d in r.value.dependencies:
            if d not in aids:
                problems.append(RowError(r.file, r.row, "dependencies", f"unknown asset {d!r}"))
            elif d == r.value.asset_id:
                problems.append(RowError(r.file, r.row, "dependencies", "asset depends on itself"))
    for rr in risks:
        for a in rr.value.asset_ids:
            if a not in aids:
                problems.append(RowError(rr.file, rr.row, "asset_ids", f"unknown asset {a!r}"))
    if problems:
        raise TableError("inventory cross-references", problems)


def map_cif(
    functions: Sequence[BusinessFunction], assets: Sequence[Asset]
) -> dict[str, dict[str, list[str]]]:
    """asset id -> {CIF id -> path of asset ids from the directly supporting asset}.

    Breadth-first from each directly supporting asset along ``dependencies``, so the path
    kept is a shortest one and cycles in the dependency graph terminate.
    """
    cif = {f.function_id for f in functions if f.critical_or_important}
    by_id = {a.asset_id: a for a in assets}
    out: dict[str, dict[str, list[str]]] = {a.asset_id: {} for a in assets}
    for fid in sorted(cif):
        queue: deque[list[str]] = deque([[a.asset_id] for a in assets if fid in a.functions])
        while queue:
            path = queue.popleft()
            here = path[-1]
            if fid in out[here]:
                continue
            out[here][fid] = path
            for dep in by_id[here].dependencies:
                if fid not in out[dep]:
                    queue.append([*path, dep])
    return out


class _Adder(Protocol):
    def __call__(
        self,
        kind: str,
        sev: Severity,
        msg: str,
        ref: str,
        column: str | None,
        due: date | None = None,
    ) -> None: ...


def _adder(sink: list[Finding], ids: _Counter, subject: str, file: str, row: int) -> _Adder:
    """A function that appends findings about one subject (asset or risk) at one row."""

    def add(
        kind: str, sev: Severity, msg: str, ref: str, column: str | None, due: date | None = None
    ) -> None:
        sink.append(
            Finding(
                finding_id=ids.next("F"),
                kind=kind,
                severity=sev,
                subject=subject,
                message=msg,
                reference=ref,
                file=file,
                row=row,
                column=column,
                due=due,
            )
        )

    return add


class _Counter:
    def __init__(self) -> None:
        self.n = 0

    def next(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}-{self.n:03d}"


def assess(
    functions: Sequence[Row[BusinessFunction]],
    assets: Sequence[Row[Asset]],
    risks: Sequence[Row[RiskEntry]],
    *,
    risk_tolerance: float,
    as_of: date,
    microenterprise: bool = False,
    eos_warning_days: int = 180,
) -> IctRiskAssessment:
    """The whole review (rules in the module docstring)."""
    check_references(functions, assets, risks)
    fmap = {r.value.function_id: r.value for r in functions}
    cif_map = map_cif([r.value for r in functions], [r.value for r in assets])
    ids = _Counter()
    findings: list[Finding] = []
    views: list[AssetView] = []
    incomplete_assets: set[str] = set()
    dependents = {d for r in assets for d in r.value.dependencies}

    for r in assets:
        a = r.value
        paths = cif_map[a.asset_id]
        cif = bool(paths)
        direct = any(f in a.functions for f in paths)
        eos_reached = a.end_of_support is not None and a.end_of_support < as_of
        own: list[Finding] = []

        add = _adder(own, ids, a.asset_id, r.file, r.row)

        for attr, point in REQUIRED_ATTRIBUTES.items():
            value = getattr(a, attr)
            if attr == "functions" and not value and a.asset_id in dependents:
                continue  # the functions are those of the assets that depend on it
            if value is None or value == []:
                add(
                    "incomplete_record",
                    "high" if cif else "low",
                    f"{a.asset_id}: '{attr}' is not recorded",
                    f"RTS 2024/1774 {point}",
                    attr,
                )
                incomplete_assets.add(a.asset_id)
        missing = [c for c in ("rto_hours", "rpo_hours") if getattr(a, c) is None]
        for col in missing:
            add(
                "missing_rto_rpo",
                "high" if cif else "medium",
                f"{a.asset_id}: {col.split('_')[0].upper()} is not recorded"
                + (" for an asset supporting a critical or important function" if cif else ""),
                "RTS 2024/1774 Art. 4(2)(b)(vi); DORA Art. 12",
                col,
            )
            incomplete_assets.add(a.asset_id)
        for fid in paths:
            fn = fmap[fid]
            for col, limit in (("rto_hours", fn.max_rto_hours), ("rpo_hours", fn.max_rpo_hours)):
                value = getattr(a, col)
                if value is not None and limit is not None and value > limit:
                    add(
                        "recovery_objective_gap",
                        "high",
                        f"{a.asset_id}: {col.split('_')[0].upper()} {value:g} h is longer than the "
                        f"{limit:g} h that function {fid} ({fn.name}) tolerates",
                        "DORA Art. 11 and 12; RTS 2024/1774 Art. 4(2)(b)(vi)",
                        col,
                    )
        if a.end_of_support is not None:
            if eos_reached:
                add(
                    "end_of_support",
                    "critical" if cif else "high",
                    f"{a.asset_id}: supplier support ended on {a.end_of_support.isoformat()}"
                    + (
                        f"; it supports critical or important function(s) {', '.join(sorted(paths))}"
                        if cif
                        else ""
                    ),
                    "RTS 2024/1774 Art. 4(2)(b)(ix); DORA Art. 8(7) (legacy ICT systems)",
                    "end_of_support",
                    a.end_of_support,
                )
            elif a.end_of_support <= as_of + timedelta(days=eos_warning_days):
                add(
                    "end_of_support_soon",
                    "high" if cif else "medium",
                    f"{a.asset_id}: supplier support ends on {a.end_of_support.isoformat()} "
                    f"(within the {eos_warning_days}-day planning horizon)",
                    "RTS 2024/1774 Art. 4(2)(a) (lifecycle management), 4(2)(b)(ix)",
                    "end_of_support",
                    a.end_of_support,
                )
        for freq in fq.ASSET_FREQUENCIES:
            if freq.applies_to == "cif" and not cif:
                continue
            if freq.applies_to == "non_cif" and cif:
                continue
            if freq.applies_to == "legacy" and (not eos_reached or microenterprise):
                continue
            col = f"last_{freq.key}"
            last = getattr(a, col)
            if freq.overdue(last, as_of):
                when = (
                    "has never been recorded"
                    if last is None
                    else f"was last done on {last.isoformat()}, due {freq.due(last).isoformat()}"
                )
                add(
                    "overdue_review",
                    "high" if cif else "medium",
                    f"{a.asset_id}: {freq.title[0].lower()}{freq.title[1:]} ({freq.label}) {when}",
                    freq.reference,
                    col,
                    freq.due(last) if last else None,
                )
        findings.extend(own)
        views.append(
            AssetView(
                asset_id=a.asset_id,
                name=a.name,
                owner=a.owner,
                criticality=a.criticality,
                internet_exposed=a.internet_exposed,
                rto_hours=a.rto_hours,
                rpo_hours=a.rpo_hours,
                end_of_support=a.end_of_support,
                functions=a.functions,
                cif_functions=sorted(paths),
                cif_mapping="direct" if direct else "via_dependency" if cif else "none",
                cif_paths={k: v for k, v in sorted(paths.items())},
                supports_cif=cif,
                end_of_support_reached=eos_reached,
                findings=len(own),
            )
        )

    cif_assets = {v.asset_id for v in views if v.supports_cif}
    register: list[RiskView] = []
    for rr in risks:
        view, risk_findings = _risk_view(rr, risk_tolerance, cif_assets, as_of, ids)
        register.append(view)
        findings.extend(risk_findings)

    register.sort(key=lambda v: (-v.residual_score, v.risk_id))
    findings.sort(key=lambda f: (SEVERITY_ORDER[f.severity], f.subject, f.finding_id))
    counts = {s: sum(1 for f in findings if f.severity == s) for s in SEVERITY_ORDER}
    eos = [f for f in findings if f.kind == "end_of_support"]
    eos_cif = [f for f in eos if f.subject in cif_assets]
    overdue = [f for f in findings if f.kind == "overdue_review"]
    rto = [f for f in findings if f.kind == "missing_rto_rpo"]
    above = [v for v in register if v.above_tolerance]
    untreated = [v for v in above if v.status == "mitigation_required"]
    summary = Summary(
        assets=len(views),
        functions=len(fmap),
        critical_or_important_functions=sum(1 for f in fmap.values() if f.critical_or_important),
        cif_assets=len(cif_assets),
        cif_assets_via_dependency=sum(1 for v in views if v.cif_mapping == "via_dependency"),
        risks=len(register),
        risks_above_tolerance=len(above),
        risks_above_tolerance_untreated=len(untreated),
        findings=counts,
        incomplete_records=len(incomplete_assets),
        missing_rto_rpo=len({f.subject for f in rto}),
        missing_rto_rpo_on_cif=len({f.subject for f in rto if f.subject in cif_assets}),
        end_of_support=len(eos),
        end_of_support_on_cif=len(eos_cif),
        overdue_reviews=len(overdue),
        overdue_reviews_on_cif=sum(1 for f in overdue if f.subject in cif_assets),
    )
    escalations = [
        f"{f.subject}: end of support on an asset supporting critical or important functions "
        f"({f.reference})"
        for f in eos_cif
    ]
    return IctRiskAssessment(
        as_of=as_of,
        risk_tolerance=risk_tolerance,
        summary=summary,
        inventory_complete=not incomplete_assets,
        within_risk_tolerance=not untreated,
        escalations=escalations,
        assets=views,
        risk_register=register,
        findings=findings,
        functions=[r.value.model_dump(mode="json") for r in functions],
    )


def _risk_view(
    r: Row[RiskEntry], tolerance: float, cif_assets: set[str], as_of: date, ids: _Counter
) -> tuple[RiskView, list[Finding]]:
    risk = r.value
    inherent = risk.likelihood * risk.impact
    residual = round(inherent * (1 - risk.control_effectiveness), 2)
    above = residual > tolerance
    cif = any(a in cif_assets for a in risk.asset_ids)
    found: list[Finding] = []

    add = _adder(found, ids, risk.risk_id, r.file, r.row)

    accepted_ok = (
        risk.treatment == "accept"
        and bool(risk.accepted_by)
        and bool(risk.acceptance_justification)
    )
    if above and risk.treatment == "accept" and not accepted_ok:
        missing = [c for c in ("accepted_by", "acceptance_justification") if not getattr(risk, c)]
        add(
            "invalid_acceptance",
            "critical" if cif else "high",
            f"{risk.risk_id}: accepted above the risk tolerance without " + " and ".join(missing),
            "RTS 2024/1774 Art. 3(d)(ii)(1) and 3(d)(iii)",
            missing[0],
        )
    needed = max(0.0, 1 - tolerance / inherent) if inherent else 0.0
    if above and accepted_ok:
        status = "accepted_above_tolerance"
        proposal = (
            f"Accepted above tolerance by {risk.accepted_by}: keep it in the inventory of "
            "accepted residual ICT risks with its justification and review it at least yearly; "
            f"mitigation would need control effectiveness of at least {needed:.0%} "
            f"(now {risk.control_effectiveness:.0%})."
        )
        reference = "RTS 2024/1774 Art. 3(d)(ii)-(iv)"
    elif above:
        status = "mitigation_required"
        verb = {
            "transfer": "Transfer alone does not move responsibility (DORA Art. 28(1)(a)); add "
            "controls",
            "avoid": "Retire or redesign the activity or asset",
        }.get(risk.treatment or "", "Mitigate")
        proposal = (
            f"{verb} so that controls remove at least {needed:.0%} of the inherent risk "
            f"(now {risk.control_effectiveness:.0%}), bringing the residual score "
            f"{residual:g} within the tolerance {tolerance:g}."
        )
        if cif:
            proposal += (
                " Prioritise: the risk affects assets supporting critical or important functions."
            )
        reference = "RTS 2024/1774 Art. 3(c)"
        if risk.treatment_due is None:
            add(
                "treatment_without_date",
                "high" if cif else "medium",
                f"{risk.risk_id}: residual score {residual:g} is above the tolerance {tolerance:g} "
                "and no treatment due date is set",
                "RTS 2024/1774 Art. 3(c); Art. 27(2)(h)(ii)",
                "treatment_due",
            )
        elif risk.treatment_due < as_of:
            add(
                "treatment_overdue",
                "high" if cif else "medium",
                f"{risk.risk_id}: treatment was due on {risk.treatment_due.isoformat()}",
                "RTS 2024/1774 Art. 3, second paragraph (monitoring of treatment effectiveness)",
                "treatment_due",
                risk.treatment_due,
            )
    else:
        status = "within_tolerance"
        proposal = (
            f"Residual score {residual:g} is within the tolerance {tolerance:g}: record it in the "
            "inventory of accepted residual ICT risks and review it at least yearly."
        )
        reference = "RTS 2024/1774 Art. 3(d)(iii)-(iv)"
    last = risk.last_assessed
    if fq.RISK_SCENARIO_REVIEW.overdue(last, as_of):
        add(
            "overdue_review",
            "high" if cif else "medium",
            f"{risk.risk_id}: risk assessment "
            + ("has never been recorded" if last is None else f"last reviewed {last.isoformat()}")
            + " (yearly)",
            fq.RISK_SCENARIO_REVIEW.reference,
            "last_assessed",
            fq.RISK_SCENARIO_REVIEW.due(last) if last else None,
        )
    if risk.treatment == "accept":
        last_acc = risk.last_acceptance_review or risk.last_assessed
        if fq.ACCEPTED_RISK_REVIEW.overdue(last_acc, as_of):
            add(
                "overdue_review",
                "high" if cif else "medium",
                f"{risk.risk_id}: accepted residual risk "
                + (
                    "never reviewed"
                    if last_acc is None
                    else f"last reviewed {last_acc.isoformat()}"
                )
                + " (yearly)",
                fq.ACCEPTED_RISK_REVIEW.reference,
                "last_acceptance_review",
                fq.ACCEPTED_RISK_REVIEW.due(last_acc) if last_acc else None,
            )
    view = RiskView(
        risk_id=risk.risk_id,
        title=risk.title,
        asset_ids=risk.asset_ids,
        owner=risk.owner,
        likelihood=risk.likelihood,
        impact=risk.impact,
        inherent_score=inherent,
        control_effectiveness=risk.control_effectiveness,
        residual_score=residual,
        residual_band=band(residual),
        above_tolerance=above,
        supports_cif=cif,
        treatment=risk.treatment,
        status=status,
        proposal=proposal,
        reference=reference,
        treatment_due=risk.treatment_due,
    )
    return view, found
