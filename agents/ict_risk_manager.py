"""ICT risk manager agent (DORA Arts. 6-16, RTS 2024/1774).

Two steps of the ICT risk review workflow, told apart by their inputs:

* **assess** (inputs ``asset_inventory``, ``business_functions``, ``risk_register``,
  ``risk_tolerance``): reads the files (CSV, XLSX or JSON; every bad cell reported with
  file, row and column), maps assets to critical or important functions, scores risks
  against the declared tolerance and flags findings. Outputs ``ict_risk_assessment`` and
  ``treated_risk_register``; publishes the facts ``inventory_complete`` and
  ``within_risk_tolerance``.
* **report** (input ``ict_risk_assessment`` from the assess step, optional
  ``review_context`` YAML): writes the RMF review report in the sections of RTS
  2024/1774 Art. 27 as HTML and Markdown. Output ``rmf_review_report``.

Why one agent with two steps instead of two agents: both belong to the same function (the
ICT risk management function of DORA Art. 6(4)) and share the models; the definition
still shows them as two tasks, so a failed report does not hide a finished assessment.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from agents.base import ArtifactRef, SimpleAgent, TaskExecution, TaskResult
from agents.ict_risk.assessment import IctRiskAssessment, assess
from agents.ict_risk.html import now_text, sha256_of, slug, write_report
from agents.ict_risk.models import Asset, BusinessFunction, RiskEntry
from agents.ict_risk.review_report import build_view, load_context
from agents.ict_risk.tabular import Row, read_table
from dora.errors import DataValidationError


def paths_of(value: Any, name: str) -> list[str]:
    """A file_list input (list or comma-separated string) as a list of paths."""
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    raise DataValidationError(f"input '{name}' must be a file path or a list of file paths")


def as_of_date(value: Any) -> date:
    """The review date: ``as_of`` input (ISO date) or today (UTC)."""
    if value in (None, ""):
        return datetime.now(UTC).date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise DataValidationError(
            f"input 'as_of' must be a date YYYY-MM-DD, got {value!r}"
        ) from None


def read_rows(
    inputs: dict[str, Any], name: str, model: Any, what: str, required: bool = True
) -> list[Row[Any]]:
    files = paths_of(inputs.get(name), name)
    if required and not files:
        raise DataValidationError(
            f"input '{name}' ({what}) is missing: give a CSV, XLSX or JSON file"
        )
    rows: list[Row[Any]] = []
    for f in files:
        rows.extend(read_table(f, model, what))
    return rows


class IctRiskManagerAgent(SimpleAgent):
    """Assesses the ICT asset inventory and risk register; writes the RMF review report."""

    TYPE = "ict_risk_manager"
    CAPABILITIES = ("ict_asset_inventory", "ict_risk_assessment", "rmf_review_report")
    version = "1.0.0"

    async def run(self, task: TaskExecution) -> TaskResult:
        if "ict_risk_assessment" in task.inputs:
            return self._report(task)
        return self._assess(task)

    # ------------------------------------------------------------------ assess
    def _assess(self, task: TaskExecution) -> TaskResult:
        inputs = task.inputs
        functions = read_rows(inputs, "business_functions", BusinessFunction, "business functions")
        assets = read_rows(inputs, "asset_inventory", Asset, "ICT asset inventory")
        risks = read_rows(inputs, "risk_register", RiskEntry, "ICT risk register", required=False)
        tolerance = inputs.get("risk_tolerance")
        if (
            not isinstance(tolerance, int | float)
            or isinstance(tolerance, bool)
            or not 0 < tolerance <= 25
        ):
            raise DataValidationError(
                f"input 'risk_tolerance' must be the declared tolerance as a residual score in (0, 25], got {tolerance!r}"
            )
        result = assess(
            functions,
            assets,
            risks,
            risk_tolerance=float(tolerance),
            as_of=as_of_date(inputs.get("as_of")),
            microenterprise=bool(inputs.get("microenterprise") or False),
            eos_warning_days=int(inputs.get("eos_warning_days") or 180),
        )
        sources = []
        for role, name in (
            ("business functions", "business_functions"),
            ("asset inventory", "asset_inventory"),
            ("risk register", "risk_register"),
        ):
            for f in paths_of(inputs.get(name), name):
                sources.append({"role": role, "path": f, "sha256": sha256_of(f)})
        result.sources = sources
        s = result.summary
        summary = (
            f"{s.assets} assets, {s.cif_assets} supporting critical or important functions "
            f"({s.cif_assets_via_dependency} via dependencies); {s.risks} risks, "
            f"{s.risks_above_tolerance} above tolerance {result.risk_tolerance:g} "
            f"({s.risks_above_tolerance_untreated} untreated); {s.end_of_support} past end of "
            f"support ({s.end_of_support_on_cif} on CIF); {s.overdue_reviews} overdue reviews; "
            f"{s.missing_rto_rpo} assets without RTO/RPO."
        )
        data = result.model_dump(mode="json")
        return TaskResult(
            outputs={"ict_risk_assessment": data, "treated_risk_register": data["risk_register"]},
            summary=summary,
            tables={
                "risk-register": [
                    {
                        "risk": r.risk_id,
                        "inherent": r.inherent_score,
                        "residual": r.residual_score,
                        "band": r.residual_band,
                        "status": r.status,
                        "proposal": r.proposal,
                    }
                    for r in result.risk_register
                ],
                "findings": [
                    {
                        "finding": f.finding_id,
                        "severity": f.severity,
                        "subject": f.subject,
                        "message": f.message,
                        "reference": f.reference,
                        "where": f"{f.file} row {f.row} {f.column}",
                    }
                    for f in result.findings
                ],
            },
        )

    # ------------------------------------------------------------------ report
    def _report(self, task: TaskExecution) -> TaskResult:
        raw = task.inputs["ict_risk_assessment"]
        try:
            assessment = IctRiskAssessment.model_validate(raw)
        except Exception as exc:
            raise DataValidationError(
                f"input 'ict_risk_assessment' of task '{task.task_id}' is not an ICT risk assessment: {exc}"
            ) from None
        ctx = load_context(task.inputs.get("review_context") or None)
        run_id = task.context.flow_run_id or task.context.workflow_id
        view = build_view(assessment, ctx, generated_at=now_text(), run_id=run_id)
        stem = slug(str(task.inputs.get("file_stem") or f"ict-rmf-review-{run_id}"))
        html_path, md_path = write_report(view, Path(task.context.output_dir), stem)
        text = " ".join(view.sections[-3].paragraphs)  # (j) conclusions
        return TaskResult(
            outputs={
                "rmf_review_report": {
                    "html": str(html_path),
                    "markdown": str(md_path),
                    "conclusions": text,
                }
            },
            summary=f"RMF review report (RTS 2024/1774 Art. 27) written to {html_path}. {text}",
            artifacts=[
                ArtifactRef(path=str(html_path), kind="html", description="ICT RMF review report"),
                ArtifactRef(
                    path=str(md_path),
                    kind="markdown",
                    description="ICT RMF review report (Markdown)",
                ),
            ],
        )
