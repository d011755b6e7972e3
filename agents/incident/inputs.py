"""Reading incident, threat, history and report files, with errors that name the field.

Why a dedicated error: the CLI and the agent both need "file X, field entity.member_state:
not an EU Member State" rather than pydantic's multi-line dump, and the CLI must tell a
data error (exit 1) from a crash.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from dora.errors import ConfigurationError

M = TypeVar("M", bound=BaseModel)


class IncidentInputError(ConfigurationError):
    """An incident, threat, history or report document is invalid; names file and fields."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = [
            f"{source}: {field}: {msg}" if field else f"{source}: {msg}" for field, msg in problems
        ]
        super().__init__("\n".join(lines))

    def __reduce__(self) -> tuple[type, tuple[str, list[tuple[str, str]]]]:
        return (type(self), (self.source, self.problems))

    @property
    def fields(self) -> list[str]:
        return [f for f, _ in self.problems if f]


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def problems_of(exc: ValidationError) -> list[tuple[str, str]]:
    """``(field path, message)`` per pydantic error; "Value error, " prefixes dropped."""
    out = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not str(p).startswith("function-"))
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field (free-form additions belong under 'extra')"
        elif err["type"] == "missing":
            msg = "required field is missing"
        out.append((_loc(loc), msg))
    return out


def parse(model: type[M], data: Any, source: str) -> M:
    """Validate already-decoded JSON data (e.g. a flow parameter) into ``model``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise IncidentInputError(source, problems_of(exc)) from None


def read_json(path: Path) -> Any:
    """Decode a JSON file; a syntax error names the line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise IncidentInputError(
            str(path), [("", f"cannot read file: {exc.strerror or exc}")]
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise IncidentInputError(
            str(path), [("", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")]
        ) from None


def load(model: type[M], path: Path) -> M:
    return parse(model, read_json(path), str(path))
