"""The DORA requirements catalog: versioned data, typed and validated once.

Why data and not code: the obligations change with level-2 acts, Q&As and our own
reading of them, and every assessment must say which catalog version it used. The
catalog therefore lives in ``agents/data/dora_requirements.yaml`` with a ``version``;
this module only gives it types, checks it strictly (``extra="forbid"``, normalised
references, consistent applicability) and caches it, so a typo in the YAML fails at load
time instead of silently dropping a requirement from every report.

Applicability is decided here too (:meth:`Requirement.applies_to`), because the
proportionality rules (microenterprise carve-outs, the Art. 16(1) simplified regime,
sector-specific duties) are facts about the requirement, not about the analyser.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agents.contracts import EntityProfile
from dora.errors import ConfigurationError

#: the catalog shipped with the package
DEFAULT_CATALOG_PATH = Path(__file__).parent / "data" / "dora_requirements.yaml"

#: normalised references: "DORA Art. 5(2)(a)", "RTS 2024/1774 Art. 10(2)(a)", "DORA Art. 7(c)",
#: and a roman sub-point where it carries its own duty: "RTS 2024/1774 Art. 21(e)(iv)"
REFERENCE_RE = re.compile(
    r"^(DORA|RTS 2024/1774) Art\. [1-9]\d*(\([1-9]\d*\))?(\([a-z]{1,4}\)(\([ivx]{1,5}\))?)?$"
)
#: stable ids: "DORA-5-2-a", "RTS1774-10-2-a", "DORA-28-3-s3" (third subparagraph)
ID_RE = re.compile(r"^(DORA|RTS1774)-[1-9]\d*(-[1-9]\d*)?(-[a-z]{1,4}(-[ivx]{1,5})?)?(-s[2-9])?$")

Chapter = Literal["II", "III", "IV", "V", "VI", "RTS-II", "RTS-III"]
Frequency = Literal["weekly", "monthly", "quarterly", "6-monthly", "yearly", "3-yearly"]

#: chapter titles for summaries (DORA chapters and RTS 2024/1774 titles)
CHAPTER_TITLES: dict[str, str] = {
    "II": "ICT risk management",
    "III": "ICT-related incident management, classification and reporting",
    "IV": "Digital operational resilience testing",
    "V": "Managing of ICT third-party risk",
    "VI": "Information-sharing arrangements",
    "RTS-II": "RTS 2024/1774 Title II: ICT security policies, procedures, protocols and tools",
    "RTS-III": "RTS 2024/1774 Title III: simplified ICT risk management framework",
}

#: the order in which chapters are reported
CHAPTER_ORDER: tuple[str, ...] = tuple(CHAPTER_TITLES)

_FLAG_NAMES = ("excludes_microenterprise", "excludes_simplified_regime", "only_simplified_regime")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Applicability(_Strict):
    """Which entities a requirement binds.

    The YAML accepts a shorthand: ``all``, a single flag name, or a list of flag names
    (``[excludes_microenterprise, excludes_simplified_regime]``); a mapping is needed
    only for ``entity_types`` or a ``condition`` that the profile cannot decide.
    """

    excludes_microenterprise: bool = False
    #: Art. 16(1) entities follow Art. 16 and RTS Title III instead (DORA Art. 16(1))
    excludes_simplified_regime: bool = False
    #: Art. 16 and RTS 2024/1774 Title III bind only the simplified-regime entities
    only_simplified_regime: bool = False
    #: sector-specific duties, e.g. ["central_securities_depository"]; None = every type
    entity_types: tuple[str, ...] | None = None
    #: a condition the profile cannot decide (e.g. "entity identified for TLPT by the CA");
    #: reported in the rationale, never used to exclude
    condition: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if value is None or value == "all":
            return {}
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            unknown = [v for v in value if v not in _FLAG_NAMES]
            if unknown:
                raise ValueError(f"unknown applicability flag(s): {unknown}")
            return {flag: True for flag in value}
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Applicability:
        if self.only_simplified_regime and self.excludes_simplified_regime:
            raise ValueError("only_simplified_regime contradicts excludes_simplified_regime")
        return self

    def reason_not_applicable(self, profile: EntityProfile) -> str | None:
        """Why the requirement does not bind this entity, or None when it does."""
        if self.only_simplified_regime and not profile.simplified_regime:
            return "applies only to Art. 16(1) simplified-regime entities"
        if self.excludes_simplified_regime and profile.simplified_regime:
            return "Art. 16(1) entity: simplified ICT risk management framework applies instead"
        if self.excludes_microenterprise and profile.microenterprise:
            return "microenterprise carve-out"
        if self.entity_types is not None and profile.entity_type not in self.entity_types:
            return f"applies only to {', '.join(self.entity_types)}"
        return None


class Requirement(_Strict):
    """One assessable obligation, at the level of detail a policy can be checked against."""

    id: str
    reference: str
    source: str
    chapter: Chapter
    title: str
    #: the duty in our own words (no copied legal text)
    obligation: str
    applicability: Applicability = Field(default_factory=Applicability)
    #: elements a policy must show to satisfy the requirement
    evidence: tuple[str, ...] = Field(min_length=1)
    #: key phrases and synonyms used for retrieval
    search: tuple[str, ...] = Field(min_length=1)
    frequency: Frequency | None = None
    severity_weight: int = Field(ge=1, le=5)
    #: evidence items that carry the requirement's subject: a passage that shows the other
    #: elements but not these is about something else (e.g. "approved by the board" without a
    #: date is not RTS Art. 2(2)(b)). Each entry must be one of ``evidence``. ``None``: the
    #: analyser picks the item that best matches the title; ``[]``: no key element.
    key_evidence: tuple[str, ...] | None = None
    #: approval statements may be evidence: the document-control block (version, owner,
    #: "Approved by ... on <date>", version history) and sentences in which someone approves
    #: or adopts a document ("the Board approves the ICT Business Continuity Plan"). For every
    #: other requirement they are not: approving a continuity plan is not having one, and
    #: "Approved by: Executive Board" on a change policy does not adopt a security policy.
    approval_evidence: bool = False
    #: a duty of the ICT security policies (RTS 2024/1774 Art. 2: the policies of DORA
    #: Art. 9(2)), so evidence only in such a document: the approval date on a continuity
    #: plan, an incident procedure, a third-party policy or a test programme, which have
    #: their own articles, does not date the ICT security policy
    security_policy_only: bool = False

    @field_validator("id")
    @classmethod
    def _id_format(cls, value: str) -> str:
        if not ID_RE.match(value):
            raise ValueError(f"requirement id {value!r} does not match {ID_RE.pattern}")
        return value

    @field_validator("reference")
    @classmethod
    def _reference_format(cls, value: str) -> str:
        if not REFERENCE_RE.match(value):
            raise ValueError(f"reference {value!r} is not normalised like 'DORA Art. 5(2)(a)'")
        return value

    @property
    def act(self) -> Literal["DORA", "RTS 2024/1774"]:
        return "DORA" if self.reference.startswith("DORA ") else "RTS 2024/1774"

    @property
    def article(self) -> str:
        """The article part of the reference, e.g. ``DORA Art. 12``."""
        match = re.match(r"^(.* Art\. \d+)", self.reference)
        assert match is not None  # guaranteed by the reference validator
        return match.group(1)

    @model_validator(mode="after")
    def _key_evidence_known(self) -> Requirement:
        unknown = [k for k in self.key_evidence or () if k not in self.evidence]
        if unknown:
            raise ValueError(f"{self.id}: key_evidence {unknown} not among its evidence items")
        return self

    @model_validator(mode="after")
    def _chapter_matches_act(self) -> Requirement:
        is_rts = self.chapter.startswith("RTS-")
        if is_rts != (self.act == "RTS 2024/1774"):
            raise ValueError(f"{self.id}: chapter {self.chapter} does not match {self.act}")
        if self.chapter == "RTS-III" and not self.applicability.only_simplified_regime:
            raise ValueError(f"{self.id}: RTS Title III binds only simplified-regime entities")
        if self.chapter == "RTS-II" and not self.applicability.excludes_simplified_regime:
            raise ValueError(f"{self.id}: RTS Title II does not bind simplified-regime entities")
        return self


class Catalog(_Strict):
    """The whole catalog, with its version (recorded in every analysis)."""

    version: str = Field(pattern=r"^\d{4}\.\d{1,2}\.\d+$")
    requirements: tuple[Requirement, ...]

    @model_validator(mode="after")
    def _unique_ids(self) -> Catalog:
        seen: set[str] = set()
        dupes = [r.id for r in self.requirements if r.id in seen or seen.add(r.id)]  # type: ignore[func-returns-value]
        if dupes:
            raise ValueError(f"duplicate requirement ids: {sorted(set(dupes))}")
        return self

    def by_id(self) -> dict[str, Requirement]:
        return {r.id: r for r in self.requirements}

    def applicable(self, profile: EntityProfile) -> list[Requirement]:
        return [
            r for r in self.requirements if r.applicability.reason_not_applicable(profile) is None
        ]


def parse_catalog(data: Any, origin: str = "<catalog>") -> Catalog:
    """Validate already-loaded YAML data; errors name the origin and the failing entry."""
    try:
        return Catalog.model_validate(data)
    except ValidationError as exc:
        raise ConfigurationError(f"invalid requirements catalog {origin}: {exc}") from exc


@lru_cache(maxsize=8)
def _load(path: str) -> Catalog:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot read requirements catalog {path}: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"requirements catalog {path} is not valid YAML: {exc}") from exc
    return parse_catalog(data, origin=path)


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Load (once per path, cached) and validate the requirements catalog."""
    return _load(str(Path(path or DEFAULT_CATALOG_PATH).resolve()))
