"""Resilience tester: programme scope and calendar, findings, TLPT decision and plan.

Thresholds of RTS 2025/1190 Art. 2(2) are checked at the boundary (strictly "exceeds", in
each of the two preceding years); DORA frequencies (Art. 24(6), 11(6), 26(1)) too.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from agents.base import RunContext, TaskExecution
from agents.ict_risk.models import Asset, BusinessFunction
from agents.ict_risk.tabular import Row, TableError, read_table
from agents.resilience.models import PastTlpt, TestRecord, TlptProfile, YearFigures
from agents.resilience.programme import build_programme, planned_types
from agents.resilience.tlpt import decide, external_testers_required
from agents.resilience_tester import ResilienceTesterAgent, load_profile
from dora.errors import DataValidationError

ROOT = Path(__file__).resolve().parent.parent
ICT = ROOT / "examples" / "ict-risk"
EX = ROOT / "examples" / "resilience"
FIX = ROOT / "tests" / "fixtures" / "resilience"
AS_OF = date(2026, 11, 20)
BN = 1_000_000_000


def _run(inputs: dict[str, Any], out: Path) -> Any:
    task = TaskExecution(
        task_id="t",
        task_name="t",
        agent="resilience_tester",
        inputs=inputs,
        context=RunContext(workflow_id="resilience-testing-programme", output_dir=out),
    )
    return asyncio.run(ResilienceTesterAgent().execute_task(task))


def _inputs(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "business_functions": [str(ICT / "business-functions.csv")],
        "asset_inventory": [str(ICT / "ict-assets.csv")],
        "test_history": [str(EX / "test-history.csv")],
        "test_findings": [str(EX / "test-findings.csv")],
        "tlpt_profile": str(EX / "tlpt-profile.yaml"),
        "as_of": AS_OF.isoformat(),
        "programme_year": 2027,
    }
    base.update(over)
    return base


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return dict(_run(_inputs(), tmp_path_factory.mktemp("res")).outputs["testing_programme"])


# ------------------------------------------------------------------ sample bank
def test_sample_scope_is_every_asset_supporting_a_critical_function(sample: dict[str, Any]) -> None:
    systems = {s["asset_id"]: s for s in sample["systems"]}
    assert sample["summary"]["systems_in_scope"] == 12
    assert systems["A-015"]["in_scope"] and systems["A-015"]["cadence"] == "at least yearly"
    assert systems["A-015"]["tests"] == ["vulnerability_assessment", "network_security_assessment"]
    assert systems["A-007"]["tests"] == ["vulnerability_assessment", "penetration_test"]
    assert systems["A-012"]["status"] == "risk_based"
    assert systems["A-012"]["cadence"] == "risk-based, no statutory frequency"
    # treasury system last tested 2025-09-19: more than a year before 2026-11-20
    assert (systems["A-011"]["status"], systems["A-011"]["due"]) == ("overdue", "2026-09-19")
    assert sample["cif_tested_within_year"] is False


def test_sample_calendar_dates_tests_when_due_and_catches_up(sample: dict[str, Any]) -> None:
    cal = [(c["date"], c["kind"], c["subject"], c["catch_up"]) for c in sample["calendar"]]
    assert ("2027-01-01", "vulnerability_assessment", "A-011", True) in cal
    assert ("2027-03-13", "vulnerability_assessment", "A-001", False) in cal
    # penetration test of online banking: a year after the last one (2026-05-22)
    assert ("2027-05-22", "penetration_test", "A-007", False) in cal
    assert ("2027-09-20", "bcp_test", "entity", False) in cal  # DORA Art. 11(6)(a)
    assert all(c[0].startswith("2027-") for c in cal)
    assert not any(c[2] in ("A-012", "A-013", "A-014", "A-016") for c in cal)  # risk-based
    assert [c["date"] for c in sample["calendar"]] == sorted(c["date"] for c in sample["calendar"])


def test_sample_findings_tracking(sample: dict[str, Any]) -> None:
    st = {f["finding_id"]: f["status"] for f in sample["findings"]}
    assert st == {
        "FND-001": "closed",
        "FND-002": "overdue",
        "FND-003": "open",
        "FND-004": "closed_not_validated",
        "FND-005": "open",
        "FND-006": "closed",
        "FND-007": "open",
    }
    s = sample["summary"]
    assert (s["open_findings"], s["overdue_findings"], s["overdue_critical_or_high_findings"]) == (
        4,
        1,
        1,
    )
    assert (s["findings_without_due_date"], s["closed_not_validated"]) == (1, 1)
    assert sample["findings_by_severity"]["critical"] == {
        "open": 1,
        "overdue": 1,
        "closed": 0,
        "closed_not_validated": 0,
    }
    assert sample["findings"][0]["finding_id"] == "FND-002"  # overdue critical first


def test_sample_bank_is_not_under_mandatory_tlpt(sample: dict[str, Any]) -> None:
    t = sample["tlpt"]
    assert t["required"] is False and t["phases"] == []
    assert "neither a G-SII nor an O-SII" in t["reasons"][0]


def test_programme_report_sections(sample: dict[str, Any], tmp_path: Path) -> None:
    res = _run({"testing_programme": sample}, tmp_path)
    html = Path(res.outputs["programme_report"]["html"]).read_text(encoding="utf-8")
    md = Path(res.outputs["programme_report"]["markdown"]).read_text(encoding="utf-8")
    for ref in ("DORA Art. 24(6)", "DORA Art. 24(5)", "DORA Art. 11(6)(a)", "RTS 2025/1190"):
        assert ref in html
    assert "## Test calendar 2027" in md and "FND-002" in md
    assert "Nordhafen Bank AG" in html


# ------------------------------------------------------------------ frequencies
FN = [Row("f", 2, BusinessFunction(function_id="F", name="Payments", critical_or_important=True))]
CIF_ASSET = [Row("a", 2, Asset(asset_id="A", functions=["F"], asset_type="application"))]
PROFILE = TlptProfile(name="X", entity_type="credit_institution")


def _prog(tests: list[TestRecord], as_of: date = AS_OF) -> Any:
    return build_programme(
        FN,
        CIF_ASSET,
        [Row("t", i + 2, t) for i, t in enumerate(tests)],
        [],
        PROFILE,
        as_of=as_of,
        programme_year=2027,
    )


def _test(kind: str, end: date, assets: list[str] | None = None) -> TestRecord:
    return TestRecord(
        test_id=f"T-{kind}-{end}",
        test_type=kind,
        asset_ids=["A"] if assets is None else assets,  # type: ignore[arg-type]
        start_date=end - timedelta(days=3),
        end_date=end,
        tester_type="internal",
    )


@pytest.mark.parametrize(
    ("end", "status"),
    [(date(2025, 11, 20), "compliant"), (date(2025, 11, 19), "overdue")],
)
def test_yearly_test_of_cif_systems_boundary(end: date, status: str) -> None:
    p = _prog([_test("vulnerability_assessment", end)])
    assert p.systems[0].status == status
    assert p.cif_tested_within_year is (status == "compliant")


def test_never_tested_and_bcp_boundary() -> None:
    p = _prog([])
    assert p.systems[0].status == "never_tested" and p.summary.bcp_test_overdue is True
    assert _prog([_test("bcp_test", date(2025, 11, 20), [])]).summary.bcp_test_overdue is False
    assert _prog([_test("bcp_test", date(2025, 11, 19), [])]).summary.bcp_test_overdue is True
    # a BCP test is not an Art. 25 test of the system
    assert _prog([_test("bcp_test", date(2026, 11, 1), ["A"])]).systems[0].status == "never_tested"


def test_planned_types_rule() -> None:
    web = Asset(asset_id="W", internet_exposed=True, asset_type="application")
    net = Asset(asset_id="N", internet_exposed=False, asset_type="network")
    assert planned_types(web, cif=True) == ["vulnerability_assessment", "penetration_test"]
    assert planned_types(net, cif=True) == [
        "vulnerability_assessment",
        "network_security_assessment",
    ]
    assert planned_types(web, cif=False) == ["vulnerability_assessment"]


# ------------------------------------------------------------------ TLPT decision
def _p(**kw: Any) -> TlptProfile:
    return TlptProfile.model_validate({"name": "X", **kw})


@pytest.mark.parametrize(
    ("profile", "required"),
    [
        (dict(entity_type="credit_institution", osii=True), True),
        (dict(entity_type="credit_institution", gsii=True), True),
        (dict(entity_type="credit_institution", part_of_gsii_or_osii=True), True),
        (dict(entity_type="credit_institution"), False),
        (dict(entity_type="credit_institution", osii=True, microenterprise=True), False),
        (dict(entity_type="credit_institution", osii=True, simplified_regime=True), False),
        (
            dict(
                entity_type="credit_institution", osii=True, authority_assessment_not_justified=True
            ),
            False,
        ),
        (dict(entity_type="credit_institution", identified_by_tlpt_authority=True), True),
        (dict(entity_type="central_securities_depository"), True),
        (dict(entity_type="central_counterparty"), True),
        (dict(entity_type="investment_firm"), False),
        # payment institutions: > EUR 150 bn in EACH of the 2 preceding years
        (
            dict(
                entity_type="payment_institution",
                payment_transactions_eur={"previous_year": 150 * BN, "year_before": 200 * BN},
            ),
            False,
        ),
        (
            dict(
                entity_type="payment_institution",
                payment_transactions_eur={
                    "previous_year": 150 * BN + 1,
                    "year_before": 150 * BN + 1,
                },
            ),
            True,
        ),
        (
            dict(
                entity_type="payment_institution",
                payment_transactions_eur={"previous_year": 200 * BN, "year_before": 149 * BN},
            ),
            False,
        ),
        # e-money: payment transactions or > EUR 40 bn outstanding
        (
            dict(
                entity_type="electronic_money_institution",
                emoney_outstanding_eur={"previous_year": 40 * BN, "year_before": 41 * BN},
            ),
            False,
        ),
        (
            dict(
                entity_type="electronic_money_institution",
                emoney_outstanding_eur={"previous_year": 40 * BN + 1, "year_before": 41 * BN},
            ),
            True,
        ),
        (
            dict(
                entity_type="electronic_money_institution",
                payment_transactions_eur={"previous_year": 151 * BN, "year_before": 151 * BN},
            ),
            True,
        ),
        # trading venues: electronic system and > 5 % EU share in each year, or national leader
        (
            dict(
                entity_type="trading_venue",
                electronic_trading_system=True,
                eu_turnover_share_pct={"previous_year": 5.0, "year_before": 6.0},
            ),
            False,
        ),
        (
            dict(
                entity_type="trading_venue",
                electronic_trading_system=True,
                eu_turnover_share_pct={"previous_year": 5.01, "year_before": 6.0},
            ),
            True,
        ),
        (
            dict(
                entity_type="trading_venue",
                electronic_trading_system=True,
                national_turnover_leader_both_years=True,
            ),
            True,
        ),
        (
            dict(
                entity_type="trading_venue",
                electronic_trading_system=False,
                national_turnover_leader_both_years=True,
            ),
            False,
        ),
    ],
)
def test_mandatory_tlpt_criteria(profile: dict[str, Any], required: bool) -> None:
    assert decide(_p(**profile), AS_OF).required is required


@pytest.mark.parametrize(
    ("gwp", "tp", "assets", "life", "required"),
    [
        (3.1 * BN, 11 * BN, 0.0, False, True),  # non-life: subset on GWP and TP, then GWP > 3 bn
        (3.0 * BN, 30 * BN, 9.0, False, False),  # in subset but no "any of" criterion exceeded
        (2 * BN, 30.1 * BN, 0.0, False, True),  # TP > 30 bn
        (1.5 * BN, 40 * BN, 20.0, False, False),  # GWP not > 1.5 bn: not in subset
        (3.1 * BN, 11 * BN, 3.5, True, False),  # life: assets must exceed 3.5 %
        (2 * BN, 11 * BN, 10.01, True, True),  # life in subset, assets > 10 %
        (2 * BN, 11 * BN, 10.0, True, False),
    ],
)
def test_insurance_subset_and_any_criterion(
    gwp: float, tp: float, assets: float, life: bool, required: bool
) -> None:
    p = _p(
        entity_type="insurance_undertaking",
        gross_written_premium_eur=gwp,
        technical_provisions_eur=tp,
        total_assets_share_pct=assets,
        life_or_composite=life,
    )
    assert decide(p, AS_OF).required is required


def test_external_testers_every_third_test() -> None:
    def past(*kinds: str) -> list[PastTlpt]:
        return [
            PastTlpt(code_name=f"T{i}", red_team_end=date(2018 + 3 * i, 6, 30), tester_type=k)
            for i, k in enumerate(kinds)
        ]  # type: ignore[arg-type]

    assert external_testers_required(
        _p(entity_type="credit_institution", past_tlpts=past("internal", "internal"))
    )[0]
    assert not external_testers_required(
        _p(entity_type="credit_institution", past_tlpts=past("internal", "external"))
    )[0]
    assert not external_testers_required(
        _p(entity_type="credit_institution", past_tlpts=past("external", "internal"))
    )[0]
    assert not external_testers_required(
        _p(entity_type="credit_institution", past_tlpts=past("internal"))
    )[0]
    # order by date, not by list position
    mixed = [
        *past("internal", "internal"),
        PastTlpt(code_name="old", red_team_end=date(2010, 1, 1), tester_type="external"),
    ]
    assert external_testers_required(_p(entity_type="credit_institution", past_tlpts=mixed))[0]
    sig = _p(entity_type="credit_institution", significant_credit_institution=True)
    ok, why = external_testers_required(sig)
    assert ok and "external testers only" in why[0]


def test_tlpt_phase_time_limits_from_the_notification() -> None:
    profile = load_profile(str(FIX / "osii-profile.yaml"))
    d = decide(profile, AS_OF, red_team_weeks=8)  # asked for 8 weeks: the RTS floor is 12
    assert d.required and d.external_testers_required
    assert d.next_due == date(2027, 5, 31)  # 3 years after HARBOUR's red-team phase
    ph = {p["milestone"].split(" (")[0]: date.fromisoformat(p["date"]) for p in d.phases}
    assert ph["TLPT authority notification"] == date(2027, 1, 15)
    assert ph["Initiation information"] == date(2027, 4, 15)  # 3 months
    assert ph["Scope specification approved by the management body"] == date(
        2027, 7, 15
    )  # 6 months
    start = ph["Red team test plan approved"]
    end = next(
        date.fromisoformat(p["date"])
        for p in d.phases
        if p["milestone"].startswith("Active red team")
    )
    assert end - start == timedelta(weeks=12)
    assert ph["Red team test report"] - end == timedelta(weeks=4)
    assert ph["Blue team test report, replay and purple teaming"] - end == timedelta(weeks=10)
    assert all(p["reference"] for p in d.phases)
    refs = [p["reference"] for p in d.phases]
    assert any(r.startswith("RTS 2025/1190 Art. 12(7)") for r in refs)  # summary report
    assert any(r.startswith("RTS 2025/1190 Art. 13(1)") for r in refs)  # remediation plan


def test_assumed_notification_ends_testing_before_the_due_date() -> None:
    p = _p(
        entity_type="central_counterparty",
        past_tlpts=[{"code_name": "A", "red_team_end": "2025-06-30", "tester_type": "external"}],
    )
    d = decide(p, date(2026, 1, 10))
    assert d.next_due == date(2028, 6, 30)
    assert "(assumed)" in d.phases[0]["milestone"]
    end = next(
        date.fromisoformat(x["date"])
        for x in d.phases
        if x["milestone"].startswith("Active red team")
    )
    assert end <= d.next_due


# ------------------------------------------------------------------ malformed input
def test_malformed_test_history_is_located() -> None:
    with pytest.raises(TableError) as exc:
        read_table(FIX / "history-malformed.csv", TestRecord)
    assert {(p.row, p.column) for p in exc.value.problems} == {
        (2, "test_type"),
        (3, "start_date"),
        (3, "tester_type"),
        (4, "start_date"),
    }


def test_cross_references_of_tests_and_findings(tmp_path: Path) -> None:
    with pytest.raises(TableError) as exc:
        _run(_inputs(test_history=[str(FIX / "history-bad-refs.csv")], test_findings=[]), tmp_path)
    got = {(p.row, p.column, p.message) for p in exc.value.problems}
    assert (2, "asset_ids", "unknown asset 'A-404'") in got
    assert (3, "end_date", "ends before it starts") in got
    assert (4, "test_id", "duplicate id 'T-1' (first in row 2)") in got
    with pytest.raises(TableError) as exc2:
        _run(_inputs(test_findings=[str(FIX / "findings-bad-refs.csv")]), tmp_path)
    where = {(p.row, p.column) for p in exc2.value.problems}
    assert where == {(3, "severity"), (3, "validated")}  # field errors first, per row
    good = tmp_path / "f.csv"
    good.write_text(
        "finding_id,test_id,asset_id,title,severity,identified,due,closed,owner,validated\n"
        "F-1,T-9,A-001,Unknown test,high,2026-03-13,2026-06-30,,CISO,\n"
        "F-2,T-2026-03,A-001,Closed early,high,2026-03-13,2026-06-30,2026-03-01,CISO,yes\n",
        encoding="utf-8",
    )
    with pytest.raises(TableError) as exc3:
        _run(_inputs(test_findings=[str(good)]), tmp_path)
    assert {(p.row, p.column) for p in exc3.value.problems} == {(2, "test_id"), (3, "closed")}


def test_profile_errors_name_file_and_fields() -> None:
    with pytest.raises(DataValidationError) as exc:
        load_profile(str(FIX / "profile-bad.yaml"))
    text = str(exc.value)
    assert "profile-bad.yaml" in text
    assert (
        "entity_type" in text and "osii" in text and "payment_transactions_eur.year_before" in text
    )


def test_year_figures_are_strict() -> None:
    assert not YearFigures(previous_year=5, year_before=6).both_exceed(5)
    assert YearFigures(previous_year=5.000001, year_before=6).both_exceed(5)
