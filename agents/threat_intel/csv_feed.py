"""Read a CSV (or XLSX/JSON) feed of indicators into threats, one per ``threat`` value.

Columns: ``type`` is one of ipv4, ipv6, domain, url, sha256, sha1, md5, email, cve,
technique; ``value`` the observable, CVE id or ATT&CK technique id. For ``cve`` rows
``affected_products`` lists CPE-like specs and ``exploited`` marks active exploitation.
Rows without ``threat`` belong to one "unattributed" threat of the file.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from agents.ict_risk.tabular import parse_bool, parse_date, read_table, split_list
from agents.threat_intel.models import Observable, Technique, Threat, Vulnerability
from agents.threat_intel.stix import CVE_RE

_TECH = re.compile(r"^T\d{4}(\.\d{3})?$")
_HEX = {"sha256": 64, "sha1": 40, "md5": 32}


class IndicatorRow(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    indicator_id: str | None = None
    threat: str | None = None
    type: Literal[
        "ipv4", "ipv6", "domain", "url", "sha256", "sha1", "md5", "email", "cve", "technique"
    ]
    value: str = Field(min_length=1)
    affected_products: list[str] = Field(default_factory=list)
    exploited: bool | None = None
    confidence: int | None = Field(None, ge=0, le=100)
    first_seen: date | None = None
    last_seen: date | None = None
    targets_financial_sector: bool | None = None
    sophistication: str | None = None
    resource_level: str | None = None
    description: str | None = None
    source: str | None = None

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, v: Any) -> Any:
        return v.strip().lower() if isinstance(v, str) else v

    @field_validator("affected_products", mode="before")
    @classmethod
    def _list(cls, v: Any) -> list[str]:
        return split_list(v)

    @field_validator("exploited", "targets_financial_sector", mode="before")
    @classmethod
    def _bool(cls, v: Any) -> Any:
        return parse_bool(v)

    @field_validator("first_seen", "last_seen", mode="before")
    @classmethod
    def _date(cls, v: Any) -> Any:
        return parse_date(v)

    @field_validator("value")
    @classmethod
    def _value(cls, v: str, info: ValidationInfo) -> str:
        """The value must fit the row's type (checked after ``type``, declared before it)."""
        t = info.data.get("type")
        if t in {"ipv4", "ipv6"}:
            try:
                ip = ipaddress.ip_network(v, strict=False)
            except ValueError:
                raise ValueError("not an IP address or network") from None
            if (ip.version == 4) != (t == "ipv4"):
                raise ValueError(f"not an {t} address")
        elif t in _HEX and not re.fullmatch(rf"[0-9a-fA-F]{{{_HEX[t]}}}", v):
            raise ValueError(f"not a {t} hash ({_HEX[t]} hex digits)")
        elif t == "cve" and not CVE_RE.match(v):
            raise ValueError("not a CVE id (CVE-YYYY-NNNN)")
        elif t == "technique" and not _TECH.match(v):
            raise ValueError("not an ATT&CK technique id (T1234 or T1234.001)")
        elif t == "domain" and ("/" in v or " " in v or "." not in v):
            raise ValueError("not a domain name")
        return v


def threats_from_csv(path: str | Path) -> list[Threat]:
    rows = read_table(path, IndicatorRow, "indicator feed")
    source = Path(path).name
    threats: dict[str, Threat] = {}
    for r in rows:
        v = r.value
        key = v.threat or ""
        t = threats.get(key)
        if t is None:
            t = Threat(
                threat_id=f"feed--{source}--{key or 'unattributed'}",
                name=key or f"Unattributed indicators in {source}",
                kind="feed" if key else "unattributed",
                sources=[source],
            )
            threats[key] = t
        ref = f"{source} row {r.row}" + (f" ({v.indicator_id})" if v.indicator_id else "")
        if v.type == "cve":
            t.vulnerabilities.append(
                Vulnerability(
                    cve=v.value,
                    description=v.description or "",
                    affected=v.affected_products,
                    exploited=bool(v.exploited),
                    source=ref,
                )
            )
        elif v.type == "technique":
            t.techniques.append(Technique(technique_id=v.value, name=v.description or ""))
        else:
            t.observables.append(
                Observable(kind=v.type, value=v.value, indicator=ref, confidence=v.confidence)
            )
        if v.targets_financial_sector:
            t.targets_financial_sector = True
        t.sophistication = t.sophistication or v.sophistication
        t.resource_level = t.resource_level or v.resource_level
        for key2, pick in (("first_seen", min), ("last_seen", max)):
            d = getattr(v, key2)
            if d is not None:
                cur = getattr(t, key2)
                setattr(t, key2, d if cur is None else pick(cur, d))
    return list(threats.values())
