"""Gap assessment: severity rule, counts, chapter ratings and input validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agents.base import RunContext, TaskExecution, TaskResult
from agents.contracts import (
    AnalysisResults,
    EntityProfile,
    GapsReport,
    RequirementAssessment,
    RiskAssessment,
)
from agents.gap_assessment import GapAssessmentAgent, classify_severity, identify_gaps
from dora.errors import DataValidationError

FIXTURE = Path(__file__).parent / "fixtures" / "analysis_results.json"


@pytest.fixture
def analysis_json() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


async def run_agent(inputs: dict[str, Any]) -> TaskResult:
    task = TaskExecution(
        task_id="gap_identification",
        task_name="Identify compliance gaps",
        agent="gap_assessment",
        inputs=inputs,
        declared_outputs=["gaps_identified", "risk_assessment"],
        context=RunContext(workflow_id="dora-compliance-assessment"),
    )
    return await GapAssessmentAgent().execute_task(task)


def req(
    coverage: str, weight: float, score: float = 0.0, chapter: str = "II"
) -> RequirementAssessment:
    return RequirementAssessment.model_validate(
        {
            "requirement_id": "R-1",
            "reference": "DORA Art. 6(1)",
            "title": "Documented ICT risk management framework",
            "chapter": chapter,
            "article": "DORA Art. 6",
            "severity_weight": weight,
            "coverage": coverage,
            "score": score,
        }
    )


PLAIN = EntityProfile()


@pytest.mark.parametrize(
    ("coverage", "weight", "score", "expected"),
    [
        ("missing", 5, 0.0, "critical"),
        ("missing", 4, 0.0, "critical"),
        ("missing", 3, 0.0, "high"),
        ("missing", 2, 0.0, "medium"),
        ("missing", 1, 0.0, "low"),
        ("partial", 5, 0.0, "high"),  # would be 5 points, but partial is capped at high
        ("partial", 5, 0.55, "high"),  # 5 * 0.725 = 3.625
        ("partial", 4, 0.6, "medium"),  # 4 * 0.7 = 2.8
        ("partial", 3, 0.5, "medium"),  # 2.25
        ("partial", 2, 0.45, "low"),  # 1.55
    ],
)
def test_severity_bands(coverage: str, weight: float, score: float, expected: str) -> None:
    assert classify_severity(req(coverage, weight, score), PLAIN) == expected


def test_profile_proportionality_and_significance() -> None:
    micro = EntityProfile(microenterprise=True)
    significant = EntityProfile(significant_credit_institution=True)
    # Chapter II obligations scale with size: 4 * 0.75 = 3 -> high instead of critical
    assert classify_severity(req("missing", 4), micro) == "high"
    # ... but incident reporting (Chapter III) does not
    assert classify_severity(req("missing", 4, chapter="III"), micro) == "critical"
    # ECB-supervised banks: +0.5 points, 3.5 -> high (not critical), 2.5 -> medium
    assert classify_severity(req("missing", 3), significant) == "high"
    assert classify_severity(req("missing", 2), significant) == "medium"
    assert classify_severity(req("missing", 3.5), significant) == "critical"


async def test_fixture_gaps_counts_and_order(analysis_json: dict[str, Any]) -> None:
    result = await run_agent({"analysis_results": analysis_json})
    report = GapsReport.model_validate(result.outputs["gaps_identified"])
    analysis = AnalysisResults.model_validate(analysis_json)

    expected_ids = {
        f"GAP-{r.requirement_id}"
        for r in analysis.requirements
        if r.coverage in ("missing", "partial")
    }
    assert {g.gap_id for g in report.gaps} == expected_ids
    assert len(report.gaps) == 18
    assert report.counts == {"critical": 5, "high": 6, "medium": 5, "low": 2}
    assert sum(report.counts.values()) == len(report.gaps)
    assert report.no_critical_gaps is False
    critical = {g.reference for g in report.gaps if g.critical}
    assert critical == {
        "DORA Art. 6(5)",
        "DORA Art. 11(6)",
        "DORA Art. 19(1)",
        "DORA Art. 28(3)",
        "DORA Art. 28(8)",
    }
    assert all(g.critical == (g.severity == "critical") for g in report.gaps)
    # no gap for covered or not-applicable requirements (TLPT is not applicable here)
    assert "GAP-DORA-26-1" not in expected_ids
    ranks = ["critical", "high", "medium", "low"]
    assert [ranks.index(g.severity) for g in report.gaps] == sorted(
        ranks.index(g.severity) for g in report.gaps
    )
    assert result.tables["gaps"][0].keys() == {
        "gap",
        "reference",
        "severity",
        "coverage",
        "recommendation",
    }


async def test_descriptions_use_title_and_evidence(analysis_json: dict[str, Any]) -> None:
    result = await run_agent({"analysis_results": analysis_json})
    gaps = {g["gap_id"]: g for g in result.outputs["gaps_identified"]["gaps"]}
    backup = gaps["GAP-DORA-12-1"]
    assert backup["coverage"] == "partial"
    assert "DORA Art. 12(1)" in backup["description"]
    assert "Daily backups are taken" in backup["description"]  # the evidence quote
    assert "policies/ict_risk_management_policy.pdf" in backup["description"]
    assert backup["evidence"][0]["location"] == "p. 14, § 7.4 Backup"
    register = gaps["GAP-DORA-28-3"]
    assert "do not address DORA Art. 28(3)" in register["description"]
    assert "register of information" in register["description"]
    assert register["recommendation"].startswith("Put in place and document")
    assert "DORA Art. 28(3)" in register["recommendation"]


async def test_chapter_ratings(analysis_json: dict[str, Any]) -> None:
    result = await run_agent({"analysis_results": analysis_json})
    risk = RiskAssessment.model_validate(result.outputs["risk_assessment"])
    ratings = {c.chapter: c.rating for c in risk.chapters}
    assert ratings["II"] == "critical"  # contains missing weight-4 requirements
    # two high gaps in a chapter covered at 20% -> raised one band
    assert ratings["IV"] == "critical"
    assert "raised to critical" in next(c.rationale for c in risk.chapters if c.chapter == "IV")
    assert ratings["VI"] == "low"  # one low gap only
    assert ratings["RTS-II"] == "high"  # one high + one medium: not raised
    assert risk.overall_rating == "critical"
    assert sum(c.gaps for c in risk.chapters) == 18


async def test_all_covered_means_no_gaps(analysis_json: dict[str, Any]) -> None:
    for r in analysis_json["requirements"]:
        r["coverage"] = "covered"
        r["score"] = 0.9
    result = await run_agent({"analysis_results": analysis_json})
    report = GapsReport.model_validate(result.outputs["gaps_identified"])
    assert report.gaps == [] and report.no_critical_gaps is True
    risk = RiskAssessment.model_validate(result.outputs["risk_assessment"])
    assert risk.overall_rating == "low"


async def test_profile_input_overrides(analysis_json: dict[str, Any]) -> None:
    micro = EntityProfile(microenterprise=True).model_dump(mode="json")
    result = await run_agent({"analysis_results": analysis_json, "profile": micro})
    counts = result.outputs["gaps_identified"]["counts"]
    # Art. 6(5), 11(6) (Ch. II, weight 4) drop to high; 19(1), 28(3), 28(8) stay critical
    assert counts["critical"] == 3


def test_identify_gaps_is_deterministic(analysis_json: dict[str, Any]) -> None:
    analysis = AnalysisResults.model_validate(analysis_json)
    assert identify_gaps(analysis) == identify_gaps(analysis)


async def test_missing_input_names_it() -> None:
    with pytest.raises(DataValidationError, match="'analysis_results'"):
        await run_agent({})


async def test_malformed_input_names_input_and_field(analysis_json: dict[str, Any]) -> None:
    analysis_json["requirements"][0]["coverage"] = "mostly"
    del analysis_json["catalog_version"]
    with pytest.raises(DataValidationError) as info:
        await run_agent({"analysis_results": analysis_json})
    message = str(info.value)
    assert "'analysis_results'" in message
    assert "requirements.0.coverage" in message
    assert "catalog_version" in message


async def test_non_object_input_rejected() -> None:
    with pytest.raises(DataValidationError, match="analysis_results"):
        await run_agent({"analysis_results": [1, 2, 3]})
