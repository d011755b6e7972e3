"""Report generator: the PDF, HTML and Markdown show exactly the upstream figures."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from pypdf import PdfReader

from agents.base import RunContext, TaskExecution, TaskResult
from agents.contracts import AnalysisResults, ReportFiles
from agents.gap_assessment import GapAssessmentAgent
from agents.implementation_planner import ImplementationPlannerAgent
from agents.report_generator import ReportGeneratorAgent, fmt_eur, fmt_pct, pdf_safe
from agents.risk_calculator import RiskCalculatorAgent
from dora.errors import DataValidationError

FIXTURE = Path(__file__).parent / "fixtures" / "analysis_results.json"
FINANCIALS = {
    "annual_revenue_eur": 480_000_000,
    "hourly_downtime_cost_eur": 250_000,
    "daily_transaction_value_eur": 1_200_000_000,
}
DEFINITION_HASH = "9c1d" * 16
RUN_ID = "0b6f3a52-7d1e-4c2a-9f3e-5a8d2c1b7e90"


def context(output_dir: Path) -> RunContext:
    return RunContext(
        workflow_id="dora-compliance-assessment",
        workflow_version="1.2.0",
        definition_hash=DEFINITION_HASH,
        flow_run_id=RUN_ID,
        output_dir=output_dir,
        provenance={
            "agents": {
                "gap_identification": {"agent_id": "gap-assessment-001", "version": "1.0.0"},
                "risk_calculation": {"agent_id": "risk-calculator-001", "version": "1.0.0"},
            }
        },
    )


async def call(agent: Any, task_id: str, inputs: dict[str, Any], out: Path) -> TaskResult:
    task = TaskExecution(
        task_id=task_id, task_name=task_id, agent=agent.TYPE, inputs=inputs, context=context(out)
    )
    result: TaskResult = await agent.execute_task(task)
    return result


@pytest.fixture(scope="module")
async def all_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("upstream")
    analysis = AnalysisResults.model_validate_json(FIXTURE.read_text(encoding="utf-8"))
    analysis_json = analysis.model_dump(mode="json")
    gaps = await call(
        GapAssessmentAgent(), "gap_identification", {"analysis_results": analysis_json}, out
    )
    risk = await call(
        RiskCalculatorAgent(),
        "risk_calculation",
        {
            "gaps_data": gaps.outputs["gaps_identified"],
            "financial_data": FINANCIALS,
            "simulations": 4000,
        },
        out,
    )
    plan = await call(
        ImplementationPlannerAgent(),
        "implementation_planning",
        {
            "gaps_data": gaps.outputs["gaps_identified"],
            "risk_data": risk.outputs["risk_metrics"],
            "start_date": "2026-01-05",
        },
        out,
    )
    return {
        "document_analysis": {
            "analysis_results": analysis_json,
            "compliance_score": analysis.compliance_score,
        },
        "gap_identification": gaps.outputs,
        "risk_calculation": risk.outputs,
        "implementation_planning": plan.outputs,
    }


@pytest.fixture(scope="module")
async def report(
    all_results: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> tuple[TaskResult, Path]:
    out = tmp_path_factory.mktemp("reports") / "nested" / "dir"  # must be created
    result = await call(
        ReportGeneratorAgent(),
        "report_generation",
        {"all_results": all_results, "generated_at": "2026-02-01T09:30:00+01:00"},
        out,
    )
    return result, out


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.fixture(scope="module")
def pdf_text(report: tuple[TaskResult, Path]) -> str:
    files = ReportFiles.model_validate(report[0].outputs["compliance_report"])
    reader = PdfReader(files.pdf)
    return normalise(" ".join(page.extract_text() for page in reader.pages))


@pytest.fixture(scope="module")
def html(report: tuple[TaskResult, Path]) -> BeautifulSoup:
    files = ReportFiles.model_validate(report[0].outputs["compliance_report"])
    return BeautifulSoup(Path(files.html).read_text(encoding="utf-8"), "html.parser")


def test_files_outputs_and_artifacts(report: tuple[TaskResult, Path]) -> None:
    result, out = report
    files = ReportFiles.model_validate(result.outputs["compliance_report"])
    for path in (files.html, files.pdf, files.markdown):
        assert path is not None
        assert Path(path).is_file() and Path(path).parent == out
    assert Path(files.pdf).read_bytes().startswith(b"%PDF")
    summary = result.outputs["executive_summary"]
    assert summary["markdown"] == files.markdown
    assert "41.9%" in summary["text"]
    kinds = sorted(a.kind for a in result.artifacts)
    assert kinds == ["html", "markdown", "pdf", "png", "png", "png"]
    assert all(Path(a.path).is_file() for a in result.artifacts)
    assert result.summary == summary["text"]


def test_gaps_table(report: tuple[TaskResult, Path], all_results: dict[str, Any]) -> None:
    rows = report[0].tables["gaps"]
    gaps = all_results["gap_identification"]["gaps_identified"]["gaps"]
    assert [r["gap"] for r in rows] == [g["gap_id"] for g in gaps]
    assert set(rows[0]) == {"gap", "reference", "severity", "coverage", "recommendation"}


def expected_figures(all_results: dict[str, Any]) -> dict[str, str]:
    risk = all_results["risk_calculation"]["risk_metrics"]
    plan = all_results["implementation_planning"]
    return {
        "score": fmt_pct(all_results["document_analysis"]["compliance_score"]),
        "eal": fmt_eur(risk["expected_annual_loss_eur"]),
        "var95": fmt_eur(risk["var_95_eur"]),
        "var99": fmt_eur(risk["var_99_eur"]),
        "impact": fmt_eur(all_results["risk_calculation"]["financial_impact"]),
        "end": plan["timeline"]["end"],
    }


def test_pdf_numbers_match_inputs(pdf_text: str, all_results: dict[str, Any]) -> None:
    figures = expected_figures(all_results)
    risk = all_results["risk_calculation"]["risk_metrics"]
    assert figures["score"] == "41.9%"
    assert f"Overall compliance score {figures['score']}" in pdf_text
    assert f"Expected annual loss {figures['eal']}" in pdf_text
    assert f"VaR 95% (annual) {figures['var95']}" in pdf_text
    assert f"VaR 99% (annual) {figures['var99']}" in pdf_text
    assert f"Financial impact (expected annual loss) {figures['impact']}" in pdf_text
    assert f"Remediation complete {figures['end']}" in pdf_text
    # independent of the formatter: parse the printed amounts back into numbers
    for label, key in (
        ("Expected annual loss", "expected_annual_loss_eur"),
        ("VaR 95% (annual)", "var_95_eur"),
        ("VaR 99% (annual)", "var_99_eur"),
    ):
        match = re.search(re.escape(label) + r" EUR ([\d,]+\.\d{2})", pdf_text)
        assert match is not None, label
        assert float(match[1].replace(",", "")) == pytest.approx(risk[key], abs=0.005)
    counts = all_results["gap_identification"]["gaps_identified"]["counts"]
    for severity, count in counts.items():
        assert f"Gaps: {severity} {count}" in pdf_text
    for contribution in risk["contributions"]:
        assert fmt_eur(contribution["expected_loss_eur"]) in pdf_text
    for chapter in all_results["document_analysis"]["analysis_results"]["chapters"]:
        assert fmt_pct(chapter["score"]) in pdf_text
    for gap in all_results["gap_identification"]["gaps_identified"]["gaps"]:
        assert f"{gap['gap_id']} | {gap['reference']} | severity {gap['severity']}" in pdf_text


def test_pdf_provenance(pdf_text: str, all_results: dict[str, Any]) -> None:
    assert DEFINITION_HASH in pdf_text
    assert RUN_ID in pdf_text
    assert "Definition version: 1.2.0" in pdf_text
    assert "agents.risk_calculation.agent_id: risk-calculator-001" in pdf_text
    assert "Generated at (UTC): 2026-02-01 08:30:00 UTC" in pdf_text
    assert "4,000 simulations, seed 2554" in pdf_text
    for doc in all_results["document_analysis"]["analysis_results"]["documents"]:
        assert f"sha256 {doc['sha256']}" in pdf_text


def test_pdf_maps_non_latin1_text(pdf_text: str) -> None:
    # fixture quotes hold "€250,000", "–", "’" and typographic double quotes
    assert "fees above EUR 250,000 require Board approval" in pdf_text
    assert "retained for 30 days - restores are performed" in pdf_text
    assert "the Bank's IT landscape" in pdf_text
    assert 'complete the "Security Basics" e-learning' in pdf_text


def test_pdf_safe() -> None:
    assert pdf_safe("“a” – b … €5 ‘c’") == "\"a\" - b ... EUR 5 'c'"
    assert pdf_safe("Łódź 100 €") == "?ód? 100 EUR "
    assert pdf_safe("§ 3.2 Zugriffsprüfung") == "§ 3.2 Zugriffsprüfung"  # latin-1 kept


def test_html_numbers_match_inputs(html: BeautifulSoup, all_results: dict[str, Any]) -> None:
    figures = expected_figures(all_results)

    def by_id(element_id: str) -> str:
        node = html.find(id=element_id)
        assert node is not None, element_id
        return str(node.get_text(strip=True))

    assert by_id("kpi-score") == figures["score"]
    assert by_id("eal") == by_id("kpi-eal") == figures["eal"]
    assert by_id("var95") == figures["var95"]
    assert by_id("var99") == by_id("kpi-var99") == figures["var99"]
    assert by_id("impact") == figures["impact"]
    assert by_id("kpi-end") == figures["end"]
    gaps = all_results["gap_identification"]["gaps_identified"]["gaps"]
    assert by_id("kpi-gaps") == str(len(gaps))
    rows = html.select("#gap-table tr")[1:]
    assert [row["id"] for row in rows] == [g["gap_id"] for g in gaps]
    for row, gap in zip(rows, gaps, strict=True):
        cells = [c.get_text(" ", strip=True) for c in row.find_all("td", recursive=False)]
        assert cells[1].startswith(gap["reference"])
        assert cells[2] == gap["severity"]
        assert cells[3] == gap["coverage"]
    chapters = all_results["document_analysis"]["analysis_results"]["chapters"]
    chapter_rows = html.select("#chapters tr")[1:]
    assert [r.find_all("td")[6].get_text() for r in chapter_rows] == [
        fmt_pct(c["score"]) for c in chapters
    ]
    text = html.get_text(" ")
    assert "fees above €250,000" in text  # HTML keeps the original characters
    assert DEFINITION_HASH in text and RUN_ID in text
    assert len(html.find_all("img", src=re.compile(r"^data:image/png;base64,"))) == 3


def test_markdown_summary(report: tuple[TaskResult, Path], all_results: dict[str, Any]) -> None:
    figures = expected_figures(all_results)
    markdown = Path(report[0].outputs["executive_summary"]["markdown"]).read_text(encoding="utf-8")
    assert f"| Overall compliance score | {figures['score']} |" in markdown
    assert f"| Expected annual loss | {figures['eal']} |" in markdown
    assert f"| VaR 99% (annual) | {figures['var99']} |" in markdown
    assert "DORA Art. 28(3)" in markdown  # a critical gap
    assert DEFINITION_HASH in markdown


async def test_partial_results_still_report(all_results: dict[str, Any], tmp_path: Path) -> None:
    partial = {k: all_results[k] for k in ("document_analysis", "gap_identification")}
    result = await call(
        ReportGeneratorAgent(), "report_generation", {"all_results": partial}, tmp_path
    )
    files = ReportFiles.model_validate(result.outputs["compliance_report"])
    text = normalise(" ".join(p.extract_text() for p in PdfReader(files.pdf).pages))
    assert "No risk figures were available for this run." in text
    assert "No implementation plan was available for this run." in text
    assert sorted(a.kind for a in result.artifacts) == ["html", "markdown", "pdf", "png"]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda r: r.pop("gap_identification"), "gap_identification"),
        (
            lambda r: r["gap_identification"]["gaps_identified"].update(counts="many"),
            "all_results.gap_identification.gaps_identified",
        ),
        (
            lambda r: r["risk_calculation"].update(financial_impact="a lot"),
            "all_results.risk_calculation.financial_impact",
        ),
        (
            lambda r: r["document_analysis"]["analysis_results"].pop("documents"),
            "documents",
        ),
    ],
)
async def test_malformed_inputs(
    all_results: dict[str, Any], tmp_path: Path, mutate: Any, expected: str
) -> None:
    broken = copy.deepcopy(all_results)
    mutate(broken)
    with pytest.raises(DataValidationError, match=re.escape(expected)):
        await call(ReportGeneratorAgent(), "report_generation", {"all_results": broken}, tmp_path)


async def test_missing_all_results(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="'all_results'"):
        await call(ReportGeneratorAgent(), "report_generation", {}, tmp_path)
