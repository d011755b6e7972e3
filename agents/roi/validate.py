"""Validation of a register of information (CIR (EU) 2024/2956), every problem located.

Why one pass that collects instead of failing fast: a register has hundreds of rows
across 15 templates and the people fixing it need the whole list, each problem with its
template, spreadsheet row and column (``B_02.02.0060``), the offending value and the rule's
legal basis. Checks, in order:

1. files and columns: required templates present (B_01.01, B_01.02, B_02.01, B_02.02,
   B_03.01, B_03.02, B_04.01, B_05.01, B_06.01, B_07.01), no mandatory column missing;
2. cells: mandatory values, formats (ISO 8601 dates, whole numbers, amounts), code lists
   (ISO 3166 countries, ISO 4217 currencies, ICT service types S01-S19 of Annex III, the
   closed lists of Annex I), LEI check digits (ISO 17442 / ISO 7064 MOD 97-10), EUID
   structure; each valid value is normalised (``eba_GA:DE`` -> ``DE``) for later steps;
3. keys: taxonomy primary keys never empty ("Not applicable" where a key column does not
   apply, EBA Q&A 2024_7285) and never duplicated (EBA rejection checks 805/806);
4. conditional fields (e.g. data locations when data is stored, the reason when a
   provider is not substitutable, RTO/RPO for critical functions);
5. identifier rules by provider type (Art. 3(5)-(6)): legal persons LEI or EUID, legal
   persons outside the EU LEI only, other codes only for individuals; subcontractors
   underpinning critical functions LEI or EUID; the same code with the same type everywhere;
6. referential integrity between templates (the four linking keys of recital 8:
   arrangement reference, entity/provider identifier, function identifier, ICT service
   type; EBA rejection check 807);
7. date conventions: 9999-12-31 where no date applies (B_01.02.0090, B_02.02.0080,
   B_06.01.0080, B_07.01.0070), start before end, no past dates in the future;
8. completeness warnings (arrangements without services, providers nobody uses, services
   supporting critical functions without a B_07.01 assessment is an error).

"Error" means the register does not meet the ITS; "warning" a likely data-quality issue.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from agents.roi.codelists import EU_MEMBER_STATES, code_lists
from agents.roi.identifiers import euid_problem, lei_problem, parse_code_type
from agents.roi.loader import LoadedTemplate, Register, Row, load_register
from agents.roi.models import Issue, Severity, TemplateSummary, ValidationReport
from agents.roi.templates import TEMPLATES, ColumnSpec, TemplateSpec

__all__ = [
    "NO",
    "NOT_APPLICABLE",
    "OPEN_DATE",
    "YES",
    "validate_directory",
    "validate_register",
]

ITS = "CIR (EU) 2024/2956"
OPEN_DATE = "9999-12-31"
NOT_APPLICABLE = "Not applicable"
YES, NO, NOT_ASSESSED = "eba_BT:x28", "eba_BT:x29", "eba_BT:x21"
BRANCH = "eba_ZZ:x838"
LEGAL_PERSON, INDIVIDUAL = "eba_CT:x212", "eba_CT:x213"
SUBSEQUENT, OVERARCHING = "eba_CO:x3", "eba_CO:x2"
HARD_TO_SUBSTITUTE = ("eba_ZZ:x959", "eba_ZZ:x960")
#: templates every register has (entity, arrangements, providers, functions, assessment)
REQUIRED_TEMPLATES = tuple(code for code, t in TEMPLATES.items() if t.required)
#: key columns where a value may genuinely not apply: "Not applicable" is reported there
NA_KEYS = {
    ("B_02.02", "0150"),
    ("B_02.02", "0160"),
    ("B_04.01", "0040"),
    ("B_05.02", "0060"),
    ("B_05.02", "0070"),
}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INT = re.compile(r"^\d+(\.0+)?$")  # "180.0" is what spreadsheets often write for 180
_AMOUNT = re.compile(r"^-?\d+(\.\d+)?$")


class _Checker:
    def __init__(self, register: Register) -> None:
        self.reg = register
        self.issues: list[Issue] = list(register.issues)
        self.lists = code_lists()
        self.reporting_date: dt.date | None = None

    # ------------------------------------------------------------ helpers
    def add(
        self,
        severity: Severity,
        rule: str,
        t: LoadedTemplate | TemplateSpec | str,
        row: Row | None,
        column: str | None,
        message: str,
        reference: str = "",
        *,
        value: str | None = None,
        blocking: bool = False,
    ) -> None:
        file: str | None
        if isinstance(t, LoadedTemplate):
            code, file = t.spec.code, t.file
        elif isinstance(t, TemplateSpec):
            code = t.code
            file = self.reg.templates[code].file if code in self.reg.templates else None
        else:
            code = t
            file = self.reg.templates[code].file if code in self.reg.templates else None
        if value is None and row is not None and column is not None:
            value = row.values.get(column) or None
        self.issues.append(
            Issue(
                severity=severity,
                rule=rule,
                template=code,
                file=file,
                row=row.number if row else None,
                column=f"{code}.{column}" if column else None,
                value=value,
                message=message,
                reference=reference or f"{ITS} Annex I, {code}",
                blocking=blocking,
            )
        )

    def rows(self, code: str) -> list[Row]:
        return self.reg.rows(code)

    def tpl(self, code: str) -> LoadedTemplate | None:
        return self.reg.templates.get(code)

    # ------------------------------------------------------------ 1. files and columns
    def files(self) -> None:
        for code in REQUIRED_TEMPLATES:
            if code not in self.reg.templates:
                self.add(
                    "error",
                    "file.missing",
                    code,
                    None,
                    None,
                    f"template {code} ({TEMPLATES[code].name}) is missing: expected a file "
                    f"named {code}.csv or {code}.xlsx",
                    f"{ITS} Art. 5",
                )
        for t in self.reg.templates.values():
            present = set(t.columns)
            for col in t.spec.columns:
                if col.code not in present and (col.required is True or col.key):
                    self.add(
                        "error",
                        "column.missing",
                        t,
                        None,
                        col.code,
                        f"mandatory column {t.spec.code}.{col.code} ({col.name}) is missing",
                    )
            if t.spec.single_row and len(t.rows) > 1:
                self.add(
                    "error",
                    "template.rows",
                    t,
                    t.rows[1],
                    None,
                    f"{t.spec.code} has exactly one row; found {len(t.rows)}",
                )
            if t.spec.code == "B_01.01" and not t.rows:
                self.add("error", "template.rows", t, None, None, "B_01.01 has no row")

    # ------------------------------------------------------------ 2. cells
    def cells(self) -> None:
        for t in self.reg.templates.values():
            present = set(t.columns)
            for row in t.rows:
                for col in t.spec.columns:
                    if col.code in present:
                        self.cell(t, row, col)
                for col in t.spec.columns:  # identification codes need their type first
                    if col.kind == "code" and col.code in row.clean:
                        self.code_value(t, row, col)
        b0101 = self.rows("B_01.01")
        if b0101 and isinstance(b0101[0].clean.get("0060"), str):
            self.reporting_date = dt.date.fromisoformat(b0101[0].clean["0060"])

    def cell(self, t: LoadedTemplate, row: Row, col: ColumnSpec) -> None:
        raw = row.values.get(col.code, "").strip()
        if not raw:
            if col.open_date:
                self.add(
                    "error",
                    "date.open_end",
                    t,
                    row,
                    col.code,
                    f"{col.name} is empty: report {OPEN_DATE} where no date applies",
                    f"{ITS} Annex I, {t.spec.code}.{col.code}",
                )
            elif col.key and (t.spec.code, col.code) not in NA_KEYS:
                self.add(
                    "error",
                    "key.empty",
                    t,
                    row,
                    col.code,
                    f"key column {col.name} is empty; key fields must never be empty",
                    "EBA Q&A 2024_7285; EBA rejection check 805 (numbering UNCONFIRMED)",
                    blocking=True,
                )
            elif col.key:
                pass  # checked with the conditional rules (needs "Not applicable")
            elif col.required is True:
                self.add(
                    "error",
                    "mandatory.empty",
                    t,
                    row,
                    col.code,
                    f"{col.name} is mandatory and empty",
                )
            return
        if raw.lower() == NOT_APPLICABLE.lower() and (t.spec.code, col.code) in NA_KEYS:
            row.clean[col.code] = NOT_APPLICABLE
            return
        clean, problem, rule = self.normalise(col, raw)
        if problem:
            self.add("error", rule, t, row, col.code, problem, self.reference(t.spec, col))
        else:
            row.clean[col.code] = clean

    def reference(self, spec: TemplateSpec, col: ColumnSpec) -> str:
        return {
            "lei": f"{ITS} Art. 3(5); ISO 17442",
            "country": f"{ITS} Annex I, {spec.code}.{col.code}; ISO 3166-1 alpha-2",
            "currency": f"{ITS} Annex I, {spec.code}.{col.code}; ISO 4217",
            "service": f"{ITS} Annex III (S01-S19)",
            "date": f"{ITS} Annex I, {spec.code}.{col.code}; ISO 8601 (YYYY-MM-DD)",
            "code_type": f"{ITS} Art. 3(5); Annex I, {spec.code}.{col.code}",
        }.get(col.kind, f"{ITS} Annex I, {spec.code}.{col.code}")

    def normalise(self, col: ColumnSpec, raw: str) -> tuple[Any, str | None, str]:
        kind = col.kind
        if kind in ("text", "ref", "function", "code"):
            return raw, None, ""
        if kind == "lei":
            problem = lei_problem(raw)
            return (
                raw,
                problem,
                "lei.checksum" if problem and "check digits" in problem else "lei.format",
            )
        if kind == "country":
            value = self.lists.country(raw)
            return (
                value,
                None if value else f"{raw!r} is not an ISO 3166-1 alpha-2 country code",
                "codelist.country",
            )
        if kind == "currency":
            value = self.lists.currency(raw)
            return (
                value,
                None if value else f"{raw!r} is not an ISO 4217 currency code",
                "codelist.currency",
            )
        if kind == "service":
            value = self.lists.service_type(raw)
            return (
                value,
                None if value else f"{raw!r} is not an ICT service type S01-S19 of Annex III",
                "codelist.service_type",
            )
        if kind == "enum":
            assert col.enum is not None
            enum = self.lists.enumerations[col.enum]
            value = enum.lookup(raw)
            return (
                value,
                None if value else f"{raw!r} is not one of: {enum.describe()}",
                "codelist.value",
            )
        if kind == "code_type":
            parsed = parse_code_type(raw)
            if parsed is None:
                return (
                    None,
                    (f"{raw!r} is not a type of code: use LEI, EUID or <country>_CRN|VAT|PNR|NIN"),
                    "identifier.type",
                )
            if parsed.country and parsed.country not in self.lists.countries:
                return (
                    None,
                    f"{parsed.country!r} in {raw!r} is not an ISO 3166 country",
                    "identifier.type",
                )
            return parsed.canonical, None, ""
        if kind == "date":
            if not _DATE.match(raw):
                return None, f"{raw!r} is not a date in ISO 8601 format YYYY-MM-DD", "format.date"
            try:
                dt.date.fromisoformat(raw)
            except ValueError:
                return None, f"{raw!r} is not a calendar date", "format.date"
            return raw, None, ""
        if kind == "integer":
            if not _INT.match(raw):
                return None, f"{raw!r} is not a whole number >= 0", "format.integer"
            return int(raw.split(".", maxsplit=1)[0]), None, ""
        if kind == "amount":
            text = raw.replace(" ", "")
            if not _AMOUNT.match(text):
                return (
                    None,
                    f"{raw!r} is not an amount (digits, '.' as decimal separator)",
                    "format.amount",
                )
            amount = float(text)
            if amount < 0:
                return None, f"amount {raw} is negative", "format.amount"
            return amount, None, ""
        return raw, None, ""  # pragma: no cover - every kind is handled above

    def code_value(self, t: LoadedTemplate, row: Row, col: ColumnSpec) -> None:
        value = row.clean[col.code]
        if value == NOT_APPLICABLE or col.type_column is None:
            return
        kind = row.clean.get(col.type_column)
        if kind == "LEI":
            problem = lei_problem(value)
            if problem:
                rule = "lei.checksum" if "check digits" in problem else "lei.format"
                self.add("error", rule, t, row, col.code, problem, f"{ITS} Art. 3(5); ISO 17442")
        elif kind == "EUID":
            problem = euid_problem(value)
            if problem:
                self.add(
                    "error",
                    "euid.format",
                    t,
                    row,
                    col.code,
                    problem,
                    f"{ITS} Art. 3(5); Directive (EU) 2017/1132 Art. 16",
                )

    # ------------------------------------------------------------ 3. keys
    def keys(self) -> None:
        for t in self.reg.templates.values():
            keys = [k for k in t.spec.keys if k in t.columns]
            if not keys:
                continue
            seen: dict[tuple[Any, ...], Row] = {}
            for row in t.rows:
                key = tuple(str(row.get(k)) for k in keys)
                if not all(key):
                    continue
                if key in seen:
                    self.add(
                        "error",
                        "key.duplicate",
                        t,
                        row,
                        keys[0],
                        f"duplicate key ({', '.join(f'{t.spec.code}.{k}' for k in keys)}) = "
                        f"({', '.join(key)}); first in row {seen[key].number}",
                        "EBA rejection check 806 (numbering UNCONFIRMED)",
                        value=" | ".join(key),
                        blocking=True,
                    )
                else:
                    seen[key] = row

    # ------------------------------------------------------------ helpers over templates
    def critical_functions(self) -> set[str]:
        return {str(r.get("0010")) for r in self.rows("B_06.01") if r.clean.get("0060") == YES}

    def entity_leis(self) -> set[str]:
        return {str(r.get("0010")) for r in self.rows("B_01.02")} | {
            str(r.get("0010")) for r in self.rows("B_01.01")
        }

    def require(self, t: LoadedTemplate, row: Row, code: str, why: str, ref: str = "") -> None:
        if not row.values.get(code, "").strip() or row.clean.get(code) == NOT_APPLICABLE:
            name = t.spec.columns_by_code[code].name
            self.add(
                "error", "mandatory.conditional", t, row, code, f"{name} is required {why}", ref
            )

    def na_key(self, t: LoadedTemplate, row: Row, code: str, why: str) -> None:
        """A key column that does not apply must say "Not applicable", not be empty."""
        if not row.values.get(code, "").strip():
            self.add(
                "error",
                "key.empty",
                t,
                row,
                code,
                f"key column {t.spec.columns_by_code[code].name} is empty; {why} report "
                f"'{NOT_APPLICABLE}'",
                "EBA Q&A 2024_7285; EBA rejection check 805 (numbering UNCONFIRMED)",
                blocking=True,
            )

    # ------------------------------------------------------------ 4. conditional fields
    def conditionals(self) -> None:
        critical = self.critical_functions()
        today = self.reporting_date
        if t := self.tpl("B_02.01"):
            types = {str(r.get("0010")): r.clean.get("0020") for r in t.rows}
            for row in t.rows:
                if row.clean.get("0020") == SUBSEQUENT:
                    self.require(t, row, "0030", "for a subsequent or associated arrangement")
                    parent = row.values.get("0030", "").strip()
                    if parent and parent in types and types[parent] != OVERARCHING:
                        self.add(
                            "error",
                            "ref.overarching",
                            t,
                            row,
                            "0030",
                            f"{parent!r} is not an overarching arrangement in B_02.01",
                        )
        if t := self.tpl("B_02.02"):
            for row in t.rows:
                start, end = row.clean.get("0070"), row.clean.get("0080")
                if isinstance(start, str) and isinstance(end, str) and end < start:
                    self.add(
                        "error",
                        "date.order",
                        t,
                        row,
                        "0070",
                        f"start date {start} is after the end date {end} (0080)",
                    )
                if (
                    isinstance(end, str)
                    and end != OPEN_DATE
                    and today is not None
                    and dt.date.fromisoformat(end) <= today
                ):
                    self.require(t, row, "0090", f"when the arrangement ended ({end})")
                if row.clean.get("0140") == YES:
                    for code in ("0150", "0160", "0170"):
                        self.require(t, row, code, "when the ICT service stores data (0140 = Yes)")
                else:
                    for code in ("0150", "0160"):
                        self.na_key(t, row, code, "without data storage")
                if str(row.get("0050")) in critical:
                    self.require(
                        t,
                        row,
                        "0180",
                        "for an ICT service supporting a critical or important function",
                    )
        if t := self.tpl("B_04.01"):
            for row in t.rows:
                if row.clean.get("0030") == BRANCH:
                    self.require(t, row, "0040", "for a branch (0030)")
                else:
                    self.na_key(t, row, "0040", "for an entity that is not a branch")
        if t := self.tpl("B_05.01"):
            for row in t.rows:
                if row.values.get("0030", "").strip():
                    self.require(t, row, "0040", "when an additional code is given (0030)")
                if row.values.get("0110", "").strip():
                    self.require(t, row, "0120", "when an ultimate parent is given (0110)")
        if t := self.tpl("B_05.02"):
            for row in t.rows:
                rank = row.clean.get("0050")
                if isinstance(rank, int) and rank < 1:
                    self.add(
                        "error",
                        "format.rank",
                        t,
                        row,
                        "0050",
                        "rank starts at 1 (the direct ICT third-party service provider)",
                        f"{ITS} Art. 1-2",
                    )
                if isinstance(rank, int) and rank > 1:
                    self.require(t, row, "0060", "for a subcontractor (rank > 1)", f"{ITS} Art. 2")
                    self.require(t, row, "0070", "for a subcontractor (rank > 1)", f"{ITS} Art. 2")
                else:
                    self.na_key(t, row, "0060", "for the direct provider (rank 1)")
        if t := self.tpl("B_06.01"):
            for row in t.rows:
                if row.clean.get("0060") == YES:
                    for code in ("0070", "0090", "0100"):
                        self.require(t, row, code, "for a critical or important function")
        if t := self.tpl("B_07.01"):
            for row in t.rows:
                if row.clean.get("0050") in HARD_TO_SUBSTITUTE:
                    self.require(
                        t, row, "0060", "when substitution is impossible or highly complex"
                    )
                if row.clean.get("0110") == YES:
                    self.require(t, row, "0120", "when alternative providers were identified")

    # ------------------------------------------------------------ 5. identifier rules
    def identifiers(self) -> None:
        t = self.tpl("B_05.01")
        types: dict[str, str] = {}
        if t:
            for row in t.rows:
                code, kind = row.clean.get("0010"), row.clean.get("0020")
                if isinstance(code, str) and isinstance(kind, str):
                    types[code] = kind
                person, country = row.clean.get("0070"), row.clean.get("0080")
                for type_col in ("0020", "0040"):
                    kind_v = row.clean.get(type_col)
                    if not isinstance(kind_v, str):
                        continue
                    parsed = parse_code_type(kind_v)
                    if parsed is None:
                        continue
                    if person == LEGAL_PERSON and not parsed.legal_person_code:
                        self.add(
                            "error",
                            "identifier.legal_person",
                            t,
                            row,
                            type_col,
                            f"{kind_v} identifies only individuals acting in a business "
                            "capacity; a legal person is identified by LEI or EUID",
                            f"{ITS} Art. 3(5)",
                        )
                    elif (
                        person == LEGAL_PERSON
                        and isinstance(country, str)
                        and country not in EU_MEMBER_STATES
                        and parsed.kind == "EUID"
                    ):
                        self.add(
                            "error",
                            "identifier.third_country",
                            t,
                            row,
                            type_col,
                            f"a legal person headquartered outside the EU ({country}) is "
                            "identified by LEI only",
                            f"{ITS} Art. 3(5)",
                        )
        # the same provider code must carry the same type of code everywhere
        for code, code_col, type_col in (
            ("B_02.02", "0030", "0040"),
            ("B_03.02", "0020", "0030"),
            ("B_05.02", "0030", "0040"),
            ("B_07.01", "0020", "0030"),
        ):
            lt = self.tpl(code)
            if not lt:
                continue
            for row in lt.rows:
                prov, kind = row.clean.get(code_col), row.clean.get(type_col)
                if (
                    isinstance(prov, str)
                    and isinstance(kind, str)
                    and prov in types
                    and types[prov] != kind
                ):
                    self.add(
                        "error",
                        "identifier.type_mismatch",
                        lt,
                        row,
                        type_col,
                        f"provider {prov} has type of code {types[prov]} in B_05.01 but "
                        f"{kind} here",
                        f"{ITS} recital 8 (consistent identifiers)",
                    )
        # Art. 3(6): subcontractors underpinning critical functions need LEI or EUID
        critical = self.critical_functions()
        crit_refs = {
            str(r.get("0010")) for r in self.rows("B_02.02") if str(r.get("0050")) in critical
        }
        if lt := self.tpl("B_05.02"):
            for row in lt.rows:
                rank, kind = row.clean.get("0050"), row.clean.get("0040")
                if (
                    isinstance(rank, int)
                    and rank > 1
                    and str(row.get("0010")) in crit_refs
                    and isinstance(kind, str)
                    and kind not in ("LEI", "EUID")
                ):
                    self.add(
                        "error",
                        "identifier.subcontractor",
                        lt,
                        row,
                        "0040",
                        "a subcontractor effectively underpinning an ICT service that supports "
                        f"a critical or important function is identified by LEI or EUID, not {kind}",
                        f"{ITS} Art. 3(6)",
                    )

    # ------------------------------------------------------------ 6. referential integrity
    def references(self) -> None:
        refs = {str(r.get("0010")) for r in self.rows("B_02.01")}
        providers = {str(r.get("0010")) for r in self.rows("B_05.01")}
        functions = {str(r.get("0010")) for r in self.rows("B_06.01")}
        entities = self.entity_leis()
        branches = {str(r.get("0010")) for r in self.rows("B_01.03")}
        have = self.reg.templates

        def fk(code: str, col: str, targets: set[str], target: str, skip_na: bool = False) -> None:
            lt = self.tpl(code)
            if not lt or col not in lt.columns:
                return
            target_code = target.rsplit(".", 1)[0]
            if target_code not in have and target_code != "B_01.02/B_01.01":
                return  # the missing template is already reported
            for row in lt.rows:
                value = row.clean.get(col)
                if not isinstance(value, str) or not value or (skip_na and value == NOT_APPLICABLE):
                    continue
                if value not in targets:
                    self.add(
                        "error",
                        "ref.missing",
                        lt,
                        row,
                        col,
                        f"{value!r} is not in {target}",
                        f"{ITS} recital 8; EBA rejection check 807 (numbering UNCONFIRMED)",
                        blocking=True,
                    )

        for code in (
            "B_02.02",
            "B_02.03",
            "B_03.01",
            "B_03.02",
            "B_03.03",
            "B_04.01",
            "B_05.02",
            "B_07.01",
        ):
            fk(code, "0010", refs, "B_02.01.0010")
        fk("B_02.01", "0030", refs, "B_02.01.0010")
        fk("B_02.03", "0020", refs, "B_02.01.0010")
        fk("B_02.02", "0030", providers, "B_05.01.0010")
        fk("B_03.02", "0020", providers, "B_05.01.0010")
        fk("B_05.02", "0030", providers, "B_05.01.0010")
        fk("B_05.02", "0060", providers, "B_05.01.0010", skip_na=True)
        fk("B_07.01", "0020", providers, "B_05.01.0010")
        # an intra-group provider's ultimate parent may be the group's own parent entity
        fk("B_05.01", "0110", providers | entities, "B_05.01.0010 or B_01.02.0010")
        fk("B_02.02", "0050", functions, "B_06.01.0010")
        for code, col in (
            ("B_02.02", "0020"),
            ("B_03.01", "0020"),
            ("B_04.01", "0020"),
            ("B_06.01", "0040"),
            ("B_01.03", "0020"),
            ("B_03.03", "0020"),
        ):
            if "B_01.02" in have:
                fk(code, col, entities, "B_01.02.0010")
        fk("B_04.01", "0040", branches, "B_01.03.0010", skip_na=True)
        # the entity maintaining the register is one of the entities in its scope
        if "B_01.02" in have:
            fk(
                "B_01.01",
                "0010",
                {str(r.get("0010")) for r in self.rows("B_01.02")},
                "B_01.02.0010",
            )
        # B_07.01 assesses an ICT service that B_02.02 records (arrangement, provider, type)
        services = {
            (str(r.get("0010")), str(r.get("0030")), str(r.get("0060")))
            for r in self.rows("B_02.02")
        }
        if (lt := self.tpl("B_07.01")) and "B_02.02" in have:
            for row in lt.rows:
                key = (str(row.get("0010")), str(row.get("0020")), str(row.get("0040")))
                clean = "0040" in row.clean and key[1] in providers
                if clean and all(key) and key[0] in refs and key not in services:
                    self.add(
                        "error",
                        "ref.service",
                        lt,
                        row,
                        "0040",
                        f"no B_02.02 row for arrangement {key[0]}, provider {key[1]} and ICT "
                        f"service type {key[2]}",
                        f"{ITS} recital 8",
                    )
        # services supporting critical functions must be assessed in B_07.01
        critical = self.critical_functions()
        assessed = {
            (str(r.get("0010")), str(r.get("0020")), str(r.get("0040")))
            for r in self.rows("B_07.01")
        }
        if (lt := self.tpl("B_02.02")) and "B_07.01" in have:
            for row in lt.rows:
                key = (str(row.get("0010")), str(row.get("0030")), str(row.get("0060")))
                clean = "0060" in row.clean and key[1] in providers  # else already reported
                if clean and str(row.get("0050")) in critical and all(key) and key not in assessed:
                    self.add(
                        "error",
                        "assessment.missing",
                        lt,
                        row,
                        "0060",
                        f"ICT service {key[2]} of {key[1]} under {key[0]} supports critical or "
                        "important function "
                        f"{row.get('0050')} but has no assessment in B_07.01",
                        f"{ITS} Annex I, B_07.01; DORA Art. 28(3)",
                    )

    # ------------------------------------------------------------ 7. dates
    def dates(self) -> None:
        today = self.reporting_date
        if t := self.tpl("B_01.02"):
            for row in t.rows:
                start, end = row.clean.get("0080"), row.clean.get("0090")
                if isinstance(start, str) and isinstance(end, str) and end < start:
                    self.add(
                        "error",
                        "date.order",
                        t,
                        row,
                        "0090",
                        f"deletion date {end} is before integration date {start}",
                    )
        if today is None:
            return
        for code, col in (
            ("B_01.02", "0070"),
            ("B_01.02", "0080"),
            ("B_06.01", "0080"),
            ("B_07.01", "0070"),
        ):
            lt = self.tpl(code)
            if not lt:
                continue
            for row in lt.rows:
                value = row.clean.get(col)
                if (
                    isinstance(value, str)
                    and value != OPEN_DATE
                    and dt.date.fromisoformat(value) > today
                ):
                    self.add(
                        "error",
                        "date.future",
                        lt,
                        row,
                        col,
                        f"{value} is after the reporting date {today.isoformat()} "
                        f"(B_01.01.0060); use {OPEN_DATE} when there is no such date",
                    )

    # ------------------------------------------------------------ 8. completeness
    def completeness(self) -> None:
        used_refs = Counter(str(r.get("0010")) for r in self.rows("B_02.02"))
        overarching = {
            str(r.get("0010")) for r in self.rows("B_02.01") if r.clean.get("0020") == OVERARCHING
        }
        if (t := self.tpl("B_02.01")) and "B_02.02" in self.reg.templates:
            for row in t.rows:
                ref = str(row.get("0010"))
                if ref and ref not in used_refs and ref not in overarching:
                    self.add(
                        "warning",
                        "completeness.arrangement",
                        t,
                        row,
                        "0010",
                        f"arrangement {ref} has no ICT service in B_02.02",
                    )
        used: defaultdict[str, int] = defaultdict(int)
        for code, col in (
            ("B_02.02", "0030"),
            ("B_03.02", "0020"),
            ("B_05.02", "0030"),
            ("B_05.02", "0060"),
            ("B_05.01", "0110"),
            ("B_07.01", "0020"),
        ):
            for r in self.rows(code):
                used[str(r.get(col))] += 1
        if t := self.tpl("B_05.01"):
            for row in t.rows:
                code = str(row.get("0010"))
                if code and not used.get(code):
                    self.add(
                        "warning",
                        "completeness.provider",
                        t,
                        row,
                        "0010",
                        f"provider {code} is not used by any arrangement or supply chain",
                    )
        if (t := self.tpl("B_06.01")) and "B_02.02" in self.reg.templates:
            supported = {str(r.get("0050")) for r in self.rows("B_02.02")}
            for row in t.rows:
                fid = str(row.get("0010"))
                if fid and fid not in supported:
                    self.add(
                        "warning",
                        "completeness.function",
                        t,
                        row,
                        "0010",
                        f"function {fid} is not supported by any ICT service in B_02.02",
                    )

    def run(self) -> list[Issue]:
        self.files()
        self.cells()
        self.keys()
        self.conditionals()
        self.identifiers()
        self.references()
        self.dates()
        self.completeness()
        return self.issues


def _sort_key(issue: Issue) -> tuple[Any, ...]:
    order = list(TEMPLATES)
    t = order.index(issue.template) if issue.template in TEMPLATES else -1
    return (t, issue.row or 0, issue.column or "", issue.rule)


def validate_register(register: Register) -> ValidationReport:
    """Check ``register`` (normalising its values in place) and report every problem."""
    checker = _Checker(register)
    issues = sorted(checker.run(), key=_sort_key)
    errors = sum(1 for i in issues if i.severity == "error")
    summaries = []
    for code, t in register.templates.items():
        own = [i for i in issues if i.template == code]
        summaries.append(
            TemplateSummary(
                template=code,
                file=t.file,
                rows=len(t.rows),
                errors=sum(1 for i in own if i.severity == "error"),
                warnings=sum(1 for i in own if i.severity == "warning"),
            )
        )
    summaries.sort(key=lambda s: list(TEMPLATES).index(s.template))
    entity = register.rows("B_01.01")
    return ValidationReport(
        directory=str(register.directory),
        valid=errors == 0,
        error_count=errors,
        warning_count=len(issues) - errors,
        templates=summaries,
        issues=issues,
        entity_lei=str(entity[0].get("0010")) or None if entity else None,
        entity_name=str(entity[0].get("0020")) or None if entity else None,
        reporting_date=checker.reporting_date.isoformat() if checker.reporting_date else None,
    )


def validate_directory(directory: str | Path) -> tuple[Register, ValidationReport]:
    """Load and validate the register in ``directory``."""
    register = load_register(directory)
    return register, validate_register(register)
