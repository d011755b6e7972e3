"""Threat intelligence agent (DORA Art. 13(1), 45; CDR 2024/1772 Art. 10).

Two steps told apart by their inputs (as for ``ict_risk_manager``):

* **watch** (inputs ``stix_bundles`` and/or ``indicator_feeds``, ``asset_inventory``,
  ``business_functions``, ``watch_context``): reads STIX 2.1 bundles (``stix2``) and CSV
  indicator feeds, matches indicators, vulnerabilities and techniques against the
  inventory, ranks threats by relevance to critical or important functions and decides
  significance under Art. 10. Outputs ``threat_assessment`` and ``significant_threats``
  (data for the voluntary notification, in the incident reporter's ``CyberThreat``
  shape); publishes the fact ``no_significant_threats``.
* **report** (input ``threat_assessment``): the watch report (HTML + Markdown).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agents.base import ArtifactRef, SimpleAgent, TaskExecution, TaskResult
from agents.ict_risk.assessment import check_references, map_cif
from agents.ict_risk.html import now_text, sha256_of, slug, write_report
from agents.ict_risk.models import Asset, BusinessFunction
from agents.ict_risk.tabular import read_yaml_model
from agents.ict_risk_manager import as_of_date, paths_of, read_rows
from agents.threat_intel.csv_feed import threats_from_csv
from agents.threat_intel.models import Threat, WatchContext, merge_threats
from agents.threat_intel.report import build_view
from agents.threat_intel.significance import ThreatWatch, assess_threat, rank
from agents.threat_intel.stix import threats_from_bundle
from dora.errors import DataValidationError


def load_context(path: str) -> WatchContext:
    return read_yaml_model(path, WatchContext, "watch context")


class ThreatIntelligenceAgent(SimpleAgent):
    """Matches threat intelligence to the inventory and applies Art. 10 of CDR 2024/1772."""

    TYPE = "threat_intelligence"
    CAPABILITIES = ("stix_ingestion", "threat_matching", "significant_cyber_threat")
    version = "1.0.0"

    async def run(self, task: TaskExecution) -> TaskResult:
        if "threat_assessment" in task.inputs:
            return self._report(task)
        return self._watch(task)

    def _watch(self, task: TaskExecution) -> TaskResult:
        inputs = task.inputs
        functions = read_rows(inputs, "business_functions", BusinessFunction, "business functions")
        assets = read_rows(inputs, "asset_inventory", Asset, "ICT asset inventory")
        check_references(functions, assets, [])
        ctx_path = inputs.get("watch_context")
        if not ctx_path:
            raise DataValidationError(
                "input 'watch_context' (YAML: entity, brand keywords, clients per function) is missing"
            )
        ctx = load_context(str(ctx_path))
        bundles = paths_of(inputs.get("stix_bundles"), "stix_bundles")
        feeds = paths_of(inputs.get("indicator_feeds"), "indicator_feeds")
        if not bundles and not feeds:
            raise DataValidationError(
                "give at least one STIX bundle (stix_bundles) or indicator feed (indicator_feeds)"
            )
        threats: list[Threat] = []
        unsupported = 0
        for b in bundles:
            found, stats = threats_from_bundle(b, ctx.name)
            threats += found
            unsupported += stats["unsupported_comparisons"]
        for f in feeds:
            threats += threats_from_csv(f)
        threats = merge_threats(threats)
        as_of = as_of_date(inputs.get("as_of"))
        asset_list = [r.value for r in assets]
        cif_map = map_cif([r.value for r in functions], asset_list)
        results = rank([assess_threat(t, asset_list, cif_map, ctx, as_of) for t in threats])
        significant = [r for r in results if r.significant]
        sources = [{"role": "STIX bundle", "path": b, "sha256": sha256_of(b)} for b in bundles]
        sources += [{"role": "indicator feed", "path": f, "sha256": sha256_of(f)} for f in feeds]
        sources += [
            {"role": role, "path": f, "sha256": sha256_of(f)}
            for role, name in (
                ("asset inventory", "asset_inventory"),
                ("business functions", "business_functions"),
            )
            for f in paths_of(inputs.get(name), name)
        ]
        summary: dict[str, Any] = {
            "threats": len(results),
            "feeds": len(bundles) + len(feeds),
            "relevant": sum(1 for r in results if r.matched_assets or r.lookalike_domains),
            "significant": len(significant),
            "indicator_matches": sum(
                1 for r in results for m in r.matches if m.kind == "indicator"
            ),
            "lookalike_domains": sorted({d for r in results for d in r.lookalike_domains}),
            "top_threat": results[0].name if results else None,
            "unsupported_pattern_comparisons": unsupported,
        }
        watch = ThreatWatch(
            as_of=as_of,
            entity=ctx.name,
            summary=summary,
            no_significant_threats=not significant,
            threats=results,
            sources=sources,
        )
        data = watch.model_dump(mode="json")
        text = (
            f"{summary['threats']} threats from {summary['feeds']} feed(s); {summary['relevant']} match "
            f"the inventory; {summary['significant']} significant cyber threat(s) (CDR 2024/1772 Art. 10)"
            + (f": {', '.join(r.name for r in significant)}." if significant else ".")
        )
        return TaskResult(
            outputs={
                "threat_assessment": data,
                "significant_threats": [
                    r["notification"] for r in data["threats"] if r["significant"]
                ],
            },
            summary=text,
            tables={
                "threats": [
                    {
                        "rank": r.rank,
                        "threat": r.name,
                        "relevance": r.relevance,
                        "assets": ", ".join(r.matched_assets),
                        "significant": r.significant,
                    }
                    for r in results
                ]
            },
        )

    def _report(self, task: TaskExecution) -> TaskResult:
        try:
            watch = ThreatWatch.model_validate(task.inputs["threat_assessment"])
        except ValidationError as exc:
            raise DataValidationError(
                f"input 'threat_assessment' of task '{task.task_id}' is not a threat watch: {exc}"
            ) from None
        run_id = task.context.flow_run_id or task.context.workflow_id
        view = build_view(watch, generated_at=now_text(), run_id=run_id)
        stem = slug(str(task.inputs.get("file_stem") or f"threat-watch-{run_id}"))
        html_path, md_path = write_report(view, Path(task.context.output_dir), stem)
        return TaskResult(
            outputs={"threat_report": {"html": str(html_path), "markdown": str(md_path)}},
            summary=f"Threat watch report written to {html_path}.",
            artifacts=[
                ArtifactRef(
                    path=str(html_path), kind="html", description="Threat intelligence watch"
                ),
                ArtifactRef(
                    path=str(md_path),
                    kind="markdown",
                    description="Threat intelligence watch (Markdown)",
                ),
            ],
        )
