"""Read a register of information from a directory of CSV or XLSX files.

Files are named by template code (``B_02.02.csv``, ``b_02.02.xlsx``, ``B_02.02 contracts.csv``);
a workbook whose name is not a template code is read sheet by sheet, each sheet named by
template code. Headers name columns by their OJ code (``0010``, ``B_02.02.0010``, optionally
followed by the column name) or by the EBA taxonomy code (``c0010``; for B_06.01 the
taxonomy's shifted numbering is translated back). Values stay text here: the validator
normalises them, so a bad cell becomes a located issue instead of an exception.

Row numbers are spreadsheet rows: the header is row 1, the first data row is row 2.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.roi.models import Issue
from agents.roi.templates import TEMPLATES, TemplateSpec

__all__ = ["LoadedTemplate", "Register", "Row", "load_register", "template_code_of"]

# "B_02.02", "b_02.02" (EBA CSV names) and "RT.02.02" (the EBA's draft numbering)
_FILE = re.compile(r"^(?:[bB]_|RT\.|rt\.)(\d{2})[._](\d{2})(?![0-9])")
_HEADER = re.compile(r"^(?:(?:[bB]_|RT\.|rt\.)\d{2}\.\d{2}\.)?([cC])?(\d{4})(?![0-9])")
#: extra file read by the Art. 30 checklist (not an ITS template)
PROVISIONS_FILE = "contract_provisions"


@dataclass
class Row:
    number: int
    values: dict[str, str]  # OJ column code -> raw text
    clean: dict[str, Any] = field(default_factory=dict)  # normalised by the validator

    def get(self, code: str) -> Any:
        """Normalised value when there is one, else the raw text ('' when empty)."""
        if code in self.clean:
            return self.clean[code]
        return self.values.get(code, "")


@dataclass
class LoadedTemplate:
    spec: TemplateSpec
    file: str
    columns: list[str]  # OJ codes present, in file order
    rows: list[Row]


@dataclass
class Register:
    directory: Path
    templates: dict[str, LoadedTemplate]
    issues: list[Issue]
    provisions: list[Row] | None = None  # contract_provisions.csv rows (raw headers)
    provisions_file: str | None = None

    def rows(self, code: str) -> list[Row]:
        loaded = self.templates.get(code)
        return loaded.rows if loaded else []


def template_code_of(name: str) -> str | None:
    m = _FILE.match(name)
    if not m:
        return None
    code = f"B_{m.group(1)}.{m.group(2)}"
    return code if code in TEMPLATES else None


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _decode(path: Path, issues: list[Issue] | None = None) -> str:
    """UTF-8 (with or without BOM); Excel's Windows-1252 exports are read with a warning."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        if issues is not None:
            issues.append(
                Issue(
                    severity="warning",
                    rule="file.encoding",
                    file=path.name,
                    message="not UTF-8; read as Windows-1252 (save the file as UTF-8)",
                    reference="CIR (EU) 2024/2956 Art. 3 (data quality)",
                )
            )
        return data.decode("cp1252", errors="replace")


def _read_csv(path: Path, issues: list[Issue] | None = None) -> list[list[str]]:
    text = _decode(path, issues)
    first = text.splitlines()[0] if text else ""
    delimiter = max((",", ";", "\t"), key=first.count) if first else ","
    return [[c.strip() for c in r] for r in csv.reader(text.splitlines(), delimiter=delimiter)]


def _read_sheet(ws: Any) -> list[list[str]]:
    return [[_cell(v) for v in row] for row in ws.iter_rows(values_only=True)]


def _header_code(spec: TemplateSpec, header: str) -> str | None:
    m = _HEADER.match(header.strip())
    if not m:
        return None
    number = m.group(2)
    if m.group(1):  # taxonomy code: translate shifted columns back to the OJ code
        for col in spec.columns:
            if spec.taxonomy_code(col.code) == f"c{number}":
                return col.code
        if spec.link_column == f"c{number}":
            return spec.link_column
        return None
    return number if number in spec.columns_by_code else None


