"""ICT risk manager: reading inventories, CIF mapping, scores, frequencies, review report.

The sample inventory of Nordhafen Bank AG (examples/ict-risk/) is the realistic case; small
in-memory inventories pin every boundary (frequencies, tolerance, bands, end of support).
"""

from __future__ import annotations

import asyncio
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from agents.base import RunContext, TaskExecution
from agents.ict_risk import frequencies as fq
from agents.ict_risk.assessment import assess, band, map_cif
from agents.ict_risk.models import Asset, BusinessFunction, RiskEntry
from agents.ict_risk.review_report import load_context
from agents.ict_risk.tabular import Row, TableError, read_table
from agents.ict_risk_manager import IctRiskManagerAgent
from dora.errors import DataValidationError

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples" / "ict-risk"
FIX = ROOT / "tests" / "fixtures" / "ict_risk"
AS_OF = date(2026, 11, 20)


def _run(inputs: dict[str, Any], out: Path) -> Any:
    task = TaskExecution(
        task_id="t",
        task_name="t",
        agent="ict_risk_manager",
        inputs=inputs,
        context=RunContext(workflow_id="ict-risk-review", output_dir=out),
    )
    return asyncio.run(IctRiskManagerAgent().execute_task(task))


def _sample_inputs(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "business_functions": [str(EX / "business-functions.csv")],
        "asset_inventory": [str(EX / "ict-assets.csv")],
        "risk_register": [str(EX / "risk-register.csv")],
        "risk_tolerance": 8.0,
        "as_of": AS_OF.isoformat(),
    }
    base.update(over)
    return base


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    res = _run(_sample_inputs(), tmp_path_factory.mktemp("ict"))
    return dict(res.outputs["ict_risk_assessment"])


# ------------------------------------------------------------------ sample bank
def test_sample_maps_infrastructure_to_critical_functions_through_dependencies(
    sample: dict[str, Any],
) -> None:
    assets = {a["asset_id"]: a for a in sample["assets"]}
    # the RHEL 7 hosts support no function themselves; the core banking system depends on them
    assert assets["A-003"]["cif_mapping"] == "via_dependency"
    assert assets["A-003"]["cif_paths"]["F-DEP"] == ["A-001", "A-003"]
    # SAN storage two hops down: CBS -> DB -> SAN; online banking three hops
    assert assets["A-010"]["cif_paths"]["F-ONL"] == ["A-007", "A-001", "A-002", "A-010"]
    # Active Directory is needed by every critical or important function
    assert assets["A-015"]["cif_functions"] == ["F-DEP", "F-LEND", "F-ONL", "F-PAY", "F-TRE"]
    assert assets["A-012"]["cif_mapping"] == "none"  # regulatory reporting is not CIF here
    assert sample["summary"]["cif_assets"] == 12
    assert sample["summary"]["cif_assets_via_dependency"] == 4


def test_sample_escalates_the_unsupported_host_under_core_banking(sample: dict[str, Any]) -> None:
    s = sample["summary"]
    assert (s["end_of_support"], s["end_of_support_on_cif"]) == (3, 1)
    eos = [f for f in sample["findings"] if f["kind"] == "end_of_support"]
    by_subject = {f["subject"]: f for f in eos}
    assert by_subject["A-003"]["severity"] == "critical"
    assert by_subject["A-012"]["severity"] == "high"  # unsupported but not CIF
    assert "Art. 8(7)" in by_subject["A-003"]["reference"]
    assert len(sample["escalations"]) == 1 and sample["escalations"][0].startswith("A-003")
    # support of the Oracle DB ends 2027-04-30: inside the 180-day planning horizon
    soon = [f for f in sample["findings"] if f["kind"] == "end_of_support_soon"]
    assert [f["subject"] for f in soon] == ["A-002"]


