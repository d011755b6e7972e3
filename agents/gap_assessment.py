"""Gap assessment: turn the policy analyzer's coverage into rated, explained gaps.

Every requirement the analyzer found ``missing`` or ``partial`` becomes a :class:`Gap` with
a severity, a plain-language description of what is missing (built from the requirement
title, its legal reference and the best evidence found) and a recommendation. Gaps are then
rolled up per DORA chapter into a :class:`RiskAssessment`.

Severity rule (deterministic, so two runs on the same documents rate gaps identically and
a reviewer can recompute any rating by hand):

1. *Points.* A missing requirement scores its ``severity_weight`` (1..5). A partial one
   scores ``weight * (1 - score / 2)``: between half and all of its weight, depending on
   how much of it the documents cover (``score`` is the analyzer's match score 0..1).
2. *Entity profile* (proportionality, DORA Art. 4 and Art. 16):
   microenterprises and Art. 16(1) simplified-regime entities have their Chapter II and
   RTS points multiplied by 0.75, because those obligations scale with size;
   significant credit institutions (ECB-supervised) add 0.5 points everywhere, because
   supervisory scrutiny and systemic impact are higher.
3. *Bands.* points >= 4 -> critical, >= 3 -> high, >= 2 -> medium, otherwise low.
4. *Cap.* A partial gap is at most ``high``: something exists to build on, so it cannot
   block the ``no_critical_gaps`` success criterion on its own.

So a missing requirement of weight 4 or 5 is critical, a missing weight-3 one is high, and
a partial weight-5 requirement with half coverage is high (5 * 0.75 = 3.75).
``Gap.critical`` is ``severity == "critical"``; ``GapsReport.no_critical_gaps`` feeds the
definition's success criterion of the same name.

Chapter rating: the worst gap severity in the chapter, raised one band (up to critical)
when the chapter's coverage score is below 0.5 *and* it has two or more gaps of at least
high severity, because several serious holes in one pillar add up to a systemic weakness
that no single gap shows. Chapters without gaps are rated ``low``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from agents.base import SimpleAgent, TaskExecution, TaskResult
from agents.contracts import (
    AnalysisResults,
    ChapterCoverage,
    ChapterRisk,
    EntityProfile,
    Gap,
    GapsReport,
    RequirementAssessment,
    RiskAssessment,
    Severity,
)
from agents.financial_data import parse_input
from agents.llm import maybe_review

#: worst first; index = rank (0 is most severe)
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low")
SEVERITY_RANK: dict[str, int] = {s: i for i, s in enumerate(SEVERITIES)}

#: titles of DORA chapters (Reg. 2022/2554) and RTS 2024/1774 titles, for chapters the
#: analyzer's own ChapterCoverage list does not name
CHAPTER_TITLES: dict[str, str] = {
    "I": "General provisions",
    "II": "ICT risk management",
    "III": "ICT-related incident management, classification and reporting",
    "IV": "Digital operational resilience testing",
    "V": "Managing of ICT third-party risk",
    "VI": "Information-sharing arrangements",
    "VII": "Competent authorities",
    "RTS-I": "RTS 2024/1774 Title I: proportionality",
    "RTS-II": "RTS 2024/1774 Title II: ICT risk management framework",
    "RTS-III": "RTS 2024/1774 Title III: simplified ICT risk management framework",
}

#: where remediation of each chapter usually lands, in the words a compliance officer uses
_CHAPTER_HINT: dict[str, str] = {
    "II": "integrate it into the ICT risk management framework (DORA Art. 6) and have the "
    "management body approve it (Art. 5(2))",
    "III": "embed it in the ICT-related incident management process (DORA Art. 17) and test "
    "it in an incident exercise",
    "IV": "add it to the digital operational resilience testing programme (DORA Art. 24) and "
    "track findings to remediation",
    "V": "reflect it in the ICT third-party risk strategy and the register of information "
    "(DORA Art. 28) and in provider contracts (Art. 30)",
    "VI": "decide on membership of an information-sharing arrangement and notify the "
    "competent authority (DORA Art. 45(3))",
    "RTS": "document it in the policy or procedure the RTS requires, with owner, review "
    "frequency and evidence of operation",
}

_CHAPTER_ORDER = {c: i for i, c in enumerate(CHAPTER_TITLES)}


def _chapter_sort_key(chapter: str) -> tuple[int, str]:
    return (_CHAPTER_ORDER.get(chapter, len(_CHAPTER_ORDER)), chapter)


def _is_chapter_ii_or_rts(chapter: str) -> bool:
    return chapter == "II" or chapter.startswith("RTS")


def severity_points(req: RequirementAssessment, profile: EntityProfile) -> float:
    """Points before banding (see the module docstring for the rule and its reasons)."""
    weight = max(0.0, float(req.severity_weight))
    if req.coverage == "missing":
        points = weight
    elif req.coverage == "partial":
        points = weight * (1.0 - req.score / 2.0)
    else:
        return 0.0
    if (profile.microenterprise or profile.simplified_regime) and _is_chapter_ii_or_rts(
        req.chapter
    ):
        points *= 0.75
    if profile.significant_credit_institution:
        points += 0.5
    return points


def classify_severity(req: RequirementAssessment, profile: EntityProfile) -> Severity:
    """The severity band of a missing or partial requirement (module docstring, steps 1-4)."""
    points = severity_points(req, profile)
    severity: Severity
    if points >= 4:
        severity = "critical"
    elif points >= 3:
        severity = "high"
    elif points >= 2:
        severity = "medium"
    else:
        severity = "low"
    if req.coverage == "partial" and severity == "critical":
        severity = "high"
    return severity


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text else text


def describe_gap(req: RequirementAssessment) -> str:
    """What is missing, in plain words, with the best evidence found (if any)."""
    subject = _lower_first(req.title.rstrip("."))
    if req.coverage == "missing":
        text = (
            f"The submitted documents do not address {req.reference} ({subject}). "
            "No passage was found that sets out this obligation."
        )
        if req.rationale:
            text += f" Analyzer note: {req.rationale.rstrip('.')}."
        return text
    best = max(req.evidence, key=lambda e: e.score, default=None)
    text = f"{req.reference} ({subject}) is only partly covered (match score {req.score:.2f})."
    if best is not None:
        text += (
            f' Closest passage: "{best.quote}" ({best.document}, {best.location}); '
            f"{best.reason.rstrip('.')}."
        )
    if req.rationale:
        text += f" What is missing: {req.rationale.rstrip('.')}."
    return text


def recommend(req: RequirementAssessment) -> str:
    """A concrete next step: what to write or change, and where it belongs."""
    subject = _lower_first(req.title.rstrip("."))
    hint = (
        _CHAPTER_HINT["RTS" if req.chapter.startswith("RTS") else req.chapter]
        if (req.chapter in _CHAPTER_HINT or req.chapter.startswith("RTS"))
        else "assign an owner and document it with a review frequency"
    )
    if req.coverage == "missing":
        return f"Put in place and document what {req.reference} requires ({subject}); {hint}."
    return (
        f"Extend the existing documentation so that it fully meets {req.reference} "
        f"({subject}); close the points the analyzer could not find and {hint}."
    )


def build_gap(req: RequirementAssessment, profile: EntityProfile) -> Gap:
    """One gap from one missing or partial requirement."""
    if req.coverage not in ("missing", "partial"):
        raise ValueError(f"{req.requirement_id} is {req.coverage}, not a gap")
    severity = classify_severity(req, profile)
    return Gap(
        gap_id=f"GAP-{req.requirement_id}",
        requirement_id=req.requirement_id,
        reference=req.reference,
        title=req.title,
        chapter=req.chapter,
        coverage=req.coverage,
        severity=severity,
        critical=severity == "critical",
        severity_weight=req.severity_weight,
        description=describe_gap(req),
        evidence=list(req.evidence),
        recommendation=recommend(req),
    )


def identify_gaps(analysis: AnalysisResults, profile: EntityProfile | None = None) -> GapsReport:
    """All gaps, worst first (severity, then weight, then requirement id for stability)."""
    prof = profile or analysis.profile
    gaps = [
        build_gap(req, prof)
        for req in analysis.requirements
        if req.coverage in ("missing", "partial")
    ]
    gaps.sort(key=lambda g: (SEVERITY_RANK[g.severity], -g.severity_weight, g.requirement_id))
    counts: dict[Severity, int] = {s: 0 for s in SEVERITIES}
    for gap in gaps:
        counts[gap.severity] += 1
    return GapsReport(gaps=gaps, counts=counts, no_critical_gaps=counts["critical"] == 0)


def _raise(severity: Severity) -> Severity:
    return SEVERITIES[max(0, SEVERITY_RANK[severity] - 1)]


def assess_chapters(analysis: AnalysisResults, report: GapsReport) -> RiskAssessment:
    """Rate each chapter from its gaps and coverage (rule in the module docstring)."""
    coverage: dict[str, ChapterCoverage] = {c.chapter: c for c in analysis.chapters}
    by_chapter: dict[str, list[Gap]] = defaultdict(list)
    for gap in report.gaps:
        by_chapter[gap.chapter].append(gap)
    chapters = sorted(set(coverage) | set(by_chapter), key=_chapter_sort_key)

    risks: list[ChapterRisk] = []
    for chapter in chapters:
        cov = coverage.get(chapter)
        title = cov.title if cov else CHAPTER_TITLES.get(chapter, f"Chapter {chapter}")
        gaps = by_chapter.get(chapter, [])
        if not gaps:
            total = cov.requirements if cov else 0
            risks.append(
                ChapterRisk(
                    chapter=chapter,
                    title=title,
                    rating="low",
                    gaps=0,
                    rationale=f"All {total} applicable requirements are covered.",
                )
            )
            continue
        worst = min(gaps, key=lambda g: SEVERITY_RANK[g.severity])
        rating: Severity = worst.severity
        missing = [g for g in gaps if g.coverage == "missing"]
        partial = [g for g in gaps if g.coverage == "partial"]
        parts = [
            f"{len(missing)} missing and {len(partial)} partly covered requirement(s)"
            + (f" of {cov.requirements}" if cov else "")
            + (f"; chapter coverage score {cov.score:.0%}" if cov else "")
        ]
        parts.append(
            f"worst gap {worst.reference} ({worst.severity}, {worst.coverage}, "
            f"weight {worst.severity_weight:g})"
        )
        serious = [g for g in gaps if SEVERITY_RANK[g.severity] <= SEVERITY_RANK["high"]]
        if cov is not None and cov.score < 0.5 and len(serious) >= 2 and rating != "critical":
            rating = _raise(rating)
            parts.append(
                f"raised to {rating}: {len(serious)} gaps of high or critical severity "
                "in a chapter covered below 50%"
            )
        risks.append(
            ChapterRisk(
                chapter=chapter,
                title=title,
                rating=rating,
                gaps=len(gaps),
                rationale="; ".join(parts) + ".",
            )
        )
    overall: Severity = min(
        (r.rating for r in risks), key=lambda s: SEVERITY_RANK[s], default="low"
    )
    return RiskAssessment(overall_rating=overall, chapters=risks)


class GapAssessmentAgent(SimpleAgent):
    """Rates gaps between the entity's documents and DORA; see the module docstring."""

    TYPE = "gap_assessment"
    CAPABILITIES = ("gap_identification", "risk_assessment", "severity_classification")
    version = "1.0.0"

    async def run(self, task: TaskExecution) -> TaskResult:
        analysis = parse_input(
            task.inputs, "analysis_results", AnalysisResults, task_id=task.task_id
        )
        profile = analysis.profile
        if task.inputs.get("profile") is not None:
            profile = parse_input(task.inputs, "profile", EntityProfile, task_id=task.task_id)
        report = identify_gaps(analysis, profile)
        risk = assess_chapters(analysis, report)
        counts = report.counts
        summary = (
            f"{len(report.gaps)} gaps against {len(analysis.requirements)} requirements: "
            f"{counts['critical']} critical, {counts['high']} high, {counts['medium']} medium, "
            f"{counts['low']} low. Overall rating {risk.overall_rating}."
        )
        if not report.no_critical_gaps:
            worst = ", ".join(g.reference for g in report.gaps if g.critical)
            summary += f" Critical: {worst}."
        rows: list[dict[str, Any]] = [
            {
                "gap": g.gap_id,
                "reference": g.reference,
                "severity": g.severity,
                "coverage": g.coverage,
                "recommendation": g.recommendation,
            }
            for g in report.gaps
        ]
        # Optional LLM reviewer (agent configuration `models:`): adds notes only; severities,
        # coverage and scores stay those of the deterministic rules above.
        review = await maybe_review(self.settings, report)
        extra = {"llm_review": review.table_rows()} if review else {}
        summary += review.summary_line() if review else ""
        return TaskResult(
            outputs={
                "gaps_identified": report.model_dump(mode="json"),
                "risk_assessment": risk.model_dump(mode="json"),
            },
            summary=summary,
            tables={
                "gaps": rows,
                "chapters": [c.model_dump(mode="json") for c in risk.chapters],
                **extra,
            },
        )
