"""Reading the entity's financial figures, and validating agent inputs at the boundary.

Two things live here because both are about *data entering an agent from outside*:

* :func:`read_financial_data` turns a JSON or CSV export of the finance system (or a dict
  the engine already read) into a :class:`~agents.contracts.FinancialData`. Finance exports
  are messy (thousands separators, blank cells, key/value sheets), so the reader accepts the
  common shapes and otherwise fails with a message that names the file and the field: a
  loss estimate scaled by a silently wrong revenue figure is worse than no estimate.
* :func:`parse_input` re-validates an upstream output (JSON) against its contract model and
  turns a pydantic ``ValidationError`` into a :class:`~dora.errors.DataValidationError` that
  names the task input, so the error policy sees ``data_validation_error`` (retrying will not
  help) and the user sees which input was wrong.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from agents.contracts import FinancialData
from dora.errors import DataValidationError, ExternalSourceError

M = TypeVar("M", bound=BaseModel)

__all__ = ["format_validation_error", "parse_input", "read_financial_data"]


def format_validation_error(exc: ValidationError, limit: int = 8) -> str:
    """One ``field.path: message`` line per problem, the way users name fields."""
    lines = []
    for err in exc.errors()[:limit]:
        loc = ".".join(str(part) for part in err["loc"]) or "(root)"
        lines.append(f"{loc}: {err['msg']}")
    more = len(exc.errors()) - limit
    if more > 0:
        lines.append(f"... and {more} more")
    return "; ".join(lines)


def parse_input(inputs: Mapping[str, Any], name: str, model: type[M], *, task_id: str = "") -> M:
    """Validate ``inputs[name]`` against ``model``; raise ``DataValidationError`` naming it.

    Accepts an instance of ``model`` as well as its JSON form, so agents can be chained in
    Python without a serialisation round trip.
    """
    where = f" of task '{task_id}'" if task_id else ""
    if name not in inputs:
        raise DataValidationError(
            f"input '{name}'{where} is missing (expected {model.__name__}); "
            f"received inputs: {sorted(inputs) or 'none'}"
        )
    value = inputs[name]
    if isinstance(value, model):
        return value
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise DataValidationError(
                f"input '{name}'{where} is a string that is not JSON for {model.__name__}: {exc}"
            ) from exc
    if not isinstance(value, Mapping):
        raise DataValidationError(
            f"input '{name}'{where} must be a {model.__name__} object, got {type(value).__name__}"
        )
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise DataValidationError(
            f"input '{name}'{where} is not a valid {model.__name__}: {format_validation_error(exc)}"
        ) from exc


# ------------------------------------------------------------------ financial data
def _clean_cell(value: str) -> str | None:
    """Normalise a CSV cell: blank means "not given"; drop thousands separators and 'EUR'."""
    text = value.strip().replace("\u00a0", " ")
    if not text:
        return None
    # "EUR 1,234,567.89" -> "1234567.89"; leave non-numeric text (dates, currency) alone
    candidate = text
    for token in ("EUR", "€", " ", "_", ","):
        candidate = candidate.replace(token, "")
    try:
        float(candidate)
    except ValueError:
        return text
    return candidate


def _read_csv(path: Path, text: str) -> dict[str, Any]:
    """Either a header row plus one data row, or two columns ``field,value`` per line."""
    rows = [row for row in csv.reader(text.splitlines()) if any(cell.strip() for cell in row)]
    if not rows:
        raise ExternalSourceError(f"financial data file {path} is empty")
    header = [cell.strip().lower() for cell in rows[0]]
    if len(header) == 2 and header[0] in {"field", "key", "name", "metric"}:
        rows = rows[1:]
        header = []
    if header and "annual_revenue_eur" in header:
        if len(rows) != 2:
            raise ExternalSourceError(
                f"financial data file {path}: expected a header row and exactly one data row, "
                f"found {len(rows) - 1} data rows"
            )
        data_row = rows[1]
        if len(data_row) != len(header):
            raise ExternalSourceError(
                f"financial data file {path}: header has {len(header)} columns but the data "
                f"row has {len(data_row)}"
            )
        items: Iterable[tuple[str, str]] = zip(header, data_row, strict=True)
    else:
        bad = [i + 1 for i, row in enumerate(rows) if len(row) < 2]
        if bad:
            raise ExternalSourceError(
                f"financial data file {path}: lines {bad} are not 'field,value' pairs and there "
                "is no header row with 'annual_revenue_eur'"
            )
        items = [(row[0].strip().lower(), row[1]) for row in rows]
    data: dict[str, Any] = {}
    for key, raw in items:
        cleaned = _clean_cell(raw)
        if cleaned is not None and key:
            data[key] = cleaned
    return data


def read_financial_data(source: str | Path | Mapping[str, Any] | FinancialData) -> FinancialData:
    """Read the entity's financial figures from a dict, a ``.json`` file or a ``.csv`` file.

    Unreadable sources (missing file, bad JSON syntax, unsupported extension, wrong CSV
    shape) raise :class:`ExternalSourceError`; readable data with a wrong or missing field
    (e.g. ``annual_revenue_eur`` absent or negative) raises :class:`DataValidationError`.
    Both messages name the file and, where it applies, the field.
    """
    if isinstance(source, FinancialData):
        return source
    origin = "financial data"
    if isinstance(source, Mapping):
        data: Any = dict(source)
    else:
        path = Path(source)
        origin = f"financial data file {path}"
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError as exc:
            raise ExternalSourceError(f"{origin} does not exist") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise ExternalSourceError(f"{origin} cannot be read: {exc}") from exc
        suffix = path.suffix.lower()
        if suffix == ".json":
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ExternalSourceError(
                    f"{origin} is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
                ) from exc
            if not isinstance(data, dict):
                raise ExternalSourceError(
                    f"{origin} must hold a JSON object, got {type(data).__name__}"
                )
        elif suffix == ".csv":
            data = _read_csv(path, text)
        else:
            raise ExternalSourceError(
                f"{origin} has unsupported extension '{path.suffix}'; use .json or .csv"
            )
    try:
        return FinancialData.model_validate(data)
    except ValidationError as exc:
        raise DataValidationError(f"{origin} is invalid: {format_validation_error(exc)}") from exc
