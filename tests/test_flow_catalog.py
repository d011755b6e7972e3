"""Deployability: every definition is a module-level flow Prefect can load by entrypoint."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from prefect.flows import load_flow_from_entrypoint

from flows.graph import build_plan, levels

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "definitions" / "dora-compliance-assessment.yaml"


def test_seed_flow_loads_from_its_entrypoint() -> None:
    flow_obj = load_flow_from_entrypoint(
        f"{ROOT / 'flows' / 'catalog.py'}:dora_compliance_assessment"
    )
    assert flow_obj.name == "dora-compliance-assessment"
    assert flow_obj.fn.__qualname__ == "dora_compliance_assessment"
    assert flow_obj.fn.__module__.endswith("catalog")  # "catalog" when loaded by file path
    assert flow_obj.timeout_seconds == 3600
    schema = flow_obj.parameters.model_dump()
    assert schema["required"] == ["documents"]
    assert schema["properties"]["analysis_type"]["default"] == "comprehensive"


def test_plan_levels_follow_dependencies() -> None:
    from dora.definition.loader import load_definition

    loaded = load_definition(SEED)
    assert levels(loaded.workflow) == [
        ["document_analysis"],
        ["gap_identification"],
        ["risk_calculation"],
        ["implementation_planning"],
        ["report_generation"],
    ]
    plan = build_plan(loaded.workflow, loaded.content_hash)
    risk = next(t for t in plan.tasks if t.id == "risk_calculation")
    assert risk.timeout_s == 300 and risk.retries == 3 and risk.retry_delays_s == [1.0, 2.0, 4.0]
    assert [r.action for r in plan.routing] == ["escalate", "require_approval", "alert"]


def test_cli_plan_json_runs_nothing() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "dora.cli.main", "plan", str(SEED), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert res.returncode == 0, res.stderr
    plan = json.loads(res.stdout)
    assert plan["flow_name"] == "dora-compliance-assessment"
    assert plan["flow_version"].startswith("1.0.0+")
    assert plan["parameters"][0]["name"] == "documents" and plan["parameters"][0]["required"]
    assert plan["routing"][2]["evaluated"].startswith("every few seconds")


def test_cli_analyze_json_records(tmp_path: Path) -> None:
    policy = tmp_path / "access.md"
    policy.write_text(
        "# Access control policy\n\n## 6 Access recertification\n\n"
        "The CISO shall ensure that access rights to ICT systems supporting critical or important "
        "functions are reviewed at least every six months; other access rights are reviewed at least "
        "annually. Unneeded rights are removed without delay.\n"
    )
    res = subprocess.run(
        [sys.executable, "-m", "dora.cli.main", "analyze", str(policy), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert res.returncode == 0, res.stderr
    records = json.loads(res.stdout)
    assert len(records) >= 150
    assert {"id", "reference", "coverage", "score", "evidence"} <= set(records[0])
    covered = [r for r in records if r["coverage"] in ("covered", "partial")]
    assert covered and all(r["evidence"] for r in covered)
    assert any("6 Access recertification" in e["location"] for r in covered for e in r["evidence"])
    missing = subprocess.run(
        [sys.executable, "-m", "dora.cli.main", "analyze", str(tmp_path / "none.pdf")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert missing.returncode == 1 and "none.pdf" in missing.stderr