def _table(
    spec: TemplateSpec, name: str, table: list[list[str]], issues: list[Issue]
) -> LoadedTemplate:
    if not table or not any(table[0]):
        issues.append(
            Issue(
                severity="error",
                rule="file.empty",
                template=spec.code,
                file=name,
                message="no header row",
                reference="CIR (EU) 2024/2956 Art. 4",
            )
        )
        return LoadedTemplate(spec, name, [], [])
    positions: dict[int, str] = {}
    for i, header in enumerate(table[0]):
        if not header:
            continue
        code = _header_code(spec, header)
        if code is None:
            issues.append(
                Issue(
                    severity="warning",
                    rule="column.unknown",
                    template=spec.code,
                    file=name,
                    row=1,
                    value=header,
                    message=f"column {header!r} is not a column of {spec.code}; ignored "
                    f"(expected {', '.join(c.code for c in spec.columns)})",
                    reference="CIR (EU) 2024/2956 Annex I",
                )
            )
            continue
        if code in positions.values():
            issues.append(
                Issue(
                    severity="error",
                    rule="column.duplicate",
                    template=spec.code,
                    file=name,
                    row=1,
                    column=f"{spec.code}.{code}",
                    message=f"column {spec.code}.{code} appears twice",
                    reference="CIR (EU) 2024/2956 Art. 4",
                )
            )
            continue
        positions[i] = code
    rows: list[Row] = []
    for number, raw in enumerate(table[1:], start=2):
        if not any(c.strip() for c in raw):
            continue
        values = {code: (raw[i].strip() if i < len(raw) else "") for i, code in positions.items()}
        values = {k: v for k, v in values.items() if not k.startswith("c")}  # link columns
        rows.append(Row(number, values))
    columns = [c for c in positions.values() if not c.startswith("c")]
    return LoadedTemplate(spec, name, columns, rows)


def _provisions(path: Path, issues: list[Issue]) -> list[Row]:
    table = _read_csv(path, issues)
    if not table:
        return []
    header = [h.strip() for h in table[0]]
    rows = []
    for number, raw in enumerate(table[1:], start=2):
        if any(c.strip() for c in raw):
            rows.append(
                Row(number, {h: (raw[i] if i < len(raw) else "") for i, h in enumerate(header)})
            )
    return rows


def load_register(directory: str | Path) -> Register:
    """Every template file in ``directory``; problems with files and headers become issues."""
    root = Path(directory)
    issues: list[Issue] = []
    templates: dict[str, LoadedTemplate] = {}
    if not root.is_dir():
        raise FileNotFoundError(f"register directory {root} does not exist")

    def add(code: str, name: str, table: list[list[str]]) -> None:
        if code in templates:
            issues.append(
                Issue(
                    severity="error",
                    rule="file.duplicate",
                    template=code,
                    file=name,
                    message=f"{code} is given twice ({templates[code].file} and {name})",
                    reference="CIR (EU) 2024/2956 Art. 4",
                )
            )
            return
        templates[code] = _table(TEMPLATES[code], name, table, issues)

    register = Register(root, templates, issues)
    for path in sorted(root.iterdir()):
        if not path.is_file() or path.name.startswith((".", "~$")):
            continue
        suffix = path.suffix.lower()
        code = template_code_of(path.name)
        if suffix == ".csv" and path.stem == PROVISIONS_FILE:
            register.provisions = _provisions(path, issues)
            register.provisions_file = path.name
        elif suffix == ".csv" and code:
            add(code, path.name, _read_csv(path, issues))
        elif suffix in (".xlsx", ".xlsm"):
            from openpyxl import load_workbook

            try:
                wb = load_workbook(path, read_only=True, data_only=True)
            except Exception as exc:  # openpyxl raises many types for a damaged file
                issues.append(
                    Issue(
                        severity="error",
                        rule="file.unreadable",
                        template=code,
                        file=path.name,
                        message=f"cannot read the workbook: {type(exc).__name__}: {exc}",
                        reference="CIR (EU) 2024/2956 Art. 4",
                    )
                )
                continue
            try:
                if code:
                    add(code, path.name, _read_sheet(wb.worksheets[0]))
                else:
                    for ws in wb.worksheets:
                        sheet_code = template_code_of(ws.title)
                        if sheet_code:
                            add(sheet_code, f"{path.name}[{ws.title}]", _read_sheet(ws))
            finally:
                wb.close()
        elif suffix in (".csv", ".xlsx") or code:
            issues.append(
                Issue(
                    severity="warning",
                    rule="file.unknown",
                    file=path.name,
                    message="not named by a template code (B_01.01 ... B_99.01); ignored",
                    reference="CIR (EU) 2024/2956 Art. 5",
                )
            )
    return register
