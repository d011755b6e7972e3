"""Resilience tester agent (DORA Arts. 24-27, RTS 2025/1190).

Two steps told apart by their inputs (as for ``ict_risk_manager``):

* **programme** (inputs ``asset_inventory``, ``business_functions``, ``test_history``,
  ``test_findings``, ``tlpt_profile``, ``programme_year``): which systems need which tests
  and how often, the calendar, findings tracking and the TLPT decision and phase plan.
  Outputs ``testing_programme`` and ``tlpt_decision``; publishes the facts
  ``cif_tested_within_year`` and ``no_overdue_findings``.
* **report** (input ``testing_programme``): the programme as HTML and Markdown for the
  management body's approval. Output ``programme_report``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agents.base import ArtifactRef, SimpleAgent, TaskExecution, TaskResult
from agents.ict_risk.html import now_text, sha256_of, slug, write_report
from agents.ict_risk.models import Asset, BusinessFunction
from agents.ict_risk.tabular import read_yaml_model
from agents.ict_risk_manager import as_of_date, paths_of, read_rows
from agents.resilience.models import TestFinding, TestRecord, TlptProfile
from agents.resilience.programme import TestingProgramme, build_programme
from agents.resilience.report import build_view
from dora.errors import DataValidationError


def load_profile(path: str) -> TlptProfile:
    """The entity's TLPT profile (YAML); a bad field names the file and the field."""
    return read_yaml_model(path, TlptProfile, "TLPT profile", key="tlpt_profile")


class ResilienceTesterAgent(SimpleAgent):
    """Builds the testing programme and decides on TLPT; see the module docstring."""

    TYPE = "resilience_tester"
    CAPABILITIES = ("testing_programme", "tlpt_planning", "findings_tracking")
    version = "1.0.0"

    async def run(self, task: TaskExecution) -> TaskResult:
        if "testing_programme" in task.inputs:
            return self._report(task)
        return self._programme(task)

    def _programme(self, task: TaskExecution) -> TaskResult:
        inputs = task.inputs
        functions = read_rows(inputs, "business_functions", BusinessFunction, "business functions")
        assets = read_rows(inputs, "asset_inventory", Asset, "ICT asset inventory")
        tests = read_rows(inputs, "test_history", TestRecord, "test history", required=False)
        findings = read_rows(inputs, "test_findings", TestFinding, "test findings", required=False)
        profile_path = inputs.get("tlpt_profile")
        if not profile_path:
            raise DataValidationError(
                "input 'tlpt_profile' (entity profile YAML for the TLPT decision) is missing"
            )
        profile = load_profile(str(profile_path))
        as_of = as_of_date(inputs.get("as_of"))
        year = inputs.get("programme_year") or (as_of.year + 1)
        if not isinstance(year, int) or isinstance(year, bool) or not 2025 <= year <= 2100:
            raise DataValidationError(
                f"input 'programme_year' must be a year from 2025, got {year!r}"
            )
        prog = build_programme(
            functions,
            assets,
            tests,
            findings,
            profile,
            as_of=as_of,
            programme_year=year,
            non_cif_interval_months=int(inputs.get("non_cif_interval_months") or 0),
            red_team_weeks=int(inputs.get("red_team_weeks") or 12),
        )
        for role, name in (
            ("business functions", "business_functions"),
            ("asset inventory", "asset_inventory"),
            ("test history", "test_history"),
            ("test findings", "test_findings"),
        ):
            for f in paths_of(inputs.get(name), name):
                prog.sources.append({"role": role, "path": f, "sha256": sha256_of(f)})
        prog.sources.append(
            {
                "role": "TLPT profile",
                "path": str(profile_path),
                "sha256": sha256_of(str(profile_path)),
            }
        )
        s = prog.summary
        summary = (
            f"Programme {year}: {s.systems_in_scope} systems support critical or important "
            f"functions ({s.cif_systems_overdue} overdue, {s.cif_systems_never_tested} never tested), "
            f"{s.planned_tests} planned tests ({s.catch_up_tests} catch-up); {s.open_findings} open "
            f"findings, {s.overdue_findings} overdue; TLPT {'mandatory' if s.tlpt_required else 'not mandatory'}."
        )
        data = prog.model_dump(mode="json")
        return TaskResult(
            outputs={"testing_programme": data, "tlpt_decision": data["tlpt"]},
            summary=summary,
            tables={
                "calendar": [
                    {
                        "date": c["date"],
                        "test": c["kind"],
                        "subject": c["subject"],
                        "reference": c["reference"],
                    }
                    for c in data["calendar"]
                ],
                "findings": [
                    {k: f[k] for k in ("finding_id", "severity", "status", "due", "owner")}
                    for f in data["findings"]
                ],
            },
        )

    def _report(self, task: TaskExecution) -> TaskResult:
        raw: Any = task.inputs["testing_programme"]
        try:
            prog = TestingProgramme.model_validate(raw)
        except ValidationError as exc:
            raise DataValidationError(
                f"input 'testing_programme' of task '{task.task_id}' is not a testing programme: {exc}"
            ) from None
        run_id = task.context.flow_run_id or task.context.workflow_id
        view = build_view(prog, generated_at=now_text(), run_id=run_id)
        stem = slug(str(task.inputs.get("file_stem") or f"testing-programme-{run_id}"))
        html_path, md_path = write_report(view, Path(task.context.output_dir), stem)
        return TaskResult(
            outputs={"programme_report": {"html": str(html_path), "markdown": str(md_path)}},
            summary=f"Testing programme {prog.summary.programme_year} written to {html_path}.",
            artifacts=[
                ArtifactRef(
                    path=str(html_path), kind="html", description="Resilience testing programme"
                ),
                ArtifactRef(
                    path=str(md_path),
                    kind="markdown",
                    description="Resilience testing programme (Markdown)",
                ),
            ],
        )
