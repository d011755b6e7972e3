"""Agent ``third_party_risk``: the register of information (DORA Art. 28(3), CIR 2024/2956).

One agent, four steps; the step a task runs is chosen by the outputs the task declares,
so a definition composes them as separate tasks (and Prefect shows each):

* ``validation`` / ``validation_errors`` / ``register_valid``: import the templates from
  ``register_dir`` and validate them (``agents/roi/validate.py``);
* ``concentration`` / ``exit_plans`` / ``contract_provisions`` / ``critical_without_exit_plan``
  / ``hhi`` / ``concentration_high`` / ``arrangements_missing_provisions``: the Art. 28-30
  analysis (``agents/roi/analysis.py``);
* ``xbrl_package``: the xBRL-CSV report package (``agents/roi/export.py``), only for a
  register without validation errors;
* ``register_report``: HTML and Markdown report from the other steps' outputs
  (input ``all_results``, keyed by task id).

Inputs: ``register_dir`` (directory of template files), optional ``reference_date``,
``reporting_level`` (IND/CON), ``hhi_moderate``, ``hhi_high``, ``top_share_limit``,
``generated_at``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agents.base import ArtifactRef, SimpleAgent, TaskExecution, TaskResult
from dora.errors import DataValidationError

__all__ = ["ThirdPartyRiskAgent"]

VALIDATE_OUTPUTS = {"validation", "validation_errors", "register_valid"}
ANALYSE_OUTPUTS = {
    "concentration",
    "exit_plans",
    "contract_provisions",
    "critical_without_exit_plan",
    "hhi",
    "concentration_high",
    "arrangements_missing_provisions",
}
EXPORT_OUTPUTS = {"xbrl_package"}
REPORT_OUTPUTS = {"register_report"}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:80] or "run"


def _float(task: TaskExecution, settings: Mapping[str, Any], name: str, default: float) -> float:
    raw = task.inputs.get(name, settings.get(name))
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise DataValidationError(f"input '{name}' must be a number, got {raw!r}")
    try:
        return float(raw)
    except ValueError:
        raise DataValidationError(f"input '{name}' must be a number, got {raw!r}") from None


class ThirdPartyRiskAgent(SimpleAgent):
    """Validates, analyses, exports and reports the register of information."""

    TYPE = "third_party_risk"
    CAPABILITIES = (
        "register_of_information",
        "roi_validation",
        "concentration_risk",
        "exit_plan_review",
        "contractual_provisions_check",
        "xbrl_csv_export",
    )
    version = "1.0.0"

    def _register_dir(self, task: TaskExecution) -> Path:
        raw = task.inputs.get("register_dir", self.settings.get("register_dir"))
        if not raw or not isinstance(raw, str | Path):
            raise DataValidationError(
                f"input 'register_dir' of task '{task.task_id}' is missing (the directory of "
                "template files B_01.01.csv ... B_99.01.csv)"
            )
        path = Path(raw)
        if not path.is_dir():
            raise DataValidationError(f"input 'register_dir': {path} is not a directory")
        return path

    async def run(self, task: TaskExecution) -> TaskResult:
        declared = set(task.declared_outputs)
        if not declared & (VALIDATE_OUTPUTS | ANALYSE_OUTPUTS | EXPORT_OUTPUTS | REPORT_OUTPUTS):
            raise DataValidationError(
                f"task '{task.task_id}' declares none of the outputs third_party_risk produces "
                f"({', '.join(sorted(VALIDATE_OUTPUTS | ANALYSE_OUTPUTS | EXPORT_OUTPUTS | REPORT_OUTPUTS))})"
            )
        # pandas and file I/O: off the event loop
        return await asyncio.to_thread(self._run_sync, task, declared)

    def _run_sync(self, task: TaskExecution, declared: set[str]) -> TaskResult:
        if declared & REPORT_OUTPUTS:
            return self._report(task)
        from agents.roi.validate import validate_directory

        register, report = validate_directory(self._register_dir(task))
        outputs: dict[str, Any] = {}
        tables: dict[str, list[dict[str, Any]]] = {}
        artifacts: list[ArtifactRef] = []
        summary: list[str] = []
        if declared & VALIDATE_OUTPUTS:
            outputs["validation"] = report.model_dump(mode="json")
            outputs["validation_errors"] = report.error_count
            outputs["register_valid"] = report.valid
            tables["templates"] = [t.model_dump() for t in report.templates]
            tables["validation_issues"] = [
                {
                    "template": i.template,
                    "row": i.row,
                    "column": i.column,
                    "severity": i.severity,
                    "rule": i.rule,
                    "message": i.message,
                    "reference": i.reference,
                }
                for i in report.issues[:500]
            ]
            summary.append(
                f"Register of {report.entity_name or 'unknown entity'}: "
                f"{'valid' if report.valid else 'invalid'}, {report.error_count} error(s), "
                f"{report.warning_count} warning(s) in {len(report.templates)} template(s) "
                "(CIR 2024/2956)."
            )
        if declared & ANALYSE_OUTPUTS:
            from agents.roi.analysis import analyse

            result = analyse(
                register,
                hhi_moderate=_float(task, self.settings, "hhi_moderate", 1500.0),
                hhi_high=_float(task, self.settings, "hhi_high", 2500.0),
                top_share_limit=_float(task, self.settings, "top_share_limit", 0.5),
            )
            c = result.concentration
            outputs.update(
                concentration=c.model_dump(mode="json"),
                exit_plans=[e.model_dump(mode="json") for e in result.exit_plans],
                contract_provisions=[p.model_dump(mode="json") for p in result.contract_provisions],
                critical_without_exit_plan=result.critical_without_exit_plan,
                hhi=c.hhi,
                concentration_high=c.high,
                arrangements_missing_provisions=result.arrangements_missing_provisions,
            )
            tables["provider_concentration"] = [
                {
                    "provider": p.name,
                    "code": p.provider,
                    "country": p.country,
                    "share": round(p.share, 4),
                    "annual_expense_eur": p.annual_expense_eur,
                    "critical_functions": ", ".join(p.functions),
                    "substitutability": p.substitutability,
                }
                for p in c.providers
            ]
            tables["exit_plans"] = [e.model_dump(mode="json") for e in result.exit_plans]
            tables["art30_provisions"] = [
                {
                    "arrangement": p.arrangement,
                    "critical": p.critical,
                    "missing": ", ".join(p.missing) if not p.not_recorded else "not recorded",
                }
                for p in result.contract_provisions
                if p.missing
            ]
            if not report.valid:
                summary.append(
                    f"Analysis of a register with {report.error_count} validation error(s): "
                    "figures may be incomplete."
                )
            summary.append(
                f"HHI {c.hhi:,.0f} ({c.hhi_band}) over ICT services supporting "
                f"{result.critical_functions} critical or important function(s); largest "
                f"provider {c.top_share:.1%}; {result.critical_without_exit_plan} critical "
                f"function(s) rely on a service without exit plan (Art. 28(8)); "
                f"{result.arrangements_missing_provisions} arrangement(s) miss Art. 30 provisions."
            )
        if declared & EXPORT_OUTPUTS:
            if report.valid:
                from agents.roi.export import export_package

                out_dir = Path(task.context.output_dir)
                try:
                    exported = export_package(
                        register,
                        out_dir,
                        reference_date=task.inputs.get("reference_date") or None,
                        level=str(task.inputs.get("reporting_level") or "IND"),
                    )
                except ValueError as exc:
                    raise DataValidationError(f"export of the register failed: {exc}") from exc
                outputs["xbrl_package"] = {"exported": True, **dict(exported)}
                artifacts.append(
                    ArtifactRef(
                        path=exported["path"],
                        kind="zip",
                        description="xBRL-CSV report package (EBA DORA 4.0)",
                    )
                )
                summary.append(f"Exported xBRL-CSV package {Path(exported['path']).name}.")
            else:
                outputs["xbrl_package"] = {
                    "exported": False,
                    "reason": f"the register has {report.error_count} validation error(s)",
                }
                summary.append("Not exported: the register has validation errors.")
        return TaskResult(
            outputs=outputs, summary=" ".join(summary), tables=tables, artifacts=artifacts
        )

    def _report(self, task: TaskExecution) -> TaskResult:
        from agents.roi.models import AnalysisResult, ValidationReport
        from agents.roi.report import build_view, write_html, write_markdown

        results = task.inputs.get("all_results")
        if not isinstance(results, Mapping):
            raise DataValidationError(
                f"input 'all_results' of task '{task.task_id}' must be an object keyed by task id"
            )
        validation: ValidationReport | None = None
        analysis: AnalysisResult | None = None
        export: dict[str, Any] | None = None
        try:
            for outs in results.values():
                if not isinstance(outs, Mapping):
                    continue
                if "validation" in outs:
                    validation = ValidationReport.model_validate(outs["validation"])
                if "concentration" in outs:
                    analysis = AnalysisResult.model_validate(
                        {
                            "concentration": outs["concentration"],
                            "exit_plans": outs.get("exit_plans", []),
                            "critical_without_exit_plan": outs.get("critical_without_exit_plan", 0),
                            "contract_provisions": outs.get("contract_provisions", []),
                            "arrangements_missing_provisions": outs.get(
                                "arrangements_missing_provisions", 0
                            ),
                            "critical_functions": len(
                                {
                                    f
                                    for p in outs["concentration"]["providers"]
                                    for f in p["functions"]
                                }
                            ),
                            "functions": 0,
                            "arrangements": 0,
                            "providers": len(outs["concentration"]["providers"]),
                        }
                    )
                if "xbrl_package" in outs and isinstance(outs["xbrl_package"], Mapping):
                    export = dict(outs["xbrl_package"])
        except ValidationError as exc:
            raise DataValidationError(f"input 'all_results' is malformed: {exc}") from exc
        if validation is None:
            raise DataValidationError(
                "input 'all_results' has no 'validation' output of a validation task"
            )
        if analysis is not None:
            # counts the analysis task does not output: take them from the validation summary
            counts = {t.template: t.rows for t in validation.templates}
            analysis = analysis.model_copy(
                update={
                    "functions": counts.get("B_06.01", 0),
                    "arrangements": counts.get("B_02.01", 0),
                }
            )
        generated = task.inputs.get("generated_at") or dt.datetime.now(dt.UTC).strftime(
            "%Y-%m-%d %H:%M:%S UTC"
        )
        run_id = task.context.flow_run_id or task.context.workflow_id
        view = build_view(validation, analysis, export, generated_at=str(generated), run_id=run_id)
        out_dir = Path(task.context.output_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        stem = _slug(f"register-of-information-{run_id}")
        html = write_html(view, out_dir / f"{stem}.html")
        md = write_markdown(view, out_dir / f"{stem}.md")
        text = (
            f"Register of information report for {view['entity']}: "
            f"{'valid' if view['valid'] else 'invalid'} ({view['errors']} error(s))"
        )
        if view["analysis"]:
            text += (
                f", HHI {view['analysis']['hhi']} ({view['analysis']['band']}), "
                f"{view['analysis']['critical_without_exit_plan']} critical function(s) "
                "without exit plan"
            )
        return TaskResult(
            outputs={"register_report": {"html": str(html), "markdown": str(md), "text": text}},
            summary=text + ".",
            artifacts=[
                ArtifactRef(
                    path=str(html), kind="html", description="Register of information report"
                ),
                ArtifactRef(
                    path=str(md), kind="markdown", description="Register of information summary"
                ),
            ],
        )
