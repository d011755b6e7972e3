"""Identifiers of the register: LEI (ISO 17442) check digits, EUID structure, code types.

Why here and not in the validator: the sample register, the tests and the export all need
the same arithmetic (e.g. computing the check digits of a made-up LEI), and it must be
exactly the ISO 7064 MOD 97-10 rule the GLEIF uses, so it lives in one small module.

Rules (CIR (EU) 2024/2956 Art. 3(5)-(6), dora-facts.md §4.2):

* financial entities are identified by LEI;
* ICT third-party service providers that are legal persons: LEI or EUID (both where
  available); legal persons outside the EU: LEI only;
* other codes (``<country>_CRN|VAT|PNR|NIN``) only for individuals acting in a business
  capacity.
"""

from __future__ import annotations

import re

__all__ = [
    "EUID_COUNTRIES",
    "LEI_LENGTH",
    "CodeType",
    "euid_problem",
    "lei_check_digits",
    "lei_problem",
    "make_lei",
    "parse_code_type",
]

LEI_LENGTH = 20
_LEI = re.compile(r"^[A-Z0-9]{18}[0-9]{2}$")

#: EUID country prefixes: EU/EEA business registers in BRIS; Greece is "EL", not "GR".
EUID_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "EL",
        "ES",
        "FI",
        "FR",
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
        "IS",
        "LI",
        "NO",
    ]
)
# country code + register identifier, ".", registration number (+ optional check digit)
_EUID = re.compile(r"^([A-Z]{2})([A-Z0-9]{1,13})\.([A-Za-z0-9][A-Za-z0-9/\-]{0,49})$")


def _digits(text: str) -> str:
    """ISO 7064 letter expansion: A=10 ... Z=35, digits unchanged."""
    return "".join(str(int(ch, 36)) for ch in text)


def lei_check_digits(base18: str) -> str:
    """The two check digits for an 18-character LEI prefix (ISO 7064 MOD 97-10)."""
    base = base18.upper()
    if not re.fullmatch(r"[A-Z0-9]{18}", base):
        raise ValueError(f"an LEI prefix is 18 letters or digits, got {base18!r}")
    return f"{98 - int(_digits(base + '00')) % 97:02d}"


def make_lei(base18: str) -> str:
    """A complete LEI with correct check digits (for samples and tests)."""
    return base18.upper() + lei_check_digits(base18)


def lei_problem(value: str) -> str | None:
    """Why ``value`` is not a well-formed LEI, or None when its check digits are right."""
    if len(value) != LEI_LENGTH:
        return f"an LEI has {LEI_LENGTH} characters (ISO 17442), got {len(value)}"
    if not _LEI.match(value):
        return "an LEI is 18 upper-case letters or digits followed by 2 check digits (ISO 17442)"
    if int(_digits(value)) % 97 != 1:
        expected = lei_check_digits(value[:18])
        return (
            f"check digits {value[18:]} are wrong (ISO 7064 MOD 97-10 gives {expected} for "
            f"{value[:18]})"
        )
    return None


def euid_problem(value: str) -> str | None:
    """Why ``value`` is not a structurally valid EUID, or None.

    Structure per Directive (EU) 2017/1132 Art. 16 and CIR (EU) 2021/1042: Member State
    code (EL for Greece), business register identifier, ".", registration number. The
    register-specific check digit is not verified (each register defines its own).
    """
    m = _EUID.match(value)
    if not m:
        return (
            "an EUID is <country><register id>.<registration number>, "
            "e.g. DEK1101R.HRB116737 (Directive 2017/1132 Art. 16)"
        )
    if m.group(1) not in EUID_COUNTRIES:
        hint = " (Greece uses EL)" if m.group(1) == "GR" else ""
        return f"EUID country {m.group(1)!r} is not an EU/EEA business register{hint}"
    if len(value) > 60:
        return "an EUID has at most 60 characters"
    return None


class CodeType:
    """A parsed type of code (B_05.01.0020 and friends): LEI, EUID or ``<CC>_<kind>``."""

    INDIVIDUAL_KINDS = ("CRN", "VAT", "PNR", "NIN")

    def __init__(self, kind: str, country: str | None = None) -> None:
        self.kind = kind
        self.country = country

    @property
    def canonical(self) -> str:
        return f"{self.country}_{self.kind}" if self.country else self.kind

    @property
    def legal_person_code(self) -> bool:
        """LEI and EUID are the only codes allowed for legal persons (Art. 3(5))."""
        return self.kind in ("LEI", "EUID")

    def __repr__(self) -> str:
        return f"CodeType({self.canonical!r})"


#: taxonomy enumeration members for the type of code as exported by ciso-assistant
#: (UNCONFIRMED against the EBA DPM); accepted on import so exports read back
_EBA_CODE_TYPES = {"EBA_QCO:QX2000": "LEI", "EBA_QCO:QX2002": "EUID"}


def parse_code_type(raw: str) -> CodeType | None:
    """``LEI``, ``EUID`` or ``<ISO country>_<CRN|VAT|PNR|NIN>``; None when unrecognised."""
    value = raw.strip().upper()
    value = _EBA_CODE_TYPES.get(value, value)
    if value in ("LEI", "EUID"):
        return CodeType(value)
    m = re.fullmatch(r"([A-Z]{2})_(CRN|VAT|PNR|NIN)", value)
    if m:
        return CodeType(m.group(2), m.group(1))
    return None
