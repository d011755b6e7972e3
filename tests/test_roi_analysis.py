"""Concentration (share, HHI), exit plans and the Art. 30 checklist, against hand computations."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.roi.analysis import analyse, hhi, hhi_band
from agents.roi.validate import validate_directory
from tests.fixtures.roi.roi_helpers import SAMPLE, copy_sample, set_cell

KRN, ELB, ATL = "529900KRNBNK6S3W8T31", "3912005ELBCLD7R4Z821", "5493004ATLHYP9X2Q693"
BPP, SEC, NNT, DFA = (
    "254900BLTPAY8H1J3K95",
    "724500SECWTC4E6F8G56",
    "529900NNTTEL2B5C7D85",
    "213800DFANLT5L7M9N76",
)
PEN = "549300PACEDG7S9T1U52"


def _analysis(directory: Path, **kw: float):  # type: ignore[no-untyped-def]
    register, _report = validate_directory(directory)
    return analyse(register, **kw)


def test_hhi_and_bands() -> None:
    assert hhi([1.0]) == 10_000
    assert hhi([0.5, 0.5]) == pytest.approx(5_000)
    assert hhi([0.6, 0.3, 0.1]) == pytest.approx(3_600 + 900 + 100)
    assert hhi_band(1_499.9) == "unconcentrated"
    assert hhi_band(1_500) == "moderate"
    assert hhi_band(2_499.9) == "moderate"
    assert hhi_band(2_500) == "high"


def test_sample_shares_and_hhi_match_the_hand_computation() -> None:
    # annual expense (B_02.01.0050) of arrangements supporting critical functions, by provider:
    # Kernbank 2.1m, Elbcloud 1.2m, Atlantic 0.64m + 0.36m, Baltic 0.9m, SecuWatch 0.42m,
    # Nordnetz 0.28m, Data-Feed 0.15m = 6.05m (each arrangement once, however many functions)
    expense = {KRN: 2_100, ELB: 1_200, ATL: 1_000, BPP: 900, SEC: 420, NNT: 280, DFA: 150}
    total = sum(expense.values())
    assert total == 6_050
    hand_hhi = sum((v / total * 100) ** 2 for v in expense.values())  # = 2168.5
    assert hand_hhi == pytest.approx(2_168.5, abs=0.05)

    c = _analysis(SAMPLE).concentration
    assert c.hhi == pytest.approx(hand_hhi, abs=0.05)
    assert c.hhi_band == "moderate" and c.high is False
    shares = {p.provider: p.share for p in c.providers}
    assert shares == pytest.approx({k: v / total for k, v in expense.items()}, abs=1e-6)
    assert [p.provider for p in c.providers] == sorted(expense, key=lambda k: -expense[k])
    assert c.top_provider == KRN and c.top_share == pytest.approx(2_100 / 6_050, abs=1e-6)
    krn = c.providers[0]
    assert krn.functions == ["F01-CORE", "F03-LEND", "F07-LEAS"] and krn.arrangements == 1
    assert krn.annual_expense_eur == 2_100_000


def test_reliance_substitutability_chains_and_third_countries() -> None:
    c = _analysis(SAMPLE).concentration
    assert {p.provider for p in c.shared_providers} == {KRN, ELB, ATL, NNT}
    assert c.not_substitutable == sorted([KRN, ELB])  # not / highly complex (B_07.01.0050)
    assert c.max_chain_depth == 3
    deepest = c.chains[0]
    assert deepest["arrangement"] == "NHB-ICT-2021-007" and deepest["depth"] == 3
    assert "Pacific Edge Networks" in str(deepest["chain"])
    # US and GB direct providers, SG in the chain (rank 3)
    assert c.third_country_providers == sorted([ATL, DFA, PEN])
    assert c.third_country_share == pytest.approx((1_000 + 150) / 6_050, abs=1e-5)


def test_fallback_to_service_counts_with_several_currencies(tmp_path: Path) -> None:
    directory = copy_sample(tmp_path)
    set_cell(directory, "B_02.01", 12, "0040", "USD")  # intra-group arrangement in USD
    c = _analysis(directory).concentration
    assert c.basis.startswith("number of ICT services")
    # services supporting critical functions: Kernbank 4, Atlantic 3, Elbcloud 2, Nordnetz 2,
    # SecuWatch 1, Baltic 1, Data-Feed 1 = 14
    counts = [4, 3, 2, 2, 1, 1, 1]
    assert c.hhi == pytest.approx(sum((n / 14 * 100) ** 2 for n in counts), abs=0.05)


def test_one_dominant_provider_is_high_concentration() -> None:
    register, _ = validate_directory(SAMPLE)
    assert analyse(register, top_share_limit=0.3).concentration.high is True
    assert analyse(register, hhi_high=2_000).concentration.hhi_band == "high"


def test_missing_exit_plans_for_critical_functions() -> None:
    result = _analysis(SAMPLE)
    found = {
        (e.function_id, e.arrangement, e.provider, e.service_type, e.exit_plan)
        for e in result.exit_plans
    }
    assert found == {
        ("F04-DIGI", "NHB-ICT-2020-004-01", ATL, "S19", "no"),
        ("F02-PAY", "NHB-ICT-2023-003", BPP, "S14", "no"),
    }
    assert result.critical_without_exit_plan == 2
    assert all("Art. 28(8)" in e.message for e in result.exit_plans)


def test_exit_plan_added_and_assessment_missing(tmp_path: Path) -> None:
    directory = copy_sample(tmp_path)
    set_cell(directory, "B_07.01", 3, "0080", "Yes")  # Atlantic SaaS now has an exit plan
    set_cell(directory, "B_07.01", 7, "0010", "NHB-ICT-2020-004-02")  # Nordnetz row points away
    result = _analysis(directory)
    states = {(e.function_id, e.provider, e.exit_plan) for e in result.exit_plans}
    assert ("F04-DIGI", ATL, "no") not in states
    assert ("F02-PAY", NNT, "not assessed") in states and (
        "F04-DIGI",
        NNT,
        "not assessed",
    ) in states
    assert result.critical_without_exit_plan == 2  # F02-PAY (Baltic, Nordnetz), F04-DIGI (Nordnetz)


def test_art_30_checklist() -> None:
    checks = {c.arrangement: c for c in _analysis(SAMPLE).contract_provisions}
    assert "NHB-ICT-2020-004" not in checks  # master agreement, checked via its call-offs
    # subsequent arrangements inherit the master agreement's clauses (no TLPT, no audit right)
    for ref in ("NHB-ICT-2020-004-01", "NHB-ICT-2020-004-02"):
        assert checks[ref].critical and checks[ref].missing == ["30(3)(d)", "30(3)(e)"]
    assert checks["NHB-ICT-2023-003"].missing == ["30(2)(i)", "30(3)(f)"]
    # intra-group arrangement supports no critical function: Art. 30(3) is not required
    assert not checks["NHB-IG-2020-001"].critical and checks["NHB-IG-2020-001"].missing == []
    assert len(checks["NHB-IG-2020-001"].present) == 9
    consultant = checks["NHB-ICT-2024-002"]
    assert consultant.not_recorded and consultant.missing == [f"30(2)({c})" for c in "abcdefghi"]
    assert (
        checks["NHB-ICT-2021-007"].missing == [] and len(checks["NHB-ICT-2021-007"].present) == 15
    )


def test_analysis_of_a_broken_register_still_runs() -> None:
    from tests.fixtures.roi.roi_helpers import FIXTURES

    result = _analysis(FIXTURES / "planted")
    assert result.concentration.providers and result.critical_without_exit_plan >= 1
