"""Read a table (CSV, XLSX or JSON) into typed rows, collecting *every* bad cell.

Inventories and registers come from spreadsheets people edit by hand. A reader that stops
at the first bad cell makes the owner fix one cell per run; this one validates every row
against a pydantic model and reports all problems at once, each with the file, the row
number a spreadsheet shows (header = row 1, so the first data row is row 2; JSON records
are numbered from 1) and the column.

Empty cells are ``None`` (so "missing" is one thing whatever the format). Unknown columns
are an error of the file, reported once, not once per row.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from dora.errors import DataValidationError

M = TypeVar("M", bound=BaseModel)

SUPPORTED = (".csv", ".xlsx", ".json")


@dataclass(frozen=True)
class RowError:
    """One located problem: ``file:row N: column: message``."""

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file + (f": row {self.row}" if self.row is not None else "")
        return (
            f"{where}: {self.column}: {self.message}" if self.column else f"{where}: {self.message}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "row": self.row, "column": self.column, "message": self.message}


class TableError(DataValidationError):
    """A table could not be read; carries every located problem (not just the first)."""

    def __init__(self, what: str, problems: Sequence[RowError], limit: int = 40) -> None:
        self.problems = list(problems)
        lines = [str(p) for p in self.problems[:limit]]
        more = len(self.problems) - limit
        if more > 0:
            lines.append(f"... and {more} more")
        n = len(self.problems)
        super().__init__(f"{what}: {n} problem{'s' if n != 1 else ''}:\n" + "\n".join(lines))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (str(self), [p.as_dict() for p in self.problems]))


def _rebuild(message: str, problems: list[dict[str, Any]]) -> TableError:
    err = TableError.__new__(TableError)
    DataValidationError.__init__(err, message)
    err.problems = [RowError(**p) for p in problems]
    return err


@dataclass(frozen=True)
class Row(Generic[M]):
    """A validated row and where it came from (for findings that point back at the file)."""

    file: str
    row: int
    value: M


def _cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, datetime):
        return value.date() if value.time() == datetime.min.time() else value
    if isinstance(value, str):
        text = value.strip()
        return text or None
    return value


def _read_raw(path: Path) -> tuple[list[str] | None, list[tuple[int, dict[str, Any]]]]:
    """Header (None for JSON) and (row number, raw mapping) pairs."""
    suffix = path.suffix.lower()
    name = str(path)
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as fh:
            sample = fh.read(4096)
            fh.seek(0)
            try:
                dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
            except csv.Error:
                dialect = csv.excel
            reader = csv.reader(fh, dialect)
            rows = list(reader)
        if not rows:
            raise TableError(name, [RowError(name, None, None, "the file is empty")])
        header = [h.strip() for h in rows[0]]
        out = []
        for i, cells in enumerate(rows[1:], start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(header):
                raise TableError(
                    name,
                    [
                        RowError(
                            name, i, None, f"{len(cells)} cells but the header has {len(header)}"
                        )
                    ],
                )
            out.append((i, {h: _cell(c) for h, c in zip(header, cells, strict=False)}))
        return header, out
    if suffix == ".xlsx":
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a broken file
            raise TableError(
                name, [RowError(name, None, None, f"not a readable XLSX file: {exc}")]
            ) from None
        ws = wb.worksheets[0]
        all_rows = list(ws.iter_rows(values_only=True))
        wb.close()
        if not all_rows:
            raise TableError(name, [RowError(name, None, None, "the first sheet is empty")])
        header = [str(h).strip() if h is not None else "" for h in all_rows[0]]
        out = []
        for i, cells in enumerate(all_rows[1:], start=2):
            if all(_cell(c) is None for c in cells):
                continue
            out.append((i, {h: _cell(c) for h, c in zip(header, cells, strict=False) if h}))
        return header, out
    if suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise TableError(
                name,
                [RowError(name, exc.lineno, None, f"invalid JSON (line {exc.lineno}): {exc.msg}")],
            ) from None
        if isinstance(data, dict):
            lists = [v for v in data.values() if isinstance(v, list)]
            if len(lists) != 1:
                raise TableError(
                    name,
                    [
                        RowError(
                            name,
                            None,
                            None,
                            "expected a JSON list of records or an object with one list",
                        )
                    ],
                )
            data = lists[0]
        if not isinstance(data, list):
            raise TableError(name, [RowError(name, None, None, "expected a JSON list of records")])
        out = []
        for i, rec in enumerate(data, start=1):
            if not isinstance(rec, dict):
                raise TableError(name, [RowError(name, i, None, "record is not a JSON object")])
            out.append((i, {str(k): _cell(v) for k, v in rec.items()}))
        return None, out
    raise TableError(
        name,
        [
            RowError(
                name, None, None, f"unsupported file type {suffix!r}; use {', '.join(SUPPORTED)}"
            )
        ],
    )


def read_table(path: str | Path, model: type[M], what: str = "table") -> list[Row[M]]:
    """Every row of ``path`` validated against ``model``; raises :class:`TableError` with all problems."""
    p = Path(path)
    name = str(path)
    if not p.is_file():
        raise TableError(what, [RowError(name, None, None, "file not found")])
    header, raw = _read_raw(p)
    known = set(model.model_fields)
    problems: list[RowError] = []
    if header is not None:
        unknown = [h for h in header if h and h not in known]
        for unknown_col in unknown:
            problems.append(
                RowError(
                    name,
                    1,
                    unknown_col,
                    f"unknown column; expected some of: {', '.join(model.model_fields)}",
                )
            )
        required = [f for f, info in model.model_fields.items() if info.is_required()]
        for req in required:
            if req not in header:
                problems.append(RowError(name, 1, req, "required column is missing"))
        if problems:
            raise TableError(f"{what} {name}", problems)
    rows: list[Row[M]] = []
    for number, record in raw:
        if header is None:
            for extra in sorted(set(record) - known):
                problems.append(RowError(name, number, extra, "unknown field"))
        record = {k: v for k, v in record.items() if k in known}  # noqa: PLW2901
        try:
            rows.append(Row(name, number, model.model_validate(record)))
        except ValidationError as exc:
            for err in exc.errors():
                col: str | None = str(err["loc"][0]) if err["loc"] else None
                msg = err["msg"].removeprefix("Value error, ")
                bad = record.get(col) if col else None
                if bad is not None and err["type"] != "missing":
                    msg += f" (got {bad!r})"
                problems.append(RowError(name, number, col, msg))
    if problems:
        raise TableError(f"{what} {name}", problems)
    return rows


# ------------------------------------------------------------------ cell parsers
def split_list(value: Any) -> list[str]:
    """``"a; b, c"`` or a JSON list -> ``["a", "b", "c"]`` (empty cell -> [])."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value).replace(",", ";").replace("|", ";")
    return [part.strip() for part in text.split(";") if part.strip()]


_TRUE = {"yes", "y", "true", "1", "x", "ja"}
_FALSE = {"no", "n", "false", "0", "nein", "-"}


def parse_bool(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        if value in (0, 1):
            return bool(value)
        raise ValueError("expected yes/no")
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("expected yes/no (or true/false)")


def parse_date(value: Any) -> Any:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError("expected a date as YYYY-MM-DD (or DD.MM.YYYY)")


def read_yaml_model(path: str | Path, model: type[M], what: str, *, key: str | None = None) -> M:
    """One YAML file read into ``model``; any problem names the file and the field.

    Shared by the agents' context files (review context, TLPT profile, watch context);
    ``key`` also accepts the model nested under that one top-level key.
    """
    import yaml

    from dora.errors import DataValidationError

    p = Path(path)
    if not p.is_file():
        raise DataValidationError(f"{what} {path}: file not found")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise DataValidationError(f"{what} {path}: invalid YAML: {exc}") from None
    if key and isinstance(data, dict) and isinstance(data.get(key), dict):
        data = data[key]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = [f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise DataValidationError(f"{what} {path}: " + "; ".join(lines)) from None
