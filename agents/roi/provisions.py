"""DORA Art. 30 contractual provisions: the checklist and how contract metadata is read.

The register itself does not say which clauses a contract contains, so the checklist
reads an extra file next to the templates, ``contract_provisions.csv``: one row per
contractual arrangement (column ``arrangement`` = B_02.01.0010) and one column per
provision (``30(2)(a)`` ... ``30(3)(f)``) holding yes/no. A subsequent arrangement without
its own row inherits the clauses of its overarching arrangement (B_02.01.0030), because
the master agreement is where such clauses are usually written.

Art. 30(2) applies to every ICT contractual arrangement; Art. 30(3) adds six provisions
for ICT services supporting critical or important functions.
"""

from __future__ import annotations

__all__ = ["ART_30_2", "ART_30_3", "PROVISIONS", "parse_flag"]

ART_30_2: dict[str, str] = {
    "30(2)(a)": "clear and complete description of all functions and ICT services, with "
    "whether subcontracting is permitted and on which conditions",
    "30(2)(b)": "locations (regions or countries) of service provision and data processing "
    "and storage, with advance notice of any change",
    "30(2)(c)": "availability, authenticity, integrity and confidentiality of data, "
    "including personal data",
    "30(2)(d)": "access, recovery and return of data on insolvency, resolution, "
    "discontinuation or termination",
    "30(2)(e)": "service level descriptions, including updates and revisions",
    "30(2)(f)": "assistance with ICT incidents at no additional cost or at a cost "
    "determined ex ante",
    "30(2)(g)": "full cooperation with the competent authorities and resolution authorities",
    "30(2)(h)": "termination rights and related minimum notice periods",
    "30(2)(i)": "participation in the entity's ICT security awareness programmes and "
    "digital operational resilience training",
}
ART_30_3: dict[str, str] = {
    "30(3)(a)": "full service level descriptions with precise quantitative and qualitative "
    "performance targets",
    "30(3)(b)": "notice periods and reporting obligations towards the financial entity",
    "30(3)(c)": "the provider's business contingency plans and ICT security measures, "
    "implemented and tested",
    "30(3)(d)": "participation and full cooperation in the entity's TLPT (Arts. 26-27)",
    "30(3)(e)": "unrestricted rights of access, inspection and audit, and ongoing monitoring "
    "of performance",
    "30(3)(f)": "exit strategies, in particular a mandatory adequate transition period",
}
PROVISIONS: dict[str, str] = {**ART_30_2, **ART_30_3}

_TRUE = {"yes", "y", "true", "1", "x", "eba_bt:x28"}
_FALSE = {"no", "n", "false", "0", "", "eba_bt:x29"}


def parse_flag(raw: str) -> bool | None:
    """yes/no in the usual spellings; None when unreadable."""
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return None
