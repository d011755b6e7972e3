"""Write threat-feed-2026-11.json: a small, realistic STIX 2.1 bundle for the sample bank.

Fictional actors (FIN-Harbour / "Harbour Spider", BalticNoise) with real ATT&CK techniques
and real CVEs (CVE-2023-46747 F5 BIG-IP, CVE-2025-24813 Apache Tomcat, CVE-2024-3094 xz);
IP addresses are from the documentation ranges (RFC 5737). Ids are UUIDv4 from a seeded
generator so the file is reproducible: ``python examples/threat-intel/make_bundle.py``.
"""

from __future__ import annotations

import random
import uuid
from pathlib import Path

import stix2

RNG = random.Random(2026)
T0 = "2026-11-18T06:00:00.000Z"


def sid(kind: str) -> str:
    return f"{kind}--{uuid.UUID(int=RNG.getrandbits(128), version=4)}"


def attack(tid: str, name: str) -> stix2.AttackPattern:
    return stix2.AttackPattern(
        id=sid("attack-pattern"),
        created=T0,
        modified=T0,
        name=name,
        external_references=[
            {
                "source_name": "mitre-attack",
                "external_id": tid,
                "url": f"https://attack.mitre.org/techniques/{tid.replace('.', '/')}/",
            }
        ],
    )


def rel(src: object, kind: str, dst: object) -> stix2.Relationship:
    return stix2.Relationship(
        id=sid("relationship"),
        created=T0,
        modified=T0,
        source_ref=src,
        relationship_type=kind,
        target_ref=dst,
    )