def test_sample_risk_register_scores_and_treatments(sample: dict[str, Any]) -> None:
    reg = {r["risk_id"]: r for r in sample["risk_register"]}
    assert [r["risk_id"] for r in sample["risk_register"]][:3] == ["R-02", "R-01", "R-08"]
    r1 = reg["R-01"]
    assert (r1["inherent_score"], r1["residual_score"], r1["residual_band"]) == (20, 10.0, "high")
    assert r1["status"] == "mitigation_required" and "60%" in r1["proposal"]  # 1 - 8/20
    assert reg["R-07"]["status"] == "accepted_above_tolerance"  # board accepted, justified
    assert reg["R-08"]["status"] == "mitigation_required"
    assert "Art. 28(1)(a)" in reg["R-08"]["proposal"]  # transfer keeps responsibility
    assert reg["R-04"]["status"] == "within_tolerance"
    kinds = {(f["subject"], f["kind"]) for f in sample["findings"]}
    assert ("R-08", "treatment_without_date") in kinds
    assert ("R-02", "treatment_overdue") in kinds  # due 2026-09-30
    assert ("R-04", "overdue_review") in kinds  # accepted risk reviewed 2025-10-01
    assert ("R-09", "overdue_review") in kinds  # assessed 2025-08-15
    assert sample["within_risk_tolerance"] is False
    assert sample["summary"]["risks_above_tolerance"] == 4
    assert sample["summary"]["risks_above_tolerance_untreated"] == 3


def test_sample_completeness_and_recovery_objectives(sample: dict[str, Any]) -> None:
    f = {(x["subject"], x["kind"], x["column"]): x for x in sample["findings"]}
    assert ("A-011", "incomplete_record", "owner") in f
    assert f[("A-011", "incomplete_record", "owner")]["row"] == 12
    assert f[("A-011", "incomplete_record", "owner")]["file"].endswith("ict-assets.csv")
    assert ("A-014", "incomplete_record", "location") in f
    assert f[("A-005", "missing_rto_rpo", "rpo_hours")]["severity"] == "high"  # CIF
    assert f[("A-013", "missing_rto_rpo", "rto_hours")]["severity"] == "medium"
    # mobile backend RTO 8 h but online banking tolerates 4 h
    assert ("A-009", "recovery_objective_gap", "rto_hours") in f
    # infrastructure others depend on is not "missing functions"
    assert ("A-002", "incomplete_record", "functions") not in f
    assert sample["inventory_complete"] is False


def test_xlsx_and_json_inventories_give_the_same_assessment(
    sample: dict[str, Any], tmp_path: Path
) -> None:
    import csv

    with (EX / "ict-assets.csv").open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for r in rows:
        ws.append([c if c else None for c in r])
    xlsx = tmp_path / "assets.xlsx"
    wb.save(xlsx)
    header = rows[0]
    records = [{h: c for h, c in zip(header, r, strict=True) if c} for r in rows[1:]]
    js = tmp_path / "assets.json"
    js.write_text(json.dumps({"assets": records}), encoding="utf-8")
    for path in (xlsx, js):
        res = _run(_sample_inputs(asset_inventory=[str(path)]), tmp_path / path.suffix[1:])
        got = res.outputs["ict_risk_assessment"]
        assert got["summary"] == sample["summary"]
        assert got["risk_register"] == sample["risk_register"]


# ------------------------------------------------------------------ malformed files
def test_malformed_inventory_reports_every_bad_cell_with_file_row_and_column() -> None:
    path = FIX / "assets-malformed.csv"
    with pytest.raises(TableError) as exc:
        read_table(path, Asset, "ICT asset inventory")
    where = {(p.row, p.column) for p in exc.value.problems}
    assert where == {
        (3, "classification"),
        (3, "end_of_support"),
        (4, "criticality"),
        (4, "rto_hours"),
        (4, "internet_exposed"),
    }
    text = str(exc.value)
    assert f"{path}: row 3: end_of_support: expected a date" in text
    assert "(got '31/13/2028')" in text
    assert f"{path}: row 4: internet_exposed: expected yes/no" in text
    assert isinstance(exc.value, DataValidationError)  # -> data_validation_error policy


def test_cross_references_duplicates_and_unknown_ids_are_located(tmp_path: Path) -> None:
    good = tmp_path / "assets.csv"
    lines = (FIX / "assets-malformed.csv").read_text(encoding="utf-8").splitlines()
    keep = [lines[0], lines[1], lines[4], lines[5]]  # rows 2, 5, 6 of the fixture
    keep.insert(2, "A-101,Database,database,DC1,internal,Head of DBA,,critical,4,1,no,,")
    good.write_text("\n".join(keep) + "\n", encoding="utf-8")
    with pytest.raises(TableError) as exc:
        _run(
            {
                "business_functions": [str(FIX / "functions.csv")],
                "asset_inventory": [str(good)],
                "risk_tolerance": 8,
                "as_of": "2026-11-20",
            },
            tmp_path / "out",
        )
    msgs = {(p.row, p.column, p.message) for p in exc.value.problems}
    assert (4, "asset_id", "duplicate id 'A-100' (first in row 2)") in msgs
    assert (5, "functions", "unknown business function 'F-XYZ'") in msgs
    assert (5, "dependencies", "unknown asset 'A-999'") in msgs


