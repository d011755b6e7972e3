"""Match a threat's indicators, vulnerabilities and techniques against the ICT assets.

*Indicators.* An IP matches an asset whose identifiers contain it (address or CIDR range);
a domain or URL host matches an asset's DNS name or a sub-domain of it (the threat names
the entity's own infrastructure, e.g. in a phishing kit or a target list). A domain that
contains one of the entity's brand keywords but is none of its names is a *lookalike*: it
targets the entity's clients (Art. 10(a) of CDR 2024/1772: clients).

*Vulnerabilities.* An affected spec ``vendor:product[:version]`` matches an asset product
``vendor:product:version`` when vendor and product are equal (case-insensitive) and the
version matches: missing or ``*`` = any; ``<X`` / ``<=X`` compare dotted versions
numerically; ``7`` or ``7.*`` match ``7`` and ``7.x``; otherwise equal.

*Techniques.* A small table of ATT&CK techniques says which assets each one can reach (e.g.
T1190 exploit public-facing application -> internet-exposed assets); techniques not in the
table are reported, not matched.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from pydantic import BaseModel

from agents.ict_risk.models import Asset
from agents.threat_intel.models import Threat

AssetTest = Callable[[Asset], bool]


def _type(*types: str) -> AssetTest:
    return lambda a: (a.asset_type or "").lower() in types


def _exposed(a: Asset) -> bool:
    return bool(a.internet_exposed)


TECHNIQUES: dict[str, tuple[str, AssetTest]] = {
    "T1190": ("Exploit Public-Facing Application", _exposed),
    "T1133": ("External Remote Services", _exposed),
    "T1110": ("Brute Force", _exposed),
    "T1078": ("Valid Accounts", lambda a: _exposed(a) or _type("identity")(a)),
    "T1558": ("Steal or Forge Kerberos Tickets", _type("identity")),
    "T1003": ("OS Credential Dumping", _type("identity", "server")),
    "T1486": ("Data Encrypted for Impact", _type("server", "database", "storage", "application")),
    "T1490": ("Inhibit System Recovery", _type("storage", "server", "database")),
    "T1498": ("Network Denial of Service", _exposed),
    "T1499": ("Endpoint Denial of Service", _exposed),
    "T1567": ("Exfiltration Over Web Service", _type("database", "storage")),
    "T1195": ("Supply Chain Compromise", _type("saas", "application")),
}


class Match(BaseModel):
    asset_id: str
    kind: str  # "indicator", "lookalike", "vulnerability", "technique"
    detail: str
    weight: float


def _version_tuple(v: str) -> tuple[int | str, ...]:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"[._-]", v) if p)


def version_matches(spec: str, version: str) -> bool:
    spec = spec.strip()
    if spec in ("", "*", "-"):
        return True
    try:
        if spec.startswith("<="):
            return _version_tuple(version) <= _version_tuple(spec[2:])
        if spec.startswith("<"):
            return _version_tuple(version) < _version_tuple(spec[1:])
    except TypeError:  # mixed text and numbers: cannot be ordered
        return False
    base = spec.removesuffix(".*").lower()
    v = version.lower()
    return v == base or v.startswith(base + ".")


def product_matches(affected: str, product: str) -> bool:
    a = affected.lower().split(":")
    p = product.lower().split(":")
    if len(a) < 2 or len(p) < 2 or a[0] != p[0] or a[1] != p[1]:
        return False
    return version_matches(a[2] if len(a) > 2 else "*", p[2] if len(p) > 2 else "")


def _host(value: str, kind: str) -> str:
    if kind == "url":
        return (urlsplit(value if "://" in value else "http://" + value).hostname or "").lower()
    return value.lower().rstrip(".")


def _ip_in(value: str, identifiers: Sequence[str]) -> bool:
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return False
    for ident in identifiers:
        try:
            if ip in ipaddress.ip_network(ident, strict=False):
                return True
        except ValueError:
            continue
    return False


def match_threat(
    threat: Threat, assets: Sequence[Asset], brand_keywords: Sequence[str], min_confidence: int = 0
) -> tuple[list[Match], list[str], list[str]]:
    """(matches, lookalike domains, techniques without a table entry)."""
    matches: list[Match] = []
    lookalikes: list[str] = []
    names = {i.lower().rstrip(".") for a in assets for i in a.network_identifiers}
    for ob in threat.observables:
        if ob.confidence is not None and ob.confidence < min_confidence:
            continue
        if ob.kind in ("ipv4", "ipv6"):
            for a in assets:
                if _ip_in(ob.value, a.network_identifiers):
                    matches.append(
                        Match(
                            asset_id=a.asset_id,
                            kind="indicator",
                            detail=f"{ob.kind} {ob.value} ({ob.indicator})",
                            weight=3,
                        )
                    )
        elif ob.kind in ("domain", "url"):
            host = _host(ob.value, ob.kind)
            hit = False
            for a in assets:
                for ident in a.network_identifiers:
                    i = ident.lower().rstrip(".")
                    if host == i or host.endswith("." + i):
                        matches.append(
                            Match(
                                asset_id=a.asset_id,
                                kind="indicator",
                                detail=f"{ob.kind} {ob.value} ({ob.indicator})",
                                weight=3,
                            )
                        )
                        hit = True
                        break
            if (
                not hit
                and host not in names
                and any(k.lower() in host for k in brand_keywords if k)
            ) and host not in lookalikes:
                lookalikes.append(host)
    for vuln in threat.vulnerabilities:
        for a in assets:
            prods = [
                p for p in a.products if any(product_matches(spec, p) for spec in vuln.affected)
            ]
            if prods:
                w = 2 + (1 if vuln.exploited else 0) + (1 if a.internet_exposed else 0)
                matches.append(
                    Match(
                        asset_id=a.asset_id,
                        kind="vulnerability",
                        detail=f"{vuln.cve} affects {', '.join(prods)}"
                        + (" (exploited in the wild)" if vuln.exploited else ""),
                        weight=w,
                    )
                )
    unknown: list[str] = []
    for tech in threat.techniques:
        entry = TECHNIQUES.get(tech.technique_id) or TECHNIQUES.get(tech.technique_id.split(".")[0])
        if entry is None:
            unknown.append(tech.technique_id)
            continue
        label, test = entry
        for a in assets:
            if test(a):
                matches.append(
                    Match(
                        asset_id=a.asset_id,
                        kind="technique",
                        detail=f"{tech.technique_id} {tech.name or label}",
                        weight=1,
                    )
                )
    return matches, lookalikes, unknown