def main() -> None:
    cert = stix2.Identity(
        id=sid("identity"),
        created=T0,
        modified=T0,
        name="Finance Sector CERT (fictional)",
        identity_class="organization",
        sectors=["financial-services"],
    )
    sector = stix2.Identity(
        id=sid("identity"),
        created=T0,
        modified=T0,
        name="Banks in the European Union",
        identity_class="class",
        sectors=["financial-services"],
    )
    actor = stix2.ThreatActor(
        id=sid("threat-actor"),
        created=T0,
        modified=T0,
        name="Harbour Spider",
        threat_actor_types=["crime-syndicate"],
        sophistication="expert",
        resource_level="organization",
        primary_motivation="personal-gain",
    )
    iset = stix2.IntrusionSet(
        id=sid("intrusion-set"),
        created=T0,
        modified=T0,
        name="FIN-Harbour",
        resource_level="organization",
        primary_motivation="personal-gain",
        description="Ransomware intrusion set active against European banks since mid-2026; initial access through edge devices and application servers.",
        first_seen="2026-06-02T00:00:00Z",
        created_by_ref=cert.id,
    )
    campaign = stix2.Campaign(
        id=sid("campaign"),
        created=T0,
        modified=T0,
        name="Operation Quayside",
        first_seen="2026-08-01T00:00:00Z",
        last_seen="2026-11-15T00:00:00Z",
    )
    loader = stix2.Malware(
        id=sid("malware"),
        created=T0,
        modified=T0,
        name="QuayLoader",
        is_family=True,
        malware_types=["ransomware", "dropper"],
    )
    f5 = stix2.Vulnerability(
        id=sid("vulnerability"),
        created=T0,
        modified=T0,
        name="CVE-2023-46747",
        description="F5 BIG-IP configuration utility authentication bypass leading to remote code execution.",
        external_references=[{"source_name": "cve", "external_id": "CVE-2023-46747"}],
        labels=["known-exploited"],
        custom_properties={
            "x_affected_products": ["f5:big-ip:17.1", "f5:big-ip:16.1", "f5:big-ip:15.1"],
            "x_known_exploited": True,
        },
    )
    tomcat = stix2.Vulnerability(
        id=sid("vulnerability"),
        created=T0,
        modified=T0,
        name="CVE-2025-24813",
        description="Apache Tomcat partial PUT path equivalence allowing remote code execution.",
        external_references=[{"source_name": "cve", "external_id": "CVE-2025-24813"}],
        custom_properties={
            "x_affected_products": [
                "apache:tomcat:<9.0.99",
                "apache:tomcat:10.1",
                "apache:tomcat:11.0",
            ],
            "x_known_exploited": True,
        },
    )
    techniques = [
        attack("T1190", "Exploit Public-Facing Application"),
        attack("T1078", "Valid Accounts"),
        attack("T1558.003", "Kerberoasting"),
        attack("T1486", "Data Encrypted for Impact"),
        attack("T1566.002", "Spearphishing Link"),
    ]
    c2 = stix2.Indicator(
        id=sid("indicator"),
        created=T0,
        modified=T0,
        name="QuayLoader C2",
        pattern_type="stix",
        confidence=80,
        pattern="[ipv4-addr:value = '203.0.113.45'] OR [ipv4-addr:value = '198.51.100.23']",
        valid_from="2026-08-01T00:00:00Z",
    )
    phish = stix2.Indicator(
        id=sid("indicator"),
        created=T0,
        modified=T0,
        name="Credential phishing against Nordhafen Bank clients",
        pattern_type="stix",
        confidence=90,
        pattern="[url:value = 'https://nordhafen-bank-secure.com/login'] OR [domain-name:value = 'nordhafen-bank-secure.com']",
        valid_from="2026-11-10T00:00:00Z",
    )
    target_list = stix2.Indicator(
        id=sid("indicator"),
        created=T0,
        modified=T0,
        name="Target list entry: exposed API gateway",
        pattern_type="stix",
        confidence=70,
        pattern="[domain-name:value = 'api.nordhafen-bank.de']",
        valid_from="2026-11-12T00:00:00Z",
        description="Host found in a FIN-Harbour scanning target list shared by a peer bank.",
    )
    sample = stix2.Indicator(
        id=sid("indicator"),
        created=T0,
        modified=T0,
        name="QuayLoader sample",
        pattern_type="stix",
        confidence=85,
        pattern="[file:hashes.'SHA-256' = '5f2b7d0c9e4a1b3c6d8e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e']",
        valid_from="2026-08-20T00:00:00Z",
    )
    noise = stix2.IntrusionSet(
        id=sid("intrusion-set"),
        created=T0,
        modified=T0,
        name="BalticNoise",
        resource_level="club",
        primary_motivation="ideology",
        description="Hacktivist DDoS collective announcing attacks on banks in the Baltic Sea region.",
        first_seen="2026-09-20T00:00:00Z",
        last_seen="2026-11-16T00:00:00Z",
    )
    noise_actor = stix2.ThreatActor(
        id=sid("threat-actor"),
        created=T0,
        modified=T0,
        name="BalticNoise volunteers",
        sophistication="minimal",
        resource_level="club",
    )
    ddos = [
        attack("T1498", "Network Denial of Service"),
        attack("T1499", "Endpoint Denial of Service"),
    ]
    botnet = stix2.Indicator(
        id=sid("indicator"),
        created=T0,
        modified=T0,
        name="BalticNoise DDoS sources",
        pattern_type="stix",
        confidence=60,
        pattern="[ipv4-addr:value = '192.0.2.77'] OR [ipv4-addr:value = '192.0.2.78']",
        valid_from="2026-09-20T00:00:00Z",
    )
    xz = stix2.Vulnerability(
        id=sid("vulnerability"),
        created=T0,
        modified=T0,
        name="CVE-2024-3094",
        description="Malicious code in xz/liblzma 5.6.0 and 5.6.1.",
        custom_properties={"x_affected_products": ["tukaani:xz:5.6.0", "tukaani:xz:5.6.1"]},
    )
    objects = [
        cert,
        sector,
        actor,
        iset,
        campaign,
        loader,
        f5,
        tomcat,
        *techniques,
        c2,
        phish,
        target_list,
        sample,
        noise,
        noise_actor,
        *ddos,
        botnet,
        xz,
        rel(iset, "attributed-to", actor),
        rel(campaign, "attributed-to", iset),
        rel(iset, "uses", loader),
        *[rel(iset, "uses", t) for t in techniques],
        rel(iset, "targets", f5),
        rel(iset, "targets", tomcat),
        rel(iset, "targets", sector),
        rel(c2, "indicates", loader),
        rel(sample, "indicates", loader),
        rel(phish, "indicates", iset),
        rel(target_list, "indicates", iset),
        rel(noise, "attributed-to", noise_actor),
        *[rel(noise, "uses", t) for t in ddos],
        rel(noise, "targets", sector),
        rel(botnet, "indicates", noise),
    ]
    bundle = stix2.Bundle(objects=objects, id=sid("bundle"), allow_custom=True)
    out = Path(__file__).with_name("threat-feed-2026-11.json")
    out.write_text(bundle.serialize(pretty=True) + "\n", encoding="utf-8")
    print(f"wrote {out} ({len(objects)} objects)")


if __name__ == "__main__":
    main()
