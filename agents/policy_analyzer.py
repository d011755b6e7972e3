"""policy_analyzer agent: read policy documents and score them against the DORA catalog.

A thin adapter around :func:`agents.analysis.analyze`: it turns task inputs (paths,
analysis type, entity profile) into library calls and the result into JSON outputs,
a readable summary and tables for the Prefect UI. All scoring logic lives in
``agents/analysis.py`` so the CLI, benchmarks and tests use exactly the same code.

Inputs:
    documents      list of files, folders or globs (``file_list``); a single string works too
    analysis_type  "comprehensive" (default) or "quick" (DORA articles only)
    profile        optional: path to an entity-profile YAML, or a dict / EntityProfile

Outputs:
    analysis_results  AnalysisResults as JSON (``model_dump(mode="json")``)
    compliance_score  float in [0, 1]

Settings (``configuration`` block): ``catalog_path`` to use another catalog file,
``on_error`` ("record" | "halt") for unreadable documents.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agents.analysis import ANALYZER_VERSION, AnalysisType, analyze, load_profile
from agents.base import SimpleAgent, TaskExecution, TaskResult
from agents.catalog import load_catalog
from agents.contracts import AnalysisResults, EntityProfile
from agents.documents import load_documents
from dora.errors import DataValidationError


def _document_specs(value: Any) -> list[str]:
    if isinstance(value, (str, Path)):
        return [str(value)]
    if (
        isinstance(value, (list, tuple))
        and value
        and all(isinstance(v, (str, Path)) for v in value)
    ):
        return [str(v) for v in value]
    raise DataValidationError(
        "input 'documents' must be a non-empty list of file paths, folders or globs"
    )


class PolicyAnalyzerAgent(SimpleAgent):
    """Scores policy documents against DORA and RTS 2024/1774 requirements."""

    TYPE = "policy_analyzer"
    CAPABILITIES = ("document_analysis", "policy_extraction", "compliance_scoring")
    version = ANALYZER_VERSION

    def analyze_inputs(self, inputs: Mapping[str, Any]) -> AnalysisResults:
        """Synchronous core, shared by :meth:`run` and direct callers."""
        specs = _document_specs(inputs.get("documents"))
        analysis_type: AnalysisType
        requested = inputs.get("analysis_type") or "comprehensive"
        if requested == "quick":
            analysis_type = "quick"
        elif requested == "comprehensive":
            analysis_type = "comprehensive"
        else:
            raise DataValidationError(
                f"input 'analysis_type' must be 'comprehensive' or 'quick', not {requested!r}"
            )
        raw_profile = inputs.get("profile")
        if raw_profile is not None and not isinstance(
            raw_profile, (str, Path, dict, EntityProfile)
        ):
            raise DataValidationError("input 'profile' must be a YAML path or a mapping")
        profile = load_profile(raw_profile)
        on_error = self.settings.get("on_error", "record")
        documents = load_documents(specs, on_error=on_error)
        catalog = load_catalog(self.settings.get("catalog_path"))
        return analyze(documents, profile, catalog, analysis_type=analysis_type)

    async def run(self, task: TaskExecution) -> TaskResult:
        # CPU-bound; keep the event loop free for heartbeats and other tasks
        results = await asyncio.to_thread(self.analyze_inputs, task.inputs)
        counts = {c: 0 for c in ("covered", "partial", "missing", "not_applicable")}
        for a in results.requirements:
            counts[a.coverage] += 1
        failed = [d for d in results.documents if d.status == "error"]
        summary = (
            f"{len(results.documents) - len(failed)} document(s) analysed against "
            f"{len(results.requirements)} requirements (catalog {results.catalog_version}): "
            f"{counts['covered']} covered, {counts['partial']} partial, "
            f"{counts['missing']} missing, "
            f"{counts['not_applicable']} not applicable. "
            f"Compliance score {results.compliance_score:.0%}."
        )
        if failed:
            summary += " Unreadable: " + "; ".join(f"{d.path} ({d.finding})" for d in failed) + "."
        return TaskResult(
            outputs={
                "analysis_results": results.model_dump(mode="json"),
                "compliance_score": results.compliance_score,
            },
            summary=summary,
            tables={
                "chapters": [c.model_dump(mode="json") for c in results.chapters],
                "requirements": [
                    {
                        "id": a.requirement_id,
                        "reference": a.reference,
                        "coverage": a.coverage,
                        "score": a.score,
                        "evidence": a.evidence[0].location if a.evidence else "",
                    }
                    for a in results.requirements
                ],
            },
        )
