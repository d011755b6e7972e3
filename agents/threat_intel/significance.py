"""Rank threats by relevance and decide significance under Art. 10 of CDR 2024/1772.

*Relevance* (ranking only, no legal meaning): the sum over matches of match weight x asset
weight, where an asset supporting a critical or important function (CIF) weighs 3 and any
other 1; match weights: indicator on the entity's infrastructure 3, vulnerability 2 (+1 if
exploited in the wild, +1 if the asset is internet-exposed), technique 1. Plus 5 per
lookalike domain, 2 if the threat targets the financial sector, 3 if it targets the entity.

*Significant cyber threat* (Art. 10; all three conditions must hold):

(a) it could affect the entity's CIF (a match on an asset supporting one), other financial
    entities (it targets the financial sector) or clients (lookalike domains);
(b) high probability of materialising, judged on (i) exploitable vulnerabilities (a
    matched CVE that is exploited in the wild or sits on an internet-exposed asset), (ii)
    the actor's capability and intent (capability: sophistication advanced/expert/
    innovator/strategic or resource level organization/government; intent: it targets the
    sector or the entity, or names the entity's infrastructure or brand), (iii) persistence
    or past incidents (active for at least 30 days, or listed in the context's past
    incidents). This engine reads "high" as at least two of the three, and records each
    element so the judgement can be reviewed and overridden;
(c) if it materialised it could meet the critical-services criterion (Art. 6: a CIF asset
    is matched), the Art. 9(1) threshold (clients of the affected functions, from the
    context, more than 100 000) or the Art. 9(4) threshold (affected functions serve two or
    more Member States).

Notifying a significant cyber threat is voluntary (DORA Art. 19(2)); the output carries the
data in the shape of the incident reporter's ``CyberThreat`` input.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from pydantic import BaseModel, Field

from agents.ict_risk.models import Asset
from agents.threat_intel.matching import Match, match_threat
from agents.threat_intel.models import Threat, WatchContext

CAPABLE_SOPHISTICATION = {"advanced", "expert", "innovator", "strategic"}
CAPABLE_RESOURCES = {"organization", "government"}
PERSISTENCE_DAYS = 30
CLIENTS_THRESHOLD = 100_000  # CDR 2024/1772 Art. 9(1): more than 100 000 clients
MEMBER_STATES_THRESHOLD = 2  # Art. 9(4): two or more Member States


class Condition(BaseModel):
    article: str
    met: bool
    evidence: list[str] = Field(default_factory=list)


class ThreatResult(BaseModel):
    rank: int = 0
    threat_id: str
    name: str
    kind: str
    relevance: float
    matched_assets: list[str]
    cif_assets: list[str]
    affected_functions: list[str]
    affected_cif: list[str]
    matches: list[Match]
    lookalike_domains: list[str]
    unmapped_techniques: list[str]
    conditions: list[Condition]
    significant: bool
    explanation: str
    sources: list[str]
    notification: dict[str, Any] | None = None


class ThreatWatch(BaseModel):
    as_of: date
    entity: str
    summary: dict[str, Any]
    #: fact published to conditions
    no_significant_threats: bool
    threats: list[ThreatResult]
    sources: list[dict[str, Any]] = Field(default_factory=list)


def assess_threat(
    threat: Threat,
    assets: Sequence[Asset],
    cif_map: dict[str, dict[str, list[str]]],
    ctx: WatchContext,
    as_of: date,
) -> ThreatResult:
    matches, lookalikes, unmapped = match_threat(
        threat, assets, ctx.brand_keywords, ctx.min_confidence
    )
    by_id = {a.asset_id: a for a in assets}
    matched = sorted({m.asset_id for m in matches})
    cif_assets = [a for a in matched if cif_map.get(a)]
    funcs: set[str] = set()
    for a in matched:
        funcs |= set(by_id[a].functions) | set(cif_map.get(a, {}))
    affected_cif = sorted({f for a in cif_assets for f in cif_map[a]})
    relevance = sum(m.weight * (3 if cif_map.get(m.asset_id) else 1) for m in matches)
    relevance += (
        5 * len(lookalikes)
        + (2 if threat.targets_financial_sector else 0)
        + (3 if threat.targets_entity else 0)
    )

    # (a)
    ev_a = []
    if cif_assets:
        ev_a.append(
            f"matches assets supporting critical or important functions: {', '.join(cif_assets)} ({', '.join(affected_cif)})"
        )
    if threat.targets_financial_sector:
        ev_a.append("targets the financial sector (other financial entities)")
    if lookalikes:
        ev_a.append(f"lookalike domains aimed at the entity's clients: {', '.join(lookalikes)}")
    cond_a = Condition(article="CDR 2024/1772 Art. 10(a)", met=bool(ev_a), evidence=ev_a)

    # (b)
    exploitable = [
        m.detail
        for m in matches
        if m.kind == "vulnerability"
        and ("exploited" in m.detail or by_id[m.asset_id].internet_exposed)
    ]
    capable = (threat.sophistication or "").lower() in CAPABLE_SOPHISTICATION or (
        threat.resource_level or ""
    ).lower() in CAPABLE_RESOURCES
    intent = (
        threat.targets_financial_sector
        or threat.targets_entity
        or bool(lookalikes)
        or any(m.kind == "indicator" for m in matches)
    )
    span = (
        (threat.last_seen - threat.first_seen).days if threat.first_seen and threat.last_seen else 0
    )
    past = any(
        p.lower() in (threat.name.lower(), threat.threat_id.lower()) for p in ctx.past_incidents
    )
    persistent = span >= PERSISTENCE_DAYS or past
    elements = {
        "exploitable_vulnerabilities": bool(exploitable),
        "threat_actor_capability_and_intent": capable and intent,
        "persistence_or_past_incidents": persistent,
    }
    ev_b = [
        f"(i) exploitable vulnerabilities: {'; '.join(exploitable) if exploitable else 'none matched'}",
        f"(ii) capability {'yes' if capable else 'no'} (sophistication {threat.sophistication or '-'}, resources {threat.resource_level or '-'}), intent {'yes' if intent else 'no'}",
        f"(iii) persistence: active {span} days" + ("; past incidents recorded" if past else ""),
    ]
    high = sum(elements.values()) >= 2
    cond_b = Condition(article="CDR 2024/1772 Art. 10(b)", met=high, evidence=ev_b)

    # (c)
    clients = sum(ctx.functions[f].clients for f in funcs if f in ctx.functions)
    states = sorted(
        {s for f in funcs if f in ctx.functions for s in ctx.functions[f].member_states}
    )
    crit_services = bool(cif_assets)
    c91 = clients > CLIENTS_THRESHOLD
    c94 = len(states) >= MEMBER_STATES_THRESHOLD
    ev_c = []
    if crit_services:
        ev_c.append(
            "critical services criterion (Art. 6): assets supporting critical or important functions"
        )
    if c91:
        ev_c.append(f"Art. 9(1): about {clients:,} clients of the affected functions (> 100 000)")
    if c94:
        ev_c.append(
            f"Art. 9(4): affected functions serve {len(states)} Member States ({', '.join(states)})"
        )
    cond_c = Condition(
        article="CDR 2024/1772 Art. 10(c)", met=crit_services or c91 or c94, evidence=ev_c
    )

    conds = [cond_a, cond_b, cond_c]
    significant = all(c.met for c in conds)
    failed = [c.article.split(" ")[-1] for c in conds if not c.met]
    explanation = (
        "significant cyber threat: Art. 10(a), (b) and (c) all met; notification is voluntary (DORA Art. 19(2))"
        if significant
        else f"not significant: {', '.join(failed)} not met"
    )
    result = ThreatResult(
        threat_id=threat.threat_id,
        name=threat.name,
        kind=threat.kind,
        relevance=round(relevance, 1),
        matched_assets=matched,
        cif_assets=cif_assets,
        affected_functions=sorted(funcs),
        affected_cif=affected_cif,
        matches=matches,
        lookalike_domains=lookalikes,
        unmapped_techniques=unmapped,
        conditions=conds,
        significant=significant,
        explanation=explanation,
        sources=threat.sources,
    )
    if significant:
        result.notification = _notification(
            threat, result, ctx, as_of, elements, ev_b, crit_services, c91, c94
        )
    return result


def _notification(
    threat: Threat,
    r: ThreatResult,
    ctx: WatchContext,
    as_of: date,
    elements: dict[str, bool],
    ev_b: list[str],
    crit_services: bool,
    c91: bool,
    c94: bool,
) -> dict[str, Any]:
    """Data for the voluntary notification, shaped as the incident reporter's CyberThreat."""
    desc = (
        f"{threat.name} ({threat.kind}). Matched assets: {', '.join(r.matched_assets) or 'none'}; "
        f"affected critical or important functions: {', '.join(r.affected_cif) or 'none'}. "
        + " ".join(m.detail + "." for m in r.matches if m.kind != "technique")
    ).strip()
    return {
        "threat_id": threat.threat_id,
        "entity": ctx.entity.model_dump(),
        "detected_at": datetime.combine(as_of, time(0, 0), tzinfo=UTC).isoformat(),
        "description": desc[:4000],
        "could_affect": {
            "critical_or_important_functions": bool(r.cif_assets),
            "other_financial_entities": threat.targets_financial_sector,
            "third_party_providers": False,
            "clients_or_financial_counterparts": bool(r.lookalike_domains),
        },
        "probability": {"high": True, **elements, "rationale": " ".join(ev_b)},
        "potential_criteria": {
            "critical_services": crit_services,
            "clients_financial_counterparts_transactions": c91,
            "geographical_spread": c94,
        },
        "extra": {
            "indicators": [o.model_dump() for o in threat.observables],
            "vulnerabilities": [v.cve for v in threat.vulnerabilities],
            "techniques": [t.technique_id for t in threat.techniques],
            "lookalike_domains": r.lookalike_domains,
            "affected_assets": r.matched_assets,
            "sources": threat.sources,
        },
    }


def rank(results: list[ThreatResult]) -> list[ThreatResult]:
    ordered = sorted(results, key=lambda r: (not r.significant, -r.relevance, r.name))
    for i, r in enumerate(ordered, start=1):
        r.rank = i
    return ordered