def test_unknown_and_missing_columns_are_reported_once_per_file() -> None:
    with pytest.raises(TableError) as exc:
        read_table(FIX / "assets-unknown-column.csv", Asset)
    [p] = exc.value.problems
    assert (p.row, p.column) == (1, "critcality") and "unknown column" in p.message
    with pytest.raises(TableError) as exc2:
        read_table(FIX / "assets-no-id.csv", Asset)
    assert [(p.column, p.message) for p in exc2.value.problems] == [
        ("asset_id", "required column is missing")
    ]


def test_malformed_risk_register_json_records_are_numbered() -> None:
    with pytest.raises(TableError) as exc:
        read_table(FIX / "risks-malformed.json", RiskEntry)
    where = {(p.row, p.column) for p in exc.value.problems}
    assert where == {
        (1, "likelihood"),
        (2, "impact"),
        (3, "treatment"),
        (3, "control_effectiveness"),
    }
    with pytest.raises(TableError) as exc2:
        read_table(FIX / "risks-broken.json", RiskEntry)
    assert "invalid JSON (line 2)" in str(exc2.value)


def test_unsupported_file_type_and_missing_file(tmp_path: Path) -> None:
    txt = tmp_path / "functions.txt"
    txt.write_text((FIX / "functions.csv").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(TableError, match=r"unsupported file type '\.txt'"):
        read_table(txt, Asset)
    with pytest.raises(TableError, match="file not found"):
        read_table(FIX / "nope.csv", Asset)


def test_risk_tolerance_must_be_a_score() -> None:
    with pytest.raises(DataValidationError, match="risk_tolerance"):
        _run(_sample_inputs(risk_tolerance=0), Path("/nonexistent-not-written"))


# ------------------------------------------------------------------ boundaries
FN = [
    Row(
        "f.csv", 2, BusinessFunction(function_id="F-C", name="Payments", critical_or_important=True)
    ),
    Row(
        "f.csv",
        3,
        BusinessFunction(function_id="F-N", name="Marketing", critical_or_important=False),
    ),
]


def _asset(asset_id: str, fn: str = "F-C", **kw: Any) -> Row[Asset]:
    base: dict[str, Any] = {
        "asset_id": asset_id,
        "location": "DC1",
        "classification": "internal",
        "owner": "Owner",
        "functions": [fn],
        "criticality": "high",
        "rto_hours": 2,
        "rpo_hours": 1,
        "internet_exposed": False,
        "last_classification_review": AS_OF,
        "last_vulnerability_scan": AS_OF,
        "last_firewall_review": AS_OF,
        "last_access_review": AS_OF,
    }
    base.update(kw)
    return Row("a.csv", 2, Asset.model_validate(base))


def _kinds(
    assets: list[Row[Asset]], risks: list[Row[RiskEntry]] | None = None, **kw: Any
) -> set[tuple[str, str, str | None]]:
    res = assess(
        FN,
        assets,
        risks or [],
        risk_tolerance=kw.pop("tol", 8.0),
        as_of=kw.pop("as_of", AS_OF),
        **kw,
    )
    return {(f.subject, f.kind, f.column) for f in res.findings}


@pytest.mark.parametrize(
    ("column", "last", "overdue"),
    [
        ("last_vulnerability_scan", date(2026, 11, 13), False),  # exactly 7 days: due today
        ("last_vulnerability_scan", date(2026, 11, 12), True),  # 8 days
        ("last_firewall_review", date(2026, 5, 20), False),  # 6 months: due today
        ("last_firewall_review", date(2026, 5, 19), True),
        ("last_access_review", date(2026, 5, 20), False),  # CIF: 6 months
        ("last_access_review", date(2026, 5, 19), True),
        ("last_classification_review", date(2025, 11, 20), False),  # yearly: due today
        ("last_classification_review", date(2025, 11, 19), True),
        ("last_vulnerability_scan", None, True),  # never done
    ],
)
def test_cif_asset_frequencies_at_the_boundary(
    column: str, last: date | None, overdue: bool
) -> None:
    found = _kinds([_asset("A", **{column: last})])
    assert (("A", "overdue_review", column) in found) is overdue


@pytest.mark.parametrize(
    ("column", "last", "overdue"),
    [
        ("last_access_review", date(2025, 11, 20), False),  # non-CIF: yearly
        ("last_access_review", date(2025, 11, 19), True),
        ("last_access_review", date(2026, 5, 19), False),  # 6 months would be CIF only
        ("last_vulnerability_scan", None, False),  # weekly scans: CIF assets only
        ("last_firewall_review", None, False),  # non-CIF: "regular basis", no fixed period
    ],
)
def test_non_cif_asset_frequencies(column: str, last: date | None, overdue: bool) -> None:
    found = _kinds([_asset("A", fn="F-N", **{column: last})])
    assert (("A", "overdue_review", column) in found) is overdue


def test_six_months_are_calendar_months() -> None:
    assert fq.FIREWALL_REVIEW.due(date(2026, 8, 31)) == date(2027, 2, 28)
    assert fq.FIREWALL_REVIEW.due(date(2027, 8, 31)) == date(2028, 2, 29)
    assert fq.CLASSIFICATION_REVIEW.due(date(2024, 2, 29)) == date(2025, 2, 28)
    assert fq.VULNERABILITY_SCAN.due(date(2026, 12, 29)) == date(2027, 1, 5)


def test_every_frequency_cites_its_source() -> None:
    for f in (*fq.ASSET_FREQUENCIES, *fq.RISK_FREQUENCIES):
        assert f.reference.startswith(("DORA Art.", "RTS 2024/1774 Art."))
    assert {f.label for f in fq.ASSET_FREQUENCIES} == {"weekly", "every 6 months", "yearly"}


def test_end_of_support_boundary_and_legacy_assessment() -> None:
    # support until and including as_of: still supported, but inside the planning horizon
    found = _kinds([_asset("A", end_of_support=AS_OF)])
    assert ("A", "end_of_support_soon", "end_of_support") in found
    assert ("A", "end_of_support", "end_of_support") not in found
    found = _kinds([_asset("A", end_of_support=date(2026, 11, 19))])
    assert ("A", "end_of_support", "end_of_support") in found
    assert ("A", "overdue_review", "last_legacy_assessment") in found  # DORA Art. 8(7)
    found = _kinds(
        [_asset("A", end_of_support=date(2026, 11, 19), last_legacy_assessment=date(2025, 11, 20))]
    )
    assert ("A", "overdue_review", "last_legacy_assessment") not in found
    # microenterprises are exempt from the legacy assessment (Art. 8(7))
    found = _kinds([_asset("A", end_of_support=date(2026, 11, 19))], microenterprise=True)
    assert ("A", "overdue_review", "last_legacy_assessment") not in found
    # planning horizon: 180 days in, 181 days out
    assert ("A", "end_of_support_soon", "end_of_support") in _kinds(
        [_asset("A", end_of_support=date(2027, 5, 19))]
    )
    assert ("A", "end_of_support_soon", "end_of_support") not in _kinds(
        [_asset("A", end_of_support=date(2027, 5, 20))]
    )


def _risk(residual_inputs: tuple[int, int, float], **kw: Any) -> Row[RiskEntry]:
    lik, imp, ce = residual_inputs
    base: dict[str, Any] = {
        "risk_id": "R",
        "title": "t",
        "asset_ids": ["A"],
        "likelihood": lik,
        "impact": imp,
        "control_effectiveness": ce,
        "treatment": "mitigate",
        "treatment_due": date(2027, 1, 1),
        "last_assessed": AS_OF,
    }
    base.update(kw)
    return Row("r.csv", 2, RiskEntry.model_validate(base))


def test_risk_tolerance_is_strictly_higher_than() -> None:
    # 4 x 4 x (1 - 0.5) = 8.0: equal to the tolerance, so within it
    res = assess(FN, [_asset("A")], [_risk((4, 4, 0.5))], risk_tolerance=8.0, as_of=AS_OF)
    assert res.risk_register[0].residual_score == 8.0
    assert res.risk_register[0].above_tolerance is False
    res = assess(FN, [_asset("A")], [_risk((4, 4, 0.45))], risk_tolerance=8.0, as_of=AS_OF)
    assert res.risk_register[0].residual_score == 8.8
    assert res.risk_register[0].status == "mitigation_required"
    assert res.risk_register[0].supports_cif is True


def test_residual_bands() -> None:
    assert [band(x) for x in (15, 14.99, 10, 9.99, 5, 4.99, 1)] == [
        "critical",
        "high",
        "high",
        "medium",
        "medium",
        "low",
        "low",
    ]


def test_acceptance_above_tolerance_needs_approver_and_justification() -> None:
    bad = _risk((5, 5, 0.2), treatment="accept", accepted_by="CRO")
    res = assess(FN, [_asset("A")], [bad], risk_tolerance=8.0, as_of=AS_OF)
    [inv] = [f for f in res.findings if f.kind == "invalid_acceptance"]
    assert inv.column == "acceptance_justification" and inv.severity == "critical"
    assert res.risk_register[0].status == "mitigation_required"
    good = _risk(
        (5, 5, 0.2),
        treatment="accept",
        accepted_by="CRO",
        acceptance_justification="x",
        last_acceptance_review=date(2025, 11, 20),
    )
    res = assess(FN, [_asset("A")], [good], risk_tolerance=8.0, as_of=AS_OF)
    assert res.risk_register[0].status == "accepted_above_tolerance"
    assert not [f for f in res.findings if f.subject == "R"]
    old = _risk(
        (1, 1, 0),
        treatment="accept",
        accepted_by="CRO",
        acceptance_justification="x",
        last_acceptance_review=date(2025, 11, 19),
    )
    res = assess(FN, [_asset("A")], [old], risk_tolerance=8.0, as_of=AS_OF)
    assert [(f.kind, f.column) for f in res.findings] == [
        ("overdue_review", "last_acceptance_review")
    ]


def test_yearly_risk_assessment_boundary() -> None:
    on_time = assess(
        FN,
        [_asset("A")],
        [_risk((1, 1, 0), last_assessed=date(2025, 11, 20))],
        risk_tolerance=8,
        as_of=AS_OF,
    )
    late = assess(
        FN,
        [_asset("A")],
        [_risk((1, 1, 0), last_assessed=date(2025, 11, 19))],
        risk_tolerance=8,
        as_of=AS_OF,
    )
    assert not on_time.findings
    assert [f.reference for f in late.findings] == [fq.RISK_SCENARIO_REVIEW.reference]


def test_dependency_cycles_terminate_with_shortest_paths() -> None:
    assets = [
        Asset(asset_id="A", functions=["F-C"], dependencies=["B"]),
        Asset(asset_id="B", dependencies=["C"]),
        Asset(asset_id="C", dependencies=["A", "B"]),
    ]
    fns = [f.value for f in FN]
    assert map_cif(fns, assets) == {
        "A": {"F-C": ["A"]},
        "B": {"F-C": ["A", "B"]},
        "C": {"F-C": ["A", "B", "C"]},
    }


# ------------------------------------------------------------------ review report
def test_review_report_has_every_art_27_section(sample: dict[str, Any], tmp_path: Path) -> None:
    res = _run(
        {"ict_risk_assessment": sample, "review_context": str(EX / "review-context.yaml")},
        tmp_path,
    )
    rep = res.outputs["rmf_review_report"]
    html = Path(rep["html"]).read_text(encoding="utf-8")
    md = Path(rep["markdown"]).read_text(encoding="utf-8")
    for point in "abcdefghijkl":
        assert f"Art. 27(2)({point})" in html
        assert f"## ({point}) " in md
    assert "Nordhafen Bank AG" in html and "2025-11-21 to 2026-11-20" in html
    assert "R-02" in md and "A-003" in md
    assert "Not yet approved" in html  # no approval date in the context: never invented
    assert {a.kind for a in res.artifacts} == {"html", "markdown"}


def test_review_report_without_context_marks_what_people_must_add(
    sample: dict[str, Any], tmp_path: Path
) -> None:
    hostile = json.loads(json.dumps(sample))
    hostile["assets"][0]["name"] = "<script>alert(1)</script>"
    res = _run({"ict_risk_assessment": hostile}, tmp_path)
    html = Path(res.outputs["rmf_review_report"]["html"]).read_text(encoding="utf-8")
    assert "To be completed by the ICT risk management function" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_review_context_errors_name_the_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "ctx.yaml"
    bad.write_text("entity: X\nperiod_start: someday\nreviewer: me\n", encoding="utf-8")
    with pytest.raises(DataValidationError) as exc:
        load_context(str(bad))
    assert str(bad) in str(exc.value)
    assert "period_start" in str(exc.value) and "reviewer" in str(exc.value)
