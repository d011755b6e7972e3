"""Code lists the register is checked against, shipped as data files in ``agents/roi/data``.

Why data files: the lists change (ISO 4217 added XCG and ZWG in 2024-2025, the EBA
revises its taxonomy) and a compliance team must be able to review and update them
without reading Python. Files:

* ``countries.csv``: ISO 3166-1 alpha-2 (from the tz database's ``iso3166.tab``);
* ``currencies.csv``: ISO 4217 alphabetic codes in use;
* ``ict_service_types.csv``: Annex III of CIR (EU) 2024/2956, S01-S19;
* ``enumerations.yaml``: the other closed lists of Annex I with their EBA members.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

__all__ = ["EU_MEMBER_STATES", "CodeLists", "Enumeration", "code_lists"]

DATA = Path(__file__).parent / "data"

#: the 27 EU Member States (ISO codes): anything else is a third country for DORA Art. 29
EU_MEMBER_STATES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    ]
)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower())


@dataclass(frozen=True)
class Enumeration:
    """One closed list: EBA member -> label, plus every accepted spelling -> member."""

    name: str
    labels: dict[str, str]
    spellings: dict[str, str]

    def lookup(self, raw: str) -> str | None:
        """The EBA member for ``raw`` (member, label or alias, any case), or None."""
        return self.spellings.get(_norm(raw))

    def describe(self) -> str:
        return "; ".join(f"{code} ({label})" for code, label in self.labels.items())


def _read_csv(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8") as fh:
        lines = [line for line in fh if not line.startswith("#")]
    return list(csv.DictReader(lines))


@dataclass(frozen=True)
class CodeLists:
    countries: dict[str, str]
    currencies: frozenset[str]
    service_types: dict[str, str]  # S01 -> label
    enumerations: dict[str, Enumeration]

    def country(self, raw: str) -> str | None:
        """ISO code for ``DE`` or ``eba_GA:DE``; None when not an ISO 3166 code."""
        value = raw.strip()
        if value.lower().startswith("eba_ga:"):
            value = value[7:]
        value = value.upper()
        return value if value in self.countries else None

    def currency(self, raw: str) -> str | None:
        value = raw.strip()
        if value.lower().startswith("eba_cu:"):
            value = value[7:]
        value = value.upper()
        return value if value in self.currencies else None

    def service_type(self, raw: str) -> str | None:
        """``S01``, ``eba_TA:S01`` or the Annex III label -> ``S01``."""
        value = raw.strip()
        if value.lower().startswith("eba_ta:"):
            value = value[7:]
        if value.upper() in self.service_types:
            return value.upper()
        by_label = {_norm(label): code for code, label in self.service_types.items()}
        return by_label.get(_norm(value))


@cache
def code_lists() -> CodeLists:
    """The shipped code lists (read once)."""
    enums: dict[str, Enumeration] = {}
    raw = yaml.safe_load((DATA / "enumerations.yaml").read_text(encoding="utf-8"))
    for name, options in raw.items():
        labels: dict[str, str] = {}
        spellings: dict[str, str] = {}
        for opt in options:
            code = opt["code"]
            labels[code] = opt["label"]
            for spelling in [code, opt["label"], *opt.get("aliases", [])]:
                spellings[_norm(str(spelling))] = code
        enums[name] = Enumeration(name, labels, spellings)
    return CodeLists(
        countries={r["code"]: r["name"] for r in _read_csv("countries.csv")},
        currencies=frozenset(r["code"] for r in _read_csv("currencies.csv")),
        service_types={r["code"]: r["label"] for r in _read_csv("ict_service_types.csv")},
        enumerations=enums,
    )
