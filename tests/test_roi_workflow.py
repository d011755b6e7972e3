"""End-to-end: the register-of-information workflow on a real Prefect API (``prefect_api``)."""

from __future__ import annotations

import asyncio
import os
import zipfile
from pathlib import Path
from typing import Any

import pytest

from dora.definition.loader import load_definition
from flows.factory import compile_workflow
from tests.fixtures.roi.roi_helpers import FIXTURES, ROOT, SAMPLE

DEFINITION = ROOT / "definitions" / "register-of-information.yaml"

pytestmark = pytest.mark.usefixtures("prefect_api")


def _run(reports: Path, register_dir: Path) -> dict[str, Any]:
    from dora.settings import get_settings

    old = os.environ.get("DORA_REPORTS_DIR")
    os.environ["DORA_REPORTS_DIR"] = str(reports)
    get_settings.cache_clear()
    try:
        flow_obj = compile_workflow(load_definition(DEFINITION))
        state = flow_obj(register_dir=str(register_dir), return_state=True)
        data = state.result(raise_on_failure=False)
    finally:
        if old is None:
            os.environ.pop("DORA_REPORTS_DIR", None)
        else:
            os.environ["DORA_REPORTS_DIR"] = old
        get_settings.cache_clear()
    assert isinstance(data, dict), data
    return {"state": state, "data": data}


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _run(tmp_path_factory.mktemp("roi-reports"), SAMPLE)


def test_sample_register_run_completes_and_routes(sample_run: dict[str, Any]) -> None:
    data = sample_run["data"]
    assert {t: s["state"] for t, s in data["tasks"].items()} == dict.fromkeys(
        ["validate_register", "analyse_register", "export_register", "register_report"],
        "completed",
    )
    assert sample_run["state"].is_completed(), sample_run["state"].message
    outs = data["outputs"]
    assert outs["validate_register"]["validation_errors"] == 0
    assert outs["analyse_register"]["hhi"] == pytest.approx(2168.5)
    assert outs["analyse_register"]["critical_without_exit_plan"] == 2
    fired = {(d["action"], d.get("target")) for d in data["decisions"] if d["fired"]}
    assert ("escalate", "head_of_third_party_risk") in fired  # Art. 28(8)
    assert ("escalate", "legal") in fired  # Art. 30
    assert ("escalate", "cro") not in fired  # HHI moderate, no provider >= 50 %
    criteria = {c["condition"]: c for c in data["criteria"]}
    assert criteria["validation_errors < 1"]["passed"] is True
    assert criteria["critical_without_exit_plan < 1"]["passed"] is False  # not required


def test_report_and_package_files(sample_run: dict[str, Any]) -> None:
    outs = sample_run["data"]["outputs"]
    report = outs["register_report"]["register_report"]
    html = Path(report["html"]).read_text(encoding="utf-8")
    assert "Nordhafen Bank AG" in html and "2,168" in html and "Art. 28(8)" in html
    assert (
        Path(report["markdown"])
        .read_text(encoding="utf-8")
        .startswith("# Register of information: Nordhafen Bank AG")
    )
    package = outs["export_register"]["xbrl_package"]
    assert package["exported"] is True
    with zipfile.ZipFile(package["path"]) as zf:
        assert any(n.endswith("reports/b_07.01.csv") for n in zf.namelist())


def test_table_artifacts_are_in_prefect(sample_run: dict[str, Any]) -> None:
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    run_id = sample_run["data"]["flow_run_id"]

    async def artifacts() -> list[Any]:
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
            )

    found = asyncio.run(artifacts())
    keys = {a.key for a in found if a.key}
    assert any(k.endswith("provider-concentration") for k in keys), keys
    assert any(k.endswith("exit-plans") for k in keys)
    assert any(k.endswith("validate-register-templates") for k in keys)  # rows per template
    assert "table" in {a.type for a in found}


def test_invalid_register_fails_the_success_criterion(tmp_path: Path) -> None:
    run = _run(tmp_path, FIXTURES / "planted")
    data = run["data"]
    assert run["state"].is_failed()
    assert data["outputs"]["validate_register"]["validation_errors"] == 21
    assert data["outputs"]["export_register"]["xbrl_package"]["exported"] is False
    alert = next(d for d in data["decisions"] if d["action"] == "alert")
    assert alert["fired"] is True and alert["recipients"] == ["register_owner"]
    assert "validation_errors < 1" in run["state"].message
