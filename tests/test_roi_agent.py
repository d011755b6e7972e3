"""The third_party_risk agent called directly: steps chosen by declared outputs, clear errors."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from agents.base import RunContext, TaskExecution, TaskResult
from agents.registry import get
from agents.third_party_risk import ThirdPartyRiskAgent
from dora.errors import DataValidationError
from tests.fixtures.roi.roi_helpers import FIXTURES, SAMPLE

VALIDATE = ["validation", "validation_errors", "register_valid"]
ANALYSE = [
    "concentration",
    "exit_plans",
    "contract_provisions",
    "critical_without_exit_plan",
    "hhi",
    "concentration_high",
    "arrangements_missing_provisions",
]


def _call(tmp: Path, outputs: list[str], **inputs: Any) -> TaskResult:
    agent = ThirdPartyRiskAgent()
    task = TaskExecution(
        task_id="t",
        task_name="t",
        agent="third_party_risk",
        inputs=inputs,
        declared_outputs=outputs,
        context=RunContext(workflow_id="register-of-information", output_dir=tmp),
    )
    return asyncio.run(agent.execute_task(task))


def test_registered_under_its_name() -> None:
    agent = get("third_party_risk").create()
    assert agent.agent_type == "third_party_risk" and agent.agent_id == "third-party-risk-001"
    assert "register_of_information" in asyncio.run(agent.get_capabilities())


def test_validate_step_outputs_and_tables(tmp_path: Path) -> None:
    res = _call(tmp_path, VALIDATE, register_dir=str(FIXTURES / "planted"))
    assert res.outputs["validation_errors"] == 21 and res.outputs["register_valid"] is False
    assert len(res.tables["validation_issues"]) == 21
    assert set(res.outputs) == set(VALIDATE)


def test_analysis_thresholds_are_inputs(tmp_path: Path) -> None:
    res = _call(tmp_path, ANALYSE, register_dir=str(SAMPLE), top_share_limit=0.3)
    assert res.outputs["concentration_high"] is True
    assert res.outputs["critical_without_exit_plan"] == 2
    with pytest.raises(DataValidationError, match="hhi_high"):
        _call(tmp_path, ANALYSE, register_dir=str(SAMPLE), hhi_high="lots")


def test_export_step_skips_an_invalid_register(tmp_path: Path) -> None:
    res = _call(tmp_path, ["xbrl_package"], register_dir=str(FIXTURES / "planted"))
    assert res.outputs["xbrl_package"] == {
        "exported": False,
        "reason": "the register has 21 validation error(s)",
    }
    ok = _call(tmp_path, ["xbrl_package"], register_dir=str(SAMPLE), reporting_level="CON")
    assert ok.outputs["xbrl_package"]["entity_id"].endswith(".CON")
    assert ok.artifacts[0].kind == "zip" and Path(ok.artifacts[0].path).is_file()


def test_report_step_from_upstream_outputs(tmp_path: Path) -> None:
    validation = _call(tmp_path, VALIDATE, register_dir=str(SAMPLE)).outputs
    analysis = _call(tmp_path, ANALYSE, register_dir=str(SAMPLE)).outputs
    res = _call(
        tmp_path,
        ["register_report"],
        all_results={"validate_register": validation, "analyse_register": analysis},
        generated_at="2026-01-02 07:00:00 UTC",
    )
    report = res.outputs["register_report"]
    html = Path(report["html"]).read_text(encoding="utf-8")
    assert "2026-01-02 07:00:00 UTC" in html and "Kernbank Software AG" in html
    assert "34.7%" in html  # Kernbank's share, as in the analysis output
    md = Path(report["markdown"]).read_text(encoding="utf-8")
    assert "Critical functions without exit plan (Art. 28(8)): **2**" in md
    assert {a.kind for a in res.artifacts} == {"html", "markdown"}


@pytest.mark.parametrize(
    ("outputs", "inputs", "message"),
    [
        (VALIDATE, {}, "input 'register_dir' of task 't' is missing"),
        (VALIDATE, {"register_dir": "/nonexistent/roi"}, "is not a directory"),
        (["something_else"], {"register_dir": str(SAMPLE)}, "declares none of the outputs"),
        (["register_report"], {"all_results": {"x": {}}}, "no 'validation' output"),
        (["register_report"], {"all_results": [1]}, "must be an object keyed by task id"),
    ],
)
def test_bad_inputs_are_data_validation_errors(
    tmp_path: Path, outputs: list[str], inputs: dict[str, Any], message: str
) -> None:
    with pytest.raises(DataValidationError, match=message):
        _call(tmp_path, outputs, **inputs)
