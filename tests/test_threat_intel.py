"""Threat intelligence: STIX/CSV ingestion, matching, ranking and CDR 2024/1772 Art. 10.

The sample feed (examples/threat-intel/) has one significant threat (FIN-Harbour), a
hacktivist group reported by both feeds (merged, not significant: only persistence), a
phishing kit (lookalike domains, not significant) and unattributed CVEs that match nothing.
Small synthetic threats pin every boundary of the Art. 10 rule.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from agents.base import RunContext, TaskExecution
from agents.ict_risk.models import Asset
from agents.ict_risk.tabular import TableError
from agents.incident.classification import assess_threat as incident_assess
from agents.incident.models import CyberThreat
from agents.threat_intel.csv_feed import threats_from_csv
from agents.threat_intel.matching import match_threat, product_matches, version_matches
from agents.threat_intel.models import (
    FunctionExposure,
    Observable,
    Technique,
    Threat,
    Vulnerability,
    WatchContext,
    merge_threats,
)
from agents.threat_intel.significance import assess_threat
from agents.threat_intel.stix import observables_of, threats_from_bundle
from agents.threat_intelligence import ThreatIntelligenceAgent, load_context
from dora.errors import DataValidationError

ROOT = Path(__file__).resolve().parent.parent
ICT = ROOT / "examples" / "ict-risk"
EX = ROOT / "examples" / "threat-intel"
FIX = ROOT / "tests" / "fixtures" / "threat_intel"
AS_OF = date(2026, 11, 20)


def _run(inputs: dict[str, Any], out: Path) -> Any:
    task = TaskExecution(
        task_id="t",
        task_name="t",
        agent="threat_intelligence",
        inputs=inputs,
        context=RunContext(workflow_id="threat-intel-watch", output_dir=out),
    )
    return asyncio.run(ThreatIntelligenceAgent().execute_task(task))


def _inputs(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "business_functions": [str(ICT / "business-functions.csv")],
        "asset_inventory": [str(ICT / "ict-assets.csv")],
        "stix_bundles": [str(EX / "threat-feed-2026-11.json")],
        "indicator_feeds": [str(EX / "indicators.csv")],
        "watch_context": str(EX / "watch-context.yaml"),
        "as_of": AS_OF.isoformat(),
    }
    base.update(over)
    return base


@pytest.fixture(scope="module")
def watch(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return _run(_inputs(), tmp_path_factory.mktemp("ti"))


def _threat(watch: Any, name: str) -> dict[str, Any]:
    return next(t for t in watch.outputs["threat_assessment"]["threats"] if t["name"] == name)


# ------------------------------------------------------------------ sample feeds
def test_fin_harbour_is_the_significant_threat(watch: Any) -> None:
    t = _threat(watch, "FIN-Harbour")
    assert t["rank"] == 1 and t["significant"] is True
    details = {(m["asset_id"], m["kind"], m["detail"].split(" (")[0]) for m in t["matches"]}
    assert ("A-008", "indicator", "domain api.nordhafen-bank.de") in details  # target list
    assert ("A-008", "vulnerability", "CVE-2023-46747 affects f5:big-ip:17.1") in details
    assert ("A-004", "vulnerability", "CVE-2025-24813 affects apache:tomcat:9.0.85") in details
    assert t["lookalike_domains"] == ["nordhafen-bank-secure.com"]
    assert t["unmapped_techniques"] == ["T1566.002"]
    assert [c["met"] for c in t["conditions"]] == [True, True, True]
    assert set(t["affected_cif"]) == {"F-DEP", "F-LEND", "F-ONL", "F-PAY", "F-TRE"}


def test_notification_feeds_the_incident_reporter(watch: Any) -> None:
    [note] = watch.outputs["significant_threats"]
    threat = CyberThreat.model_validate(note)  # the incident reporter's input contract
    verdict = incident_assess(threat)
    assert verdict.significant is True
    assert note["probability"] == {
        "high": True,
        "exploitable_vulnerabilities": True,
        "threat_actor_capability_and_intent": True,
        "persistence_or_past_incidents": True,
        "rationale": note["probability"]["rationale"],
    }
    assert note["potential_criteria"] == {
        "critical_services": True,
        "clients_financial_counterparts_transactions": True,
        "geographical_spread": True,
    }
    assert "203.0.113.45" in {o["value"] for o in note["extra"]["indicators"]}


def test_feeds_reporting_the_same_actor_are_merged(watch: Any) -> None:
    names = [t["name"] for t in watch.outputs["threat_assessment"]["threats"]]
    assert names.count("BalticNoise") == 1
    t = _threat(watch, "BalticNoise")
    assert t["sources"] == ["threat-feed-2026-11.json", "indicators.csv"]
    assert t["significant"] is False
    assert [c["met"] for c in t["conditions"]] == [True, False, True]  # only persistence in (b)
    assert {m["asset_id"] for m in t["matches"]} == {"A-007", "A-008", "A-009", "A-013", "A-014"}


def test_phishing_kit_and_unmatched_cves(watch: Any) -> None:
    kit = _threat(watch, "Phishing kit NH-2611")
    assert kit["lookalike_domains"] == ["nordhafen-online-banking.de"]
    assert kit["matched_assets"] == [] and kit["significant"] is False
    for t in watch.outputs["threat_assessment"]["threats"]:
        assert not any(
            "CVE-2024-3094" in m["detail"] or "CVE-2023-4966" in m["detail"] for m in t["matches"]
        )
    s = watch.outputs["threat_assessment"]["summary"]
    assert (s["threats"], s["significant"], s["indicator_matches"]) == (5, 1, 1)
    assert watch.outputs["threat_assessment"]["no_significant_threats"] is False


def test_watch_report(watch: Any, tmp_path: Path) -> None:
    res = _run({"threat_assessment": watch.outputs["threat_assessment"]}, tmp_path)
    html = Path(res.outputs["threat_report"]["html"]).read_text(encoding="utf-8")
    assert "CDR 2024/1772 Art. 10(b)" in html and "FIN-Harbour" in html
    assert "voluntary notification DORA Art. 19(2)" in html


# ------------------------------------------------------------------ matching
@pytest.mark.parametrize(
    ("spec", "version", "ok"),
    [
        ("<9.0.99", "9.0.98", True),
        ("<9.0.99", "9.0.99", False),
        ("<=9.0.99", "9.0.99", True),
        ("17.1", "17.1", True),
        ("17.1", "17.1.0.3", True),
        ("17.1", "17.10", False),
        ("7.*", "7.9", True),
        ("*", "anything", True),
        ("", "1", True),
        ("19c", "19c", True),
        ("<9.0", "9.0.1", False),
    ],
)
def test_version_specs(spec: str, version: str, ok: bool) -> None:
    assert version_matches(spec, version) is ok


def test_product_match_needs_vendor_and_product() -> None:
    assert product_matches("f5:big-ip:17.1", "F5:BIG-IP:17.1.0")
    assert not product_matches("f5:big-ip:17.1", "f5:big-iq:17.1")
    assert not product_matches("apache:tomcat:<9.0.99", "apache:httpd:2.4")
    assert product_matches("microsoft:windows_server", "microsoft:windows_server:2012_r2")


ASSETS = [
    Asset(
        asset_id="WEB",
        functions=["F"],
        internet_exposed=True,
        asset_type="application",
        network_identifiers=["banking.example-bank.eu", "198.51.100.0/28"],
        products=["nginx:nginx:1.24"],
    ),
    Asset(
        asset_id="AD",
        functions=[],
        internet_exposed=False,
        asset_type="identity",
        network_identifiers=["10.0.0.10"],
    ),
]


def _t(**kw: Any) -> Threat:
    return Threat(threat_id="t", name="T", kind="intrusion-set", **kw)


def test_indicator_matching_ip_ranges_subdomains_and_confidence() -> None:
    obs = [
        Observable(kind="ipv4", value="198.51.100.14", indicator="i1", confidence=90),
        Observable(
            kind="ipv4", value="198.51.100.16", indicator="i2", confidence=90
        ),  # outside /28
        Observable(
            kind="url",
            value="https://login.banking.example-bank.eu/x",
            indicator="i3",
            confidence=90,
        ),
        Observable(kind="domain", value="example-bank-login.eu", indicator="i4", confidence=90),
        Observable(kind="ipv4", value="10.0.0.10", indicator="i5", confidence=40),  # below 50
    ]
    matches, lookalikes, _ = match_threat(
        _t(observables=obs), ASSETS, ["example-bank"], min_confidence=50
    )
    assert sorted((m.asset_id, m.detail.split(" (")[0]) for m in matches) == [
        ("WEB", "ipv4 198.51.100.14"),
        ("WEB", "url https://login.banking.example-bank.eu/x"),
    ]
    assert lookalikes == ["example-bank-login.eu"]


def test_technique_table_reaches_the_right_assets() -> None:
    techs = [
        Technique(technique_id="T1558.003"),
        Technique(technique_id="T1190"),
        Technique(technique_id="T9999"),
    ]
    matches, _, unknown = match_threat(_t(techniques=techs), ASSETS, [])
    assert sorted((m.asset_id, m.detail.split(" ")[0]) for m in matches) == [
        ("AD", "T1558.003"),
        ("WEB", "T1190"),
    ]
    assert unknown == ["T9999"]


def test_stix_pattern_observables() -> None:
    obs, skipped = observables_of(
        "[file:hashes.'SHA-256' = 'aa'] OR [ipv4-addr:value = '1.2.3.4'] AND [process:pid = '7']",
        "i",
        50,
    )
    assert [(o.kind, o.value) for o in obs] == [("sha256", "aa"), ("ipv4", "1.2.3.4")]
    assert skipped == 1


# ------------------------------------------------------------------ Art. 10 boundaries
CIF_MAP = {"WEB": {"F": ["WEB"]}, "AD": {}}


def _ctx(
    clients: int = 0, states: list[str] | None = None, past: list[str] | None = None
) -> WatchContext:
    return WatchContext(
        name="Example Bank",
        functions={"F": FunctionExposure(clients=clients, member_states=states or ["DE"])},
        past_incidents=past or [],
    )


def _strong(days: int = 30, **kw: Any) -> Threat:
    base: dict[str, Any] = {
        "vulnerabilities": [
            Vulnerability(cve="CVE-2025-0001", affected=["nginx:nginx:1.24"], exploited=True)
        ],
        "sophistication": "expert",
        "targets_financial_sector": True,
        "first_seen": AS_OF - timedelta(days=days),
        "last_seen": AS_OF,
    }
    base.update(kw)
    return _t(**base)


def test_all_three_elements_give_high_probability() -> None:
    r = assess_threat(_strong(), ASSETS, CIF_MAP, _ctx(), AS_OF)
    assert r.significant and r.notification is not None


@pytest.mark.parametrize(("days", "persistent"), [(30, True), (29, False)])
def test_persistence_boundary(days: int, persistent: bool) -> None:
    # without a vulnerability only capability/intent and persistence remain: both are needed
    r = assess_threat(_strong(days, vulnerabilities=[]), ASSETS, CIF_MAP, _ctx(), AS_OF)
    assert r.conditions[1].met is persistent


def test_past_incidents_count_as_persistence() -> None:
    r = assess_threat(_strong(0, vulnerabilities=[]), ASSETS, CIF_MAP, _ctx(past=["T"]), AS_OF)
    assert r.conditions[1].met is True


def test_one_element_is_not_high_probability() -> None:
    weak = _strong(0, sophistication="minimal")
    r = assess_threat(weak, ASSETS, CIF_MAP, _ctx(), AS_OF)
    assert r.conditions[1].met is False and r.significant is False


@pytest.mark.parametrize(("clients", "met"), [(100_000, False), (100_001, True)])
def test_clients_threshold_is_strictly_more_than_100000(clients: int, met: bool) -> None:
    # a non-CIF asset: (c) can only come from 9(1) or 9(4)
    ad_only = _strong(vulnerabilities=[], techniques=[Technique(technique_id="T1558.003")])
    assets = [Asset(asset_id="AD", functions=["F"], asset_type="identity")]
    r = assess_threat(ad_only, assets, {"AD": {}}, _ctx(clients=clients), AS_OF)
    assert r.conditions[2].met is met


@pytest.mark.parametrize(("states", "met"), [(["DE"], False), (["DE", "AT"], True)])
def test_two_or_more_member_states(states: list[str], met: bool) -> None:
    ad_only = _strong(vulnerabilities=[], techniques=[Technique(technique_id="T1558.003")])
    assets = [Asset(asset_id="AD", functions=["F"], asset_type="identity")]
    r = assess_threat(ad_only, assets, {"AD": {}}, _ctx(states=states), AS_OF)
    assert r.conditions[2].met is met


def test_no_condition_alone_is_enough() -> None:
    # (b) and (c) hold through a CIF asset but nothing reaches the entity: no (a) without matches
    r = assess_threat(
        _strong(vulnerabilities=[], targets_financial_sector=False),
        ASSETS,
        CIF_MAP,
        _ctx(clients=10**6),
        AS_OF,
    )
    assert [c.met for c in r.conditions] == [False, False, False] and not r.significant
    r = assess_threat(_strong(), [ASSETS[1]], CIF_MAP, _ctx(), AS_OF)  # only the non-CIF AD
    assert r.conditions[0].met is True  # targets the sector
    assert r.conditions[2].met is False and not r.significant


def test_merge_keeps_unattributed_groups_apart() -> None:
    a = Threat(threat_id="u1", name="Unattributed", kind="unattributed")
    b = Threat(threat_id="u2", name="Unattributed", kind="unattributed")
    c = Threat(
        threat_id="feed--x",
        name="Actor",
        kind="feed",
        observables=[Observable(kind="ipv4", value="1.1.1.1", indicator="r")],
    )
    d = Threat(
        threat_id="intrusion-set--y",
        name="actor",
        kind="intrusion-set",
        observables=[Observable(kind="ipv4", value="1.1.1.1", indicator="s")],
    )
    merged = merge_threats([a, b, c, d])
    assert len(merged) == 3
    actor = next(t for t in merged if t.name == "Actor")
    assert actor.threat_id == "intrusion-set--y" and len(actor.observables) == 1


# ------------------------------------------------------------------ malformed input
def test_malformed_bundle_lists_every_bad_object() -> None:
    with pytest.raises(TableError) as exc:
        threats_from_bundle(FIX / "bundle-malformed.json")
    cols = [p.column or "" for p in exc.value.problems]
    assert len(cols) == 3
    assert cols[0].startswith("objects[0] (indicator--0f6e2f7c")
    assert "pattern" in exc.value.problems[0].message
    assert (
        cols[1].startswith("objects[1] (vulnerability--")
        and "name" in exc.value.problems[1].message
    )
    assert cols[2].startswith("objects[2]") and "only STIX 2.1" in exc.value.problems[2].message
    assert isinstance(exc.value, DataValidationError)


def test_not_a_bundle_and_broken_json(tmp_path: Path) -> None:
    with pytest.raises(TableError, match="not a STIX bundle"):
        threats_from_bundle(FIX / "not-a-bundle.json")
    bad = tmp_path / "b.json"
    bad.write_text('{"type": "bundle",\n "objects": [}', encoding="utf-8")
    with pytest.raises(TableError, match=r"invalid JSON \(line 2\)"):
        threats_from_bundle(bad)


def test_malformed_indicator_rows_are_located() -> None:
    with pytest.raises(TableError) as exc:
        threats_from_csv(FIX / "indicators-malformed.csv")
    where = {(p.row, p.column) for p in exc.value.problems}
    assert where == {
        (2, "value"),
        (3, "value"),
        (4, "value"),
        (5, "type"),
        (6, "value"),
        (6, "confidence"),
    }
    text = str(exc.value)
    assert "row 2: value: not an IP address or network (got '203.0.113.300')" in text
    assert "row 3: value: not a sha256 hash (64 hex digits)" in text
    assert "row 4: value: not a CVE id" in text


def test_context_and_input_errors(tmp_path: Path) -> None:
    bad = tmp_path / "ctx.yaml"
    bad.write_text("name: X\nfunctions: {F-PAY: {clients: -1}}\nfoo: 1\n", encoding="utf-8")
    with pytest.raises(DataValidationError) as exc:
        load_context(str(bad))
    assert "functions.F-PAY.clients" in str(exc.value) and "foo" in str(exc.value)
    with pytest.raises(DataValidationError, match="at least one STIX bundle"):
        _run(_inputs(stix_bundles=[], indicator_feeds=[]), tmp_path)


def test_ip_version_must_match_the_row_type(tmp_path: Path) -> None:
    feed = tmp_path / "f.csv"
    feed.write_text("type,value\nipv4,2001:db8::1\nipv6,2001:db8::1\n", encoding="utf-8")
    with pytest.raises(TableError) as exc:
        threats_from_csv(feed)
    assert [(p.row, p.column, p.message.split(" (")[0]) for p in exc.value.problems] == [
        (2, "value", "not an ipv4 address")
    ]
