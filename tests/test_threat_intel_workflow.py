"""definitions/threat-intel-watch.yaml end to end on the real Prefect API.

The sample feeds produce one significant cyber threat: the run escalates to the incident
manager with the notification data, alerts the SOC (an indicator names our API gateway)
and fraud prevention (lookalike domains); a malformed bundle halts with located errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.services import run_definition

ROOT = Path(__file__).resolve().parent.parent
DEFN = ROOT / "definitions" / "threat-intel-watch.yaml"
ICT = ROOT / "examples" / "ict-risk"
EX = ROOT / "examples" / "threat-intel"
FIX = ROOT / "tests" / "fixtures" / "threat_intel"

pytestmark = pytest.mark.usefixtures("prefect_api")


def _params(bundle: Path) -> dict[str, Any]:
    return {
        "business_functions": [str(ICT / "business-functions.csv")],
        "asset_inventory": [str(ICT / "ict-assets.csv")],
        "stix_bundles": [str(bundle)],
        "indicator_feeds": [str(EX / "indicators.csv")],
        "watch_context": str(EX / "watch-context.yaml"),
        "as_of": "2026-11-20",
    }


def test_watch_escalates_the_significant_threat(tmp_path: Path) -> None:
    state, data = run_definition(DEFN, tmp_path, **_params(EX / "threat-feed-2026-11.json"))
    assert state.is_completed(), state.message
    fired = {
        (d["action"], d["target"] or ",".join(d["recipients"]))
        for d in data["decisions"]
        if d["fired"]
    }
    assert fired == {
        ("escalate", "incident_manager"),
        ("alert", "soc"),
        ("alert", "fraud_prevention"),
    }
    [note] = data["outputs"]["threat_watch"]["significant_threats"]
    assert note["threat_id"].startswith("intrusion-set--")
    crit = {c["condition"]: c["passed"] for c in data["criteria"]}
    assert crit == {"all_tasks_completed": True, "no_significant_threats": False}
    html = Path(data["outputs"]["watch_report"]["threat_report"]["html"])
    assert "FIN-Harbour" in html.read_text(encoding="utf-8")


def test_malformed_bundle_halts_the_watch(tmp_path: Path) -> None:
    state, data = run_definition(DEFN, tmp_path, **_params(FIX / "bundle-malformed.json"))
    assert state.is_failed()
    task = data["tasks"]["threat_watch"]
    assert task["error_type"] == "data_validation_error" and task["attempts"] <= 1  # no retry
    assert "objects[0] (indicator--0f6e2f7c-8a8e-4c33-9b0b-1b9c2a6e3d41)" in task["error"]
