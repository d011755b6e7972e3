"""The requirements catalog is data; these tests are its schema and fact checks."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from agents.catalog import (
    DEFAULT_CATALOG_PATH,
    Catalog,
    load_catalog,
    parse_catalog,
)
from agents.contracts import EntityProfile
from dora.errors import ConfigurationError

#: the normalised forms, spelled out independently of agents/catalog.py
STRICT_REFERENCE = re.compile(
    r"^(?:DORA|RTS 2024/1774) Art\. [1-9][0-9]*(?:\([1-9][0-9]*\))?"
    r"(?:\([a-z]{1,2}\)(?:\((?:i|ii|iii|iv|v|vi|vii|viii|ix|x)\))?)?$"
)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def test_catalog_size_and_version(catalog: Catalog) -> None:
    assert len(catalog.requirements) >= 150
    assert re.fullmatch(r"\d{4}\.\d{1,2}\.\d+", catalog.version)


def test_ids_unique_and_stable_form(catalog: Catalog) -> None:
    ids = [r.id for r in catalog.requirements]
    dupes = [i for i, n in Counter(ids).items() if n > 1]
    assert not dupes
    for req in catalog.requirements:
        prefix = "DORA-" if req.reference.startswith("DORA ") else "RTS1774-"
        assert req.id.startswith(prefix), req.id
        # the id encodes the article of the reference
        article = re.search(r"Art\. (\d+)", req.reference)
        assert article is not None
        assert req.id.split("-")[1] == article.group(1), (req.id, req.reference)


def test_references_are_normalised(catalog: Catalog) -> None:
    bad = [r.reference for r in catalog.requirements if not STRICT_REFERENCE.match(r.reference)]
    assert not bad
    # and the strict regex really is strict
    for wrong in (
        "DORA Art 5(2)(a)",
        "DORA Article 5",
        "DORA Art. 5 (2)",
        "RTS 1774 Art. 3",
        "DORA Art. 5(2)(A)",
    ):
        assert not STRICT_REFERENCE.match(wrong)


def test_sources_present_and_match_act(catalog: Catalog) -> None:
    for req in catalog.requirements:
        assert req.source.strip()
        if req.reference.startswith("DORA "):
            assert "32022R2554" in req.source and "2022/2554" in req.source
        else:
            assert "32024R1774" in req.source and "2024/1774" in req.source


def test_scope_covers_articles(catalog: Catalog) -> None:
    dora_articles = {
        int(m.group(1))
        for r in catalog.requirements
        if (m := re.match(r"DORA Art\. (\d+)", r.reference))
    }
    rts_articles = {
        int(m.group(1))
        for r in catalog.requirements
        if (m := re.match(r"RTS 2024/1774 Art\. (\d+)", r.reference))
    }
    # DORA Arts 5-19 (except 15, a mandate), 23-30 (except 20-22: mandates/authority duties), 45
    assert set(range(5, 20)) - {15} <= dora_articles
    assert set(range(23, 31)) <= dora_articles
    assert 45 in dora_articles
    assert max(dora_articles) == 45
    # RTS Title II Arts 2-27 (5: criticality criteria folded into 4) and Title III Arts 28-41
    assert set(range(2, 28)) - {5} <= rts_articles
    assert set(range(28, 42)) <= rts_articles


def test_chapters_match_articles(catalog: Catalog) -> None:
    def expected(req_ref: str) -> str:
        n = int(re.search(r"Art\. (\d+)", req_ref).group(1))  # type: ignore[union-attr]
        if req_ref.startswith("RTS"):
            return "RTS-II" if n <= 27 else "RTS-III"
        if n <= 16:
            return "II"
        if n <= 23:
            return "III"
        if n <= 27:
            return "IV"
        if n <= 44:
            return "V"
        return "VI"

    for req in catalog.requirements:
        assert req.chapter == expected(req.reference), req.id


def test_applicability_consistent(catalog: Catalog) -> None:
    for req in catalog.requirements:
        app = req.applicability
        n = int(re.search(r"Art\. (\d+)", req.reference).group(1))  # type: ignore[union-attr]
        if req.chapter == "RTS-III" or (req.act == "DORA" and n == 16):
            assert app.only_simplified_regime, req.id
        else:
            assert not app.only_simplified_regime, req.id
        # DORA Arts 5-15 and RTS Title II do not bind Art. 16(1) entities
        if req.chapter == "RTS-II" or (req.act == "DORA" and 5 <= n <= 15):
            assert app.excludes_simplified_regime, req.id


def test_microenterprise_and_simplified_carve_outs(catalog: Catalog) -> None:
    """dora-facts.md 1.2: the listed carve-outs must be encoded."""
    by_id = catalog.by_id()
    for rid in (
        "DORA-5-3",
        "DORA-6-4",
        "DORA-6-6",
        "DORA-8-3",
        "DORA-8-7",
        "DORA-11-7",
        "DORA-24-1",
        "DORA-24-6",
        "DORA-26-1",
        "DORA-28-2",
    ):
        assert by_id[rid].applicability.excludes_microenterprise, rid
    # TLPT and the third-party strategy are outside the Art. 16 regime
    assert by_id["DORA-26-1"].applicability.excludes_simplified_regime
    assert by_id["DORA-28-2"].applicability.excludes_simplified_regime
    assert by_id["DORA-26-1"].applicability.condition


def test_frequencies_match_facts(catalog: Catalog) -> None:
    """Frequencies from dora-facts.md sections 1 and 5."""
    by_id = catalog.by_id()
    expected = {
        "DORA-6-5": "yearly",
        "DORA-8-1": "yearly",
        "DORA-8-2": "yearly",
        "DORA-8-7": "yearly",
        "DORA-11-6-a": "yearly",
        "DORA-13-5": "yearly",
        "DORA-24-6": "yearly",
        "DORA-26-1": "3-yearly",
        "DORA-28-3-s3": "yearly",
        "RTS1774-3-d": "yearly",
        "RTS1774-10-2-b": "weekly",
        "RTS1774-13-h": "6-monthly",
        "RTS1774-13-i": "yearly",
        "RTS1774-21-e-iv": "6-monthly",
        "RTS1774-28-2-e": "yearly",
        "RTS1774-40-1": "yearly",
    }
    for rid, freq in expected.items():
        assert by_id[rid].frequency == freq, rid


def test_weights_and_fields(catalog: Catalog) -> None:
    for req in catalog.requirements:
        assert 1 <= req.severity_weight <= 5
        assert req.evidence and all(e.strip() for e in req.evidence)
        assert req.search and all(s.strip() for s in req.search)
        assert req.title.strip() and req.obligation.strip()


def test_every_requirement_names_its_key_elements(catalog: Catalog) -> None:
    """The automatic pick of a key element is a fallback for custom catalogs only: the
    shipped catalog names one or two key elements per requirement, each with alternative
    phrasings short enough to appear in one clause."""
    for req in catalog.requirements:
        assert req.key_evidence is not None and 1 <= len(req.key_evidence) <= 2, req.id
        for key in req.key_evidence:
            alternatives = [a.strip() for a in key.split("|")]
            assert all(alternatives), req.id
            assert all(len(a.split()) <= 5 for a in alternatives), (req.id, key)


def test_key_evidence_names_evidence_items(catalog: Catalog) -> None:
    """Key elements are optional; where given they are evidence items, so a typo fails."""
    keyed = [r for r in catalog.requirements if r.key_evidence is not None]
    assert keyed, "the shipped catalog names key elements for ambiguous requirements"
    for req in keyed:
        assert set(req.key_evidence or ()) <= set(req.evidence), req.id
    by_id = catalog.by_id()
    assert by_id["RTS1774-2-2-b"].key_evidence == ("date",)
    data = yaml.safe_load(DEFAULT_CATALOG_PATH.read_text(encoding="utf-8"))
    good = {k: v for k, v in data["requirements"][0].items() if k != "key_evidence"}
    parsed = parse_catalog(
        {"version": "2026.1.1", "requirements": [{**good, "key_evidence": [good["evidence"][0]]}]}
    )
    assert parsed.requirements[0].key_evidence == (good["evidence"][0],)
    assert (
        parse_catalog({"version": "2026.1.1", "requirements": [good]}).requirements[0].key_evidence
        is None
    )


def test_profile_applicability() -> None:
    catalog = load_catalog()
    full = catalog.applicable(EntityProfile())
    micro = catalog.applicable(EntityProfile(microenterprise=True))
    simplified = catalog.applicable(
        EntityProfile(entity_type="investment_firm", simplified_regime=True)
    )
    assert len(micro) < len(full)
    assert all(r.chapter != "RTS-III" for r in full)
    assert any(r.chapter == "RTS-III" for r in simplified)
    assert all(r.chapter != "RTS-II" for r in simplified)
    assert not any(r.id.startswith("DORA-16") for r in full)
    csd = catalog.applicable(EntityProfile(entity_type="central_securities_depository"))
    assert "DORA-12-5" in {r.id for r in csd}
    assert "DORA-12-5" not in {r.id for r in full}


def test_invalid_catalogs_fail_loudly(tmp_path: Path) -> None:
    data = yaml.safe_load(DEFAULT_CATALOG_PATH.read_text(encoding="utf-8"))
    good = {k: v for k, v in data["requirements"][0].items() if k != "key_evidence"}
    cases = [
        {**good, "reference": "DORA Article 5(1)"},
        {**good, "severity_weight": 6},
        {**good, "unexpected": 1},
        {**good, "applicability": ["excludes_everything"]},
        {**good, "chapter": "RTS-III"},
        {**good, "key_evidence": ["not one of the evidence items"]},
    ]
    for bad in cases:
        with pytest.raises(ConfigurationError):
            parse_catalog({"version": "2026.1.1", "requirements": [bad]})
    with pytest.raises(ConfigurationError, match="duplicate"):
        parse_catalog({"version": "2026.1.1", "requirements": [good, good]})
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: [", encoding="utf-8")
    with pytest.raises(ConfigurationError):
        load_catalog(broken)
