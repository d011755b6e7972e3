"""definitions/ict-risk-review.yaml end to end on the real Prefect API (session server).

One run on the sample bank (routing escalates the unsupported host under core banking,
the Art. 27 report is written, facts reach the success criteria) and one on a malformed
inventory (the data_validation_error policy halts, the error names file, row and column).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.services import run_definition

ROOT = Path(__file__).resolve().parent.parent
DEFN = ROOT / "definitions" / "ict-risk-review.yaml"
EX = ROOT / "examples" / "ict-risk"
FIX = ROOT / "tests" / "fixtures" / "ict_risk"

pytestmark = pytest.mark.usefixtures("prefect_api")


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any]]:
    return run_definition(
        DEFN,
        tmp_path_factory.mktemp("reports"),
        business_functions=[str(EX / "business-functions.csv")],
        asset_inventory=[str(EX / "ict-assets.csv")],
        risk_register=[str(EX / "risk-register.csv")],
        as_of="2026-11-20",
        review_context=str(EX / "review-context.yaml"),
    )


def test_sample_run_completes_and_writes_the_review_report(
    sample_run: tuple[Any, dict[str, Any]],
) -> None:
    state, data = sample_run
    assert state.is_completed(), state.message
    assert {t: s["state"] for t, s in data["tasks"].items()} == {
        "asset_review": "completed",
        "review_report": "completed",
    }
    report = data["outputs"]["review_report"]["rmf_review_report"]
    html = Path(report["html"]).read_text(encoding="utf-8")
    assert "Art. 27(2)(l)" in html and "Nordhafen Bank AG" in html
    assert Path(report["html"]).parent == Path(data["output_dir"])


def test_routing_escalates_end_of_support_on_a_critical_function(
    sample_run: tuple[Any, dict[str, Any]],
) -> None:
    _, data = sample_run
    fired = {
        (d["action"], d["target"] or ",".join(d["recipients"]))
        for d in data["decisions"]
        if d["fired"]
    }
    assert fired == {("escalate", "cio"), ("escalate", "cro"), ("alert", "ict_risk_function")}
    eos = next(d for d in data["decisions"] if d["target"] == "cio")
    assert list(eos["values"].values()) == [1]


def test_facts_reach_the_optional_success_criteria(sample_run: tuple[Any, dict[str, Any]]) -> None:
    _, data = sample_run
    crit = {c["condition"]: c for c in data["criteria"]}
    assert crit["all_tasks_completed"]["passed"] is True
    assert crit["inventory_complete"]["passed"] is False
    assert crit["inventory_complete"]["required"] is False
    assert crit["within_risk_tolerance"]["passed"] is False
    eos = "task.asset_review.outputs.ict_risk_assessment.summary.end_of_support_on_cif == 0.0"
    assert crit[eos]["passed"] is False and crit[eos]["error"] is None


def test_malformed_inventory_halts_with_located_errors(tmp_path: Path) -> None:
    state, data = run_definition(
        DEFN,
        tmp_path,
        business_functions=[str(FIX / "functions.csv")],
        asset_inventory=[str(FIX / "assets-malformed.csv")],
        risk_register=[str(FIX / "risks-malformed.json")],
        as_of="2026-11-20",
    )
    assert state.is_failed()
    task = data["tasks"]["asset_review"]
    assert task["error_type"] == "data_validation_error"
    # halt, no retry (an agent_error would be retried): the file will not fix itself
    assert task["attempts"] <= 1
    assert "assets-malformed.csv: row 3: end_of_support" in task["error"]
    assert data["tasks"]["review_report"]["state"] in ("skipped", "pending")


def test_cli_run_prints_the_report_paths(prefect_api: str, tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {**os.environ, "PREFECT_API_URL": prefect_api, "DORA_REPORTS_DIR": str(tmp_path)}
    res = subprocess.run(
        [
            sys.executable, "-m", "dora.cli.main", "run", str(DEFN),
            "--input", f"business_functions={EX / 'business-functions.csv'}",
            "--input", f"asset_inventory={EX / 'ict-assets.csv'}",
            "--input", f"risk_register={EX / 'risk-register.csv'}",
            "--input", f"review_context={EX / 'review-context.yaml'}",
            "--input", "as_of=2026-11-20",
        ],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=600,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    assert "COMPLETED" in res.stdout and "routing: escalate → cio" in res.stdout
    html = next(line for line in res.stdout.splitlines() if line.strip().startswith("html:"))
    assert Path(html.split("html:", 1)[1].strip()).is_file()
    assert "Traceback" not in res.stderr + res.stdout
