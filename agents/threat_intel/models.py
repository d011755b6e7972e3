"""Threats normalised from STIX bundles and CSV feeds, and the watch context.

A *threat* is what the Art. 10 assessment is about: an intrusion set or threat actor (with
its campaigns and malware), or what a feed reports without attribution. It carries the
observables of its indicators, the vulnerabilities it exploits (CVE ids with the affected
products as CPE-like ``vendor:product:version`` specs) and its ATT&CK techniques.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ObservableKind = Literal["ipv4", "ipv6", "domain", "url", "sha256", "sha1", "md5", "email"]


class Observable(BaseModel):
    kind: ObservableKind
    value: str
    indicator: str  # STIX id or CSV row reference
    confidence: int | None = None


class Vulnerability(BaseModel):
    cve: str
    description: str = ""
    affected: list[str] = Field(default_factory=list)  # "vendor:product:version-spec"
    exploited: bool = False
    source: str = ""


class Technique(BaseModel):
    technique_id: str  # e.g. T1190 or T1558.003
    name: str = ""


class Threat(BaseModel):
    threat_id: str
    name: str
    kind: str  # intrusion-set, threat-actor, malware, campaign, feed, unattributed
    sophistication: str | None = None
    resource_level: str | None = None
    motivation: str | None = None
    targets_financial_sector: bool = False
    targets_entity: bool = False
    first_seen: date | None = None
    last_seen: date | None = None
    observables: list[Observable] = Field(default_factory=list)
    vulnerabilities: list[Vulnerability] = Field(default_factory=list)
    techniques: list[Technique] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    description: str = ""


class FunctionExposure(BaseModel):
    """Clients and Member States of a business function (for Art. 9(1) and 9(4))."""

    model_config = ConfigDict(extra="forbid")

    clients: int = Field(0, ge=0)
    member_states: list[str] = Field(default_factory=list)


class EntityRef(BaseModel):
    """The entity as the incident reporter's CyberThreat contract expects it."""

    model_config = ConfigDict(extra="forbid")

    type: str = "credit_institution"
    member_state: str = "DE"
    nis2_entity: bool = False
    microenterprise: bool = False


class WatchContext(BaseModel):
    """What the watch needs beyond the inventory: who we are and who our clients are."""

    model_config = ConfigDict(extra="forbid")

    name: str
    entity: EntityRef = Field(default_factory=EntityRef)
    #: words of the entity's brand: a domain containing one that is not ours is a lookalike
    brand_keywords: list[str] = Field(default_factory=list)
    functions: dict[str, FunctionExposure] = Field(default_factory=dict)
    #: names or ids of threats that already hit the entity, its providers or counterparts
    past_incidents: list[str] = Field(default_factory=list)
    #: indicators below this STIX confidence (0-100) are ignored
    min_confidence: int = Field(0, ge=0, le=100)


def merge_threats(threats: list[Threat]) -> list[Threat]:
    """One threat per actor name across feeds (a STIX bundle and a CSV may both report it).

    Unattributed groups stay per feed. Observables, vulnerabilities and techniques are
    united without duplicates; flags are or-ed; first/last seen widen.
    """
    out: dict[str, Threat] = {}
    for t in threats:
        key = t.threat_id if t.kind == "unattributed" else t.name.strip().lower()
        cur = out.get(key)
        if cur is None:
            out[key] = t.model_copy(deep=True)
            continue
        if cur.kind == "feed" and t.kind != "feed":  # prefer the STIX id and kind
            cur.threat_id, cur.kind = t.threat_id, t.kind
        seen = {(o.kind, o.value) for o in cur.observables}
        cur.observables += [o for o in t.observables if (o.kind, o.value) not in seen]
        cves = {v.cve for v in cur.vulnerabilities}
        cur.vulnerabilities += [v for v in t.vulnerabilities if v.cve not in cves]
        techs = {x.technique_id for x in cur.techniques}
        cur.techniques += [x for x in t.techniques if x.technique_id not in techs]
        cur.targets_financial_sector |= t.targets_financial_sector
        cur.targets_entity |= t.targets_entity
        cur.sophistication = cur.sophistication or t.sophistication
        cur.resource_level = cur.resource_level or t.resource_level
        cur.motivation = cur.motivation or t.motivation
        cur.description = cur.description or t.description
        for f, pick in (("first_seen", min), ("last_seen", max)):
            a, b = getattr(cur, f), getattr(t, f)
            setattr(cur, f, b if a is None else a if b is None else pick(a, b))
        cur.sources += [s for s in t.sources if s not in cur.sources]
    return list(out.values())
