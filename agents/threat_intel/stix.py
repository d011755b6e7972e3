"""Read STIX 2.1 bundles with the ``stix2`` library into :class:`Threat` objects.

Each object is parsed on its own (``stix2.parse``, custom properties allowed) so that one
bad object is reported with the file, its position in ``objects`` and its id, and every bad
object of a bundle is reported at once. Indicator patterns are validated by ``stix2``;
equality comparisons on ``ipv4-addr``, ``ipv6-addr``, ``domain-name``, ``url``,
``email-addr`` values and ``file`` hashes become observables (other comparisons are kept
as unsupported and counted).

Grouping: intrusion sets and threat actors are the threats. Campaigns attributed to them,
threat actors behind an intrusion set, and malware they use are merged into them, with the
indicators that indicate any of those and the attack patterns and vulnerabilities they
use or target. A relationship ``targets`` an identity in the ``financial-services`` sector
(or named like the entity) marks the threat as targeting the sector (or the entity).
Objects reachable from no threat form one ``unattributed`` threat per bundle.

Vulnerabilities: the CVE id is the name or a ``cve`` external reference; affected products
come from the custom property ``x_affected_products`` (CPE-like ``vendor:product:version``
specs); ``x_known_exploited: true`` or a label containing ``exploited`` marks active
exploitation.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import stix2
from stix2.exceptions import STIXError

from agents.ict_risk.tabular import RowError, TableError
from agents.threat_intel.models import Observable, ObservableKind, Technique, Threat, Vulnerability

ROOT_TYPES = ("intrusion-set", "threat-actor")
_CMP = re.compile(
    r"(?P<obj>ipv4-addr|ipv6-addr|domain-name|url|email-addr|file)"
    r":(?P<path>value|hashes\.'?(?P<hash>SHA-256|SHA-1|MD5)'?)\s*=\s*'(?P<val>(?:[^'\\]|\\.)*)'"
)
_KIND: dict[str, ObservableKind] = {
    "ipv4-addr": "ipv4",
    "ipv6-addr": "ipv6",
    "domain-name": "domain",
    "url": "url",
    "email-addr": "email",
}
_HASH: dict[str, ObservableKind] = {"SHA-256": "sha256", "SHA-1": "sha1", "MD5": "md5"}
CVE_RE = re.compile(r"^CVE-\d{4}-\d{4,}$")


def observables_of(
    pattern: str, indicator: str, confidence: int | None
) -> tuple[list[Observable], int]:
    """Equality observables of a (valid) STIX pattern, and how many comparisons were skipped."""
    found = []
    for m in _CMP.finditer(pattern):
        kind = _HASH[m["hash"]] if m["obj"] == "file" and m["hash"] else _KIND.get(m["obj"])
        if kind is None:
            continue
        found.append(
            Observable(
                kind=kind,
                value=m["val"].replace("\\'", "'"),
                indicator=indicator,
                confidence=confidence,
            )
        )
    total = pattern.count("=") - pattern.count("!=")
    return found, max(0, total - len(found))


def _day(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()


def _ext(obj: Any, source: str) -> str | None:
    for ref in obj.get("external_references", []) or []:
        if str(ref.get("source_name", "")).lower() == source and ref.get("external_id"):
            return str(ref["external_id"])
    return None


def load_bundle(path: str | Path) -> dict[str, Any]:
    """Parsed STIX objects by id; raises TableError listing every bad object."""
    name = str(path)
    p = Path(path)
    if not p.is_file():
        raise TableError("STIX bundle", [RowError(name, None, None, "file not found")])
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise TableError(
            "STIX bundle",
            [RowError(name, exc.lineno, None, f"invalid JSON (line {exc.lineno}): {exc.msg}")],
        ) from None
    if (
        not isinstance(raw, dict)
        or raw.get("type") != "bundle"
        or not isinstance(raw.get("objects"), list)
    ):
        raise TableError(
            "STIX bundle",
            [
                RowError(
                    name,
                    None,
                    None,
                    "not a STIX bundle (expected type 'bundle' with an 'objects' list)",
                )
            ],
        )
    objects: dict[str, Any] = {}
    problems: list[RowError] = []
    for i, obj in enumerate(raw["objects"]):
        where = f"objects[{i}]" + (
            f" ({obj.get('id')})" if isinstance(obj, dict) and obj.get("id") else ""
        )
        if not isinstance(obj, dict):
            problems.append(RowError(name, None, where, "not a JSON object"))
            continue
        if obj.get("spec_version", "2.1") != "2.1":
            problems.append(
                RowError(
                    name,
                    None,
                    where,
                    f"spec_version {obj.get('spec_version')!r}; only STIX 2.1 is supported",
                )
            )
            continue
        try:
            parsed = stix2.parse(obj, allow_custom=True, version="2.1")
        except (STIXError, ValueError) as exc:
            problems.append(RowError(name, None, where, str(exc)))
            continue
        objects[parsed["id"]] = parsed
    if problems:
        raise TableError(f"STIX bundle {name}", problems)
    return objects


def threats_from_bundle(
    path: str | Path, entity_name: str = ""
) -> tuple[list[Threat], dict[str, int]]:
    """Threats of one bundle (grouping rules in the module docstring) and parse statistics."""
    objs = load_bundle(path)
    source = Path(path).name
    by_type: dict[str, list[Any]] = defaultdict(list)
    for o in objs.values():
        by_type[o["type"]].append(o)
    out_rel: dict[str, list[tuple[str, str]]] = defaultdict(list)
    in_rel: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for r in by_type["relationship"]:
        out_rel[r["source_ref"]].append((r["relationship_type"], r["target_ref"]))
        in_rel[r["target_ref"]].append((r["relationship_type"], r["source_ref"]))

    roots = [o for o in by_type["intrusion-set"]]
    behind = {t for o in roots for rt, t in out_rel[o["id"]] if rt == "attributed-to"}
    roots += [o for o in by_type["threat-actor"] if o["id"] not in behind]
    stats = {"objects": len(objs), "unsupported_comparisons": 0}
    claimed: set[str] = set()
    threats: list[Threat] = []
    for root in sorted(roots, key=lambda o: o["id"]):
        members = _members(root["id"], objs, out_rel, in_rel)
        claimed |= members
        threats.append(_threat(root, members, objs, out_rel, in_rel, source, entity_name, stats))
    rest = {
        oid
        for oid, o in objs.items()
        if oid not in claimed
        and o["type"] in ("indicator", "vulnerability", "attack-pattern", "malware", "campaign")
    }
    if rest:
        threats.append(_threat(None, rest, objs, out_rel, in_rel, source, entity_name, stats))
    return threats, stats


def _members(
    root: str,
    objs: dict[str, Any],
    out_rel: dict[str, list[tuple[str, str]]],
    in_rel: dict[str, list[tuple[str, str]]],
) -> set[str]:
    members = {root}
    # threat actors behind an intrusion set, campaigns attributed to it, malware it uses
    frontier = [root]
    while frontier:
        cur = frontier.pop()
        nxt: list[str] = []
        nxt += [t for rt, t in out_rel[cur] if rt == "attributed-to"]
        nxt += [s for rt, s in in_rel[cur] if rt == "attributed-to"]
        nxt += [
            t for rt, t in out_rel[cur] if rt == "uses" and objs.get(t, {}).get("type") == "malware"
        ]
        for n in nxt:
            if n in objs and n not in members:
                members.add(n)
                frontier.append(n)
    linked: set[str] = set()
    for m in members:
        linked |= {t for rt, t in out_rel[m] if rt in ("uses", "targets") and t in objs}
        linked |= {s for rt, s in in_rel[m] if rt == "indicates" and s in objs}
    return members | linked


def _threat(
    root: Any,
    members: Iterable[str],
    objs: dict[str, Any],
    out_rel: dict[str, list[tuple[str, str]]],
    in_rel: dict[str, list[tuple[str, str]]],
    source: str,
    entity_name: str,
    stats: dict[str, int],
) -> Threat:
    mem = sorted(members)
    t = Threat(
        threat_id=root["id"] if root is not None else f"unattributed--{source}",
        name=root["name"] if root is not None else f"Unattributed reporting in {source}",
        kind=root["type"] if root is not None else "unattributed",
        sources=[source],
        description=str(root.get("description", "")) if root is not None else "",
    )
    seen_obs: set[tuple[str, str]] = set()
    for oid in mem:
        o = objs[oid]
        typ = o["type"]
        if typ == "threat-actor":
            t.sophistication = t.sophistication or o.get("sophistication")
            t.resource_level = t.resource_level or o.get("resource_level")
            t.motivation = t.motivation or o.get("primary_motivation")
        if typ == "intrusion-set":
            t.resource_level = t.resource_level or o.get("resource_level")
            t.motivation = t.motivation or o.get("primary_motivation")
        if typ in ("intrusion-set", "campaign", "threat-actor"):
            for key, pick in (("first_seen", min), ("last_seen", max)):
                d = _day(o.get(key))
                if d is not None:
                    cur = getattr(t, key)
                    setattr(t, key, d if cur is None else pick(cur, d))
            for rt, target in out_rel[oid]:
                tgt = objs.get(target)
                if rt == "targets" and tgt is not None and tgt["type"] == "identity":
                    sectors = [s.lower() for s in tgt.get("sectors", []) or []]
                    if "financial-services" in sectors:
                        t.targets_financial_sector = True
                    if entity_name and entity_name.lower() in str(tgt.get("name", "")).lower():
                        t.targets_entity = True
        if typ == "indicator":
            conf = o.get("confidence")
            obs, skipped = observables_of(o["pattern"], oid, conf)
            stats["unsupported_comparisons"] += skipped
            for ob in obs:
                if (ob.kind, ob.value) not in seen_obs:
                    seen_obs.add((ob.kind, ob.value))
                    t.observables.append(ob)
            vu = _day(o.get("valid_until"))
            vf = _day(o.get("valid_from"))
            if vf and (t.first_seen is None or vf < t.first_seen):
                t.first_seen = vf
            if vu and root is None:
                t.last_seen = vu if t.last_seen is None else max(t.last_seen, vu)
        if typ == "vulnerability":
            cve = o["name"] if CVE_RE.match(str(o["name"])) else _ext(o, "cve")
            if cve:
                labels = [str(x).lower() for x in o.get("labels", []) or []]
                t.vulnerabilities.append(
                    Vulnerability(
                        cve=cve,
                        description=str(o.get("description", "")),
                        affected=[str(x) for x in o.get("x_affected_products", []) or []],
                        exploited=bool(o.get("x_known_exploited"))
                        or any("exploited" in x for x in labels),
                        source=source,
                    )
                )
        if typ == "attack-pattern":
            tid = _ext(o, "mitre-attack")
            if tid:
                t.techniques.append(Technique(technique_id=tid, name=str(o.get("name", ""))))
    return t
