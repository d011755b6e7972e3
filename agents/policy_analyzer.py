"""policy_analyzer agent: read policy documents and score them against the DORA catalog.

A thin adapter around :func:`agents.analysis.analyze`: it turns task inputs (paths,
analysis type, entity profile) into library calls and the result into JSON outputs,
a readable summary and tables for the Prefect UI. All scoring logic lives in
``agents/analysis.py`` so the CLI, benchmarks and tests use exactly the same code.

Inputs:
    documents      list of files, folders or globs (``file_list``); a single string works too
    analysis_type  "comprehensive" (default) or "quick" (DORA articles only)
    profile        optional: path to an entity-profile YAML, or a dict / EntityProfile;
                   when absent, the agent setting ``profile`` (agent YAML
                   ``configuration.profile``), then the environment variable
                   ``DORA_ENTITY_PROFILE`` (a YAML path), then the default profile - the
                   summary then says the entity was assessed as a generic credit institution

Outputs:
    analysis_results  AnalysisResults as JSON (``model_dump(mode="json")``)
    compliance_score  float in [0, 1]

Settings (``configuration`` block): ``catalog_path`` to use another catalog file,
``on_error`` ("record" | "halt") for unreadable documents, ``profile`` (YAML path or
mapping) for the entity when the task gives none.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agents.analysis import (
    ANALYZER_VERSION,
    AnalysisType,
    analyze,
    load_profile,
    semantic_check,
)
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


#: environment variable naming an entity-profile YAML, used when neither the task input nor
#: the agent configuration gives a profile
PROFILE_ENV = "DORA_ENTITY_PROFILE"
#: said in the summary when no profile was found anywhere
DEFAULT_PROFILE_NOTE = "no entity profile given; assessed as a generic credit institution"


def resolve_profile(
    inputs: Mapping[str, Any], settings: Mapping[str, Any]
) -> tuple[EntityProfile, str]:
    """The entity profile and where it came from: input, setting, environment or default.

    Why an explicit order: the seed workflow passes no ``profile`` input, and assessing a
    microenterprise or an Art. 16 entity as a full-regime bank silently inflates the gaps.
    A deployment can therefore pin the profile in the agent YAML or the environment, and
    when nothing is set the result says so instead of pretending to know the entity.
    """
    candidates: list[tuple[str, Any]] = [
        ("input 'profile'", inputs.get("profile")),
        ("agent setting 'profile'", settings.get("profile")),
        (f"environment variable {PROFILE_ENV}", os.environ.get(PROFILE_ENV) or None),
    ]
    for origin, raw in candidates:
        if raw is None:
            continue
        if not isinstance(raw, (str, Path, dict, EntityProfile)):
            raise DataValidationError(f"{origin} must be a YAML path or a mapping")
        try:
            return load_profile(raw), origin
        except DataValidationError as exc:
            raise DataValidationError(f"{origin}: {exc}") from exc
    return load_profile(None), "default"


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
        profile, _ = resolve_profile(inputs, self.settings)
        on_error = self.settings.get("on_error", "record")
        documents = load_documents(specs, on_error=on_error)
        catalog = load_catalog(self.settings.get("catalog_path"))
        # the optional semantic matcher (agent configuration `semantic_matcher: true`)
        semantic = semantic_check(catalog) if self.settings.get("semantic_matcher") else None
        # `evidence_model: false` keeps the evidence rules' decision (no calibrated model)
        rules_only = self.settings.get("evidence_model", True) is False
        return analyze(
            documents,
            profile,
            catalog,
            analysis_type=analysis_type,
            semantic=semantic,
            evidence_model=False if rules_only else None,
        )

    async def run(self, task: TaskExecution) -> TaskResult:
        # resolved first (cheap) so a bad profile fails before reading documents
        _, profile_origin = resolve_profile(task.inputs, self.settings)
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
        if profile_origin == "default":
            summary += f" Note: {DEFAULT_PROFILE_NOTE}."
        else:
            summary += f" Entity: {results.profile.name} (profile from {profile_origin})."
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
