"""definitions/resilience-testing-programme.yaml end to end on the real Prefect API.

The sample bank's programme asks the management body for approval (recorded, not waited
for, in ``record`` mode), escalates the overdue critical finding and alerts on the
untested treasury system; an O-SII profile additionally escalates the mandatory TLPT.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.services import run_definition

ROOT = Path(__file__).resolve().parent.parent
DEFN = ROOT / "definitions" / "resilience-testing-programme.yaml"
ICT = ROOT / "examples" / "ict-risk"
EX = ROOT / "examples" / "resilience"
FIX = ROOT / "tests" / "fixtures" / "resilience"

pytestmark = pytest.mark.usefixtures("prefect_api")


def _params(profile: Path) -> dict[str, Any]:
    return {
        "business_functions": [str(ICT / "business-functions.csv")],
        "asset_inventory": [str(ICT / "ict-assets.csv")],
        "test_history": [str(EX / "test-history.csv")],
        "test_findings": [str(EX / "test-findings.csv")],
        "tlpt_profile": str(profile),
        "as_of": "2026-11-20",
    }


def _fired(data: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (d["action"], d["target"] or ",".join(d["approvers"] or d["recipients"]))
        for d in data["decisions"]
        if d["fired"]
    }


def test_sample_programme_runs_and_asks_for_approval(tmp_path: Path) -> None:
    state, data = run_definition(DEFN, tmp_path, **_params(EX / "tlpt-profile.yaml"))
    assert state.is_completed(), state.message
    assert (
        data["outputs"]["testing_programme"]["testing_programme"]["summary"]["programme_year"]
        == 2027
    )
    assert _fired(data) == {
        ("require_approval", "cio,management_body"),
        ("escalate", "ciso"),
        ("alert", "ict_risk_function"),
    }
    crit = {c["condition"]: c["passed"] for c in data["criteria"]}
    assert crit == {
        "all_tasks_completed": True,
        "cif_tested_within_year": False,
        "no_overdue_findings": False,
    }
    html = Path(data["outputs"]["programme_report"]["programme_report"]["html"])
    assert html.is_file() and "Test calendar 2027" in html.read_text(encoding="utf-8")


def test_osii_programme_escalates_mandatory_tlpt(tmp_path: Path) -> None:
    state, data = run_definition(DEFN, tmp_path, **_params(FIX / "osii-profile.yaml"))
    assert state.is_completed(), state.message
    assert ("escalate", "tlpt_control_team_lead") in _fired(data)
    decision = data["outputs"]["testing_programme"]["tlpt_decision"]
    assert decision["required"] and decision["external_testers_required"]
    cal = data["outputs"]["testing_programme"]["testing_programme"]["calendar"]
    tlpt = [c for c in cal if c["kind"] == "tlpt"]
    assert tlpt and tlpt[0]["date"] == "2027-01-15"  # the authority's notification
