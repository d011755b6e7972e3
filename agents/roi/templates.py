"""The templates of the register of information and their columns, as data.

Column codes are the ones of the Official Journal text of CIR (EU) 2024/2956 Annex I
(``0010``...). The EBA DORA 4.0 taxonomy (module
``http://www.eba.europa.eu/eu/fr/xbrl/crr/fws/dora/4.0/mod/dora.json``) numbers its CSV
columns ``c0010``... the same way except (dora-facts.md §4.3, [XB]):

* B_06.01: the OJ has 0010-0040 and 0060-0110 (no 0050); the taxonomy has c0010-c0100,
  so OJ 0060 is c0050 ... OJ 0110 is c0100;
* extra "link" columns in templates whose other columns are all keys: b_02.03.c0030,
  b_03.01.c0030, b_03.03.c0031 (exported as ``true``);
* B_99.01 is one row of 19 columns c0010-c0190 in the taxonomy (the entity's own
  meaning of each closed-list option); we use that layout for input as well.

``key`` marks the taxonomy's open keys (the primary key the EBA checks with rules 805/806);
``required`` is True for columns the ITS makes mandatory, "cond" where it depends on other
columns (checked by the validator's conditional rules) and False for optional ones. The
mandatory/conditional marks are our reading of Annex I, not a copy of the EBA rule set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["TEMPLATES", "ColumnSpec", "TemplateSpec", "template"]

Kind = Literal[
    "text",
    "ref",
    "lei",
    "code",
    "code_type",
    "country",
    "currency",
    "date",
    "integer",
    "amount",
    "enum",
    "service",
    "function",
]
Required = bool | Literal["cond"]


@dataclass(frozen=True)
class ColumnSpec:
    code: str  # OJ column code, e.g. "0010"
    name: str
    kind: Kind
    required: Required = True
    key: bool = False
    enum: str | None = None
    type_column: str | None = None  # for kind "code": the column holding its type of code
    open_date: bool = False  # 9999-12-31 prescribed when there is no date
    taxonomy: str | None = None  # taxonomy column code when it differs from "c" + code


@dataclass(frozen=True)
class TemplateSpec:
    code: str  # "B_02.02"
    name: str
    columns: tuple[ColumnSpec, ...]
    required: bool = True  # the file must be present
    single_row: bool = False
    link_column: str | None = None  # taxonomy-only column exported as "true"
    columns_by_code: dict[str, ColumnSpec] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        self.columns_by_code.update({c.code: c for c in self.columns})

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.columns if c.key)

    def taxonomy_code(self, code: str) -> str:
        col = self.columns_by_code[code]
        return col.taxonomy or f"c{code}"

    @property
    def csv_name(self) -> str:
        """File name in the xBRL-CSV package, e.g. ``b_02.02.csv``."""
        return self.code.lower() + ".csv"


def C(  # noqa: N802 - short constructor keeps the tables below readable
    code: str, name: str, kind: Kind = "text", **kw: object
) -> ColumnSpec:
    return ColumnSpec(code, name, kind, **kw)  # type: ignore[arg-type]


REF = "Contractual arrangement reference number"
_T: list[TemplateSpec] = [
    TemplateSpec(
        "B_01.01",
        "Entity maintaining the register of information",
        (
            C("0010", "LEI of the entity maintaining the register of information", "lei", key=True),
            C("0020", "Name of the entity"),
            C("0030", "Country of the entity", "country"),
            C("0040", "Type of entity", "enum", enum="entity_type"),
            C("0050", "Competent Authority"),
            C("0060", "Date of the reporting", "date"),
        ),
        single_row=True,
    ),
    TemplateSpec(
        "B_01.02",
        "List of entities within the scope of the register of information",
        (
            C("0010", "LEI of the entity", "lei", key=True),
            C("0020", "Name of the entity"),
            C("0030", "Country of the entity", "country"),
            C("0040", "Type of entity", "enum", enum="entity_type"),
            C("0050", "Hierarchy of the entity within the group", "enum", enum="hierarchy"),
            C("0060", "LEI of the direct parent undertaking of the entity", "lei"),
            C("0070", "Date of last update", "date"),
            C("0080", "Date of integration in the register of information", "date"),
            C("0090", "Date of deletion in the register of information", "date", open_date=True),
            C("0100", "Currency", "currency"),
            C("0110", "Value of total assets", "amount", required=False),
        ),
    ),
    TemplateSpec(
        "B_01.03",
        "List of branches",
        (
            C("0010", "Identification code of the branch", key=True),
            C("0020", "LEI of the financial entity head office of the branch", "lei", key=True),
            C("0030", "Name of the branch"),
            C("0040", "Country of the branch", "country"),
        ),
        required=False,
    ),
    TemplateSpec(
        "B_02.01",
        "Contractual arrangements - general information",
        (
            C("0010", REF, "ref", key=True),
            C("0020", "Type of contractual arrangement", "enum", enum="arrangement_type"),
            C(
                "0030",
                "Overarching contractual arrangement reference number",
                "ref",
                required="cond",
            ),
            C("0040", "Currency of the amount reported in B_02.01.0050", "currency"),
            C("0050", "Annual expense or estimated cost of the contractual arrangement", "amount"),
        ),
    ),
    TemplateSpec(
        "B_02.02",
        "Contractual arrangements - specific information",
        (
            C("0010", REF, "ref", key=True),
            C("0020", "LEI of the entity making use of the ICT service(s)", "lei", key=True),
            C(
                "0030",
                "Identification code of the ICT third-party service provider",
                "code",
                key=True,
                type_column="0040",
            ),
            C("0040", "Type of code to identify the ICT third-party service provider", "code_type"),
            C("0050", "Function identifier", "function", key=True),
            C("0060", "Type of ICT services", "service", key=True),
            C("0070", "Start date of the contractual arrangement", "date"),
            C("0080", "End date of the contractual arrangement", "date", open_date=True),
            C(
                "0090",
                "Reason of the termination or ending of the contractual arrangement",
                "enum",
                required="cond",
                enum="termination_reason",
            ),
            C("0100", "Notice period for the financial entity (calendar days)", "integer"),
            C(
                "0110",
                "Notice period for the ICT third-party service provider (calendar days)",
                "integer",
            ),
            C("0120", "Country of the governing law of the contractual arrangement", "country"),
            C("0130", "Country of provision of the ICT services", "country", key=True),
            C("0140", "Storage of data", "enum", enum="yes_no"),
            C(
                "0150",
                "Location of the data at rest (storage)",
                "country",
                required="cond",
                key=True,
            ),
            C(
                "0160",
                "Location of management of the data (processing)",
                "country",
                required="cond",
                key=True,
            ),
            C(
                "0170",
                "Sensitiveness of the data stored",
                "enum",
                required="cond",
                enum="low_medium_high",
            ),
            C(
                "0180",
                "Level of reliance on the ICT service supporting the critical or important "
                "function",
                "enum",
                required="cond",
                enum="reliance",
            ),
        ),
    ),
    TemplateSpec(
        "B_02.03",
        "List of intra-group contractual arrangements",
        (
            C("0010", REF, "ref", key=True),
            C(
                "0020",
                "Contractual arrangement linked to the contractual arrangement in 0010",
                "ref",
                key=True,
            ),
        ),
        required=False,
        link_column="c0030",
    ),
    TemplateSpec(
        "B_03.01",
        "Entities signing the contractual arrangements for receiving ICT services",
        (
            C("0010", REF, "ref", key=True),
            C("0020", "LEI of the entity signing the contractual arrangement", "lei", key=True),
        ),
        link_column="c0030",
    ),
    TemplateSpec(
        "B_03.02",
        "ICT third-party service providers signing the contractual arrangements",
        (
            C("0010", REF, "ref", key=True),
            C(
                "0020",
                "Identification code of the ICT third-party service provider",
                "code",
                key=True,
                type_column="0030",
            ),
            C("0030", "Type of code to identify the ICT third-party service provider", "code_type"),
        ),
    ),
    TemplateSpec(
        "B_03.03",
        "Entities signing the contractual arrangements for providing ICT services (intra-group)",
        (
            C("0010", REF, "ref", key=True),
            C("0020", "LEI of the entity providing ICT services", "lei", key=True),
        ),
        required=False,
        link_column="c0031",
    ),
    TemplateSpec(
        "B_04.01",
        "Entities making use of the ICT services",
        (
            C("0010", REF, "ref", key=True),
            C("0020", "LEI of the entity making use of the ICT service(s)", "lei", key=True),
            C(
                "0030",
                "Nature of the entity making use of the ICT service(s)",
                "enum",
                enum="branch",
            ),
            C("0040", "Identification code of the branch", required="cond", key=True),
        ),
    ),
    TemplateSpec(
        "B_05.01",
        "ICT third-party service providers",
        (
            C(
                "0010",
                "Identification code of the ICT third-party service provider",
                "code",
                key=True,
                type_column="0020",
            ),
            C("0020", "Type of code to identify the ICT third-party service provider", "code_type"),
            C(
                "0030",
                "Additional identification code of the ICT third-party service provider",
                "code",
                required=False,
                type_column="0040",
            ),
            C("0040", "Type of additional identification code", "code_type", required="cond"),
            C("0050", "Legal name of the ICT third-party service provider"),
            C(
                "0060",
                "Name of the ICT third-party service provider in Latin alphabet",
                required=False,
            ),
            C(
                "0070",
                "Type of person of the ICT third-party service provider",
                "enum",
                enum="person_type",
            ),
            C("0080", "Country of the ICT third-party service provider's headquarters", "country"),
            C("0090", "Currency of the amount reported in B_05.01.0100", "currency"),
            C(
                "0100",
                "Total annual expense or estimated cost of the ICT third-party service provider",
                "amount",
            ),
            C(
                "0110",
                "Identification code of the ICT third-party service provider's ultimate "
                "parent undertaking",
                "code",
                required=False,
                type_column="0120",
            ),
            C(
                "0120",
                "Type of code of the ultimate parent undertaking",
                "code_type",
                required="cond",
            ),
        ),
    ),
    TemplateSpec(
        "B_05.02",
        "ICT service supply chains",
        (
            C("0010", REF, "ref", key=True),
            C("0020", "Type of ICT services", "service", key=True),
            C(
                "0030",
                "Identification code of the ICT third-party service provider",
                "code",
                key=True,
                type_column="0040",
            ),
            C("0040", "Type of code to identify the ICT third-party service provider", "code_type"),
            C("0050", "Rank", "integer", key=True),
            C(
                "0060",
                "Identification code of the recipient of sub-contracted ICT services",
                "code",
                required="cond",
                key=True,
                type_column="0070",
            ),
            C(
                "0070",
                "Type of code of the recipient of sub-contracted ICT services",
                "code_type",
                required="cond",
            ),
        ),
        required=False,
    ),
    TemplateSpec(
        "B_06.01",
        "Functions identification",
        (
            C("0010", "Function identifier", "function", key=True),
            C("0020", "Licensed activity"),
            C("0030", "Function name"),
            C("0040", "LEI of the financial entity", "lei", key=True),
            C(
                "0060",
                "Criticality or importance assessment",
                "enum",
                enum="yes_no_not_assessed",
                taxonomy="c0050",
            ),
            C("0070", "Reasons for criticality or importance", required="cond", taxonomy="c0060"),
            C(
                "0080",
                "Date of the last assessment of criticality or importance",
                "date",
                open_date=True,
                taxonomy="c0070",
            ),
            C(
                "0090",
                "Recovery time objective of the function (hours)",
                "integer",
                required="cond",
                taxonomy="c0080",
            ),
            C(
                "0100",
                "Recovery point objective of the function (hours)",
                "integer",
                required="cond",
                taxonomy="c0090",
            ),
            C(
                "0110",
                "Impact of discontinuing the function",
                "enum",
                enum="low_medium_high",
                taxonomy="c0100",
            ),
        ),
    ),
    TemplateSpec(
        "B_07.01",
        "Assessment of the ICT services",
        (
            C("0010", REF, "ref", key=True),
            C(
                "0020",
                "Identification code of the ICT third-party service provider",
                "code",
                key=True,
                type_column="0030",
            ),
            C("0030", "Type of code to identify the ICT third-party service provider", "code_type"),
            C("0040", "Type of ICT services", "service", key=True),
            C(
                "0050",
                "Substitutability of the ICT third-party service provider",
                "enum",
                enum="substitutability",
            ),
            C(
                "0060",
                "Reason if the ICT third-party service provider is considered not "
                "substitutable or difficult to be substitutable",
                "enum",
                required="cond",
                enum="non_substitutability_reason",
            ),
            C(
                "0070",
                "Date of the last audit on the ICT third-party service provider",
                "date",
                open_date=True,
            ),
            C("0080", "Existence of an exit plan", "enum", enum="yes_no"),
            C(
                "0090",
                "Possibility of reintegration of the contracted ICT service",
                "enum",
                enum="reintegration",
            ),
            C("0100", "Impact of discontinuing the ICT services", "enum", enum="low_medium_high"),
            C(
                "0110",
                "Are there alternative ICT third-party service providers identified?",
                "enum",
                enum="yes_no_not_assessed",
            ),
            C("0120", "Identification of alternative ICT TPP", required="cond"),
        ),
    ),
    TemplateSpec(
        "B_99.01",
        "Definitions from entities making use of the ICT services",
        tuple(
            C(f"{n:04d}", label, required=False)
            for n, label in zip(
                range(10, 200, 10),
                [
                    "Meaning of 'standalone arrangement' (B_02.01.0020)",
                    "Meaning of 'overarching arrangement' (B_02.01.0020)",
                    "Meaning of 'subsequent or associated arrangement' (B_02.01.0020)",
                    "Meaning of data sensitiveness 'low' (B_02.02.0170)",
                    "Meaning of data sensitiveness 'medium' (B_02.02.0170)",
                    "Meaning of data sensitiveness 'high' (B_02.02.0170)",
                    "Meaning of impact of discontinuing the function 'low' (B_06.01.0110)",
                    "Meaning of impact of discontinuing the function 'medium' (B_06.01.0110)",
                    "Meaning of impact of discontinuing the function 'high' (B_06.01.0110)",
                    "Meaning of 'not substitutable' (B_07.01.0050)",
                    "Meaning of 'highly complex substitutability' (B_07.01.0050)",
                    "Meaning of 'medium complexity' substitutability (B_07.01.0050)",
                    "Meaning of 'easily substitutable' (B_07.01.0050)",
                    "Meaning of reintegration 'easy' (B_07.01.0090)",
                    "Meaning of reintegration 'difficult' (B_07.01.0090)",
                    "Meaning of reintegration 'highly complex' (B_07.01.0090)",
                    "Meaning of impact of discontinuing the ICT services 'low' (B_07.01.0100)",
                    "Meaning of impact of discontinuing the ICT services 'medium' (B_07.01.0100)",
                    "Meaning of impact of discontinuing the ICT services 'high' (B_07.01.0100)",
                ],
                strict=True,
            )
        ),
        required=False,
        single_row=True,
    ),
]

TEMPLATES: dict[str, TemplateSpec] = {t.code: t for t in _T}


def template(code: str) -> TemplateSpec:
    return TEMPLATES[code]
