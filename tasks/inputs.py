"""Resolve a task's declared inputs into values, with type checks.

Sources, by input kind: run parameters (with defaults), an upstream task's output
(``from_task`` + ``field``), several upstream tasks' outputs (``aggregated``) and
external sources (``external_api``). A value of the wrong type is a
``DataValidationError`` naming the task and input, so the error policy can halt instead
of retrying something that can never succeed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from dora.definition.models import (
    AggregatedInput,
    ExternalInput,
    FromTaskInput,
    ParameterInput,
    TaskDefinition,
)
from dora.errors import DataValidationError

#: Python types each declared input/output type accepts
PY_TYPES: dict[str, tuple[type, ...]] = {
    "file_list": (list,),
    "string": (str,),
    "numeric": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "structured_data": (dict, list),
    "document": (str, dict),
    "list": (list,),
}


def coerce(kind: str, value: Any, where: str) -> Any:
    """Convert a parameter value (often a CLI string) to the declared type, or explain why not."""
    if value is None:
        return None
    try:
        if kind == "file_list":
            if isinstance(value, str):
                return [v.strip() for v in value.split(",") if v.strip()]
            if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
                return list(value)
        elif (
            kind == "string"
            and isinstance(value, str | int | float)
            and not isinstance(value, bool)
        ):
            return str(value)
        elif kind == "numeric":
            if isinstance(value, bool):
                raise ValueError
            return (
                float(value)
                if isinstance(value, str)
                else value
                if isinstance(value, int | float)
                else float(value)
            )
        elif kind == "integer":
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, str):
                return int(value.strip())
            if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
                return int(value)
        elif kind == "boolean":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in {
                "true",
                "false",
                "yes",
                "no",
                "1",
                "0",
            }:
                return value.strip().lower() in {"true", "yes", "1"}
        elif kind in ("structured_data", "list"):
            parsed = json.loads(value) if isinstance(value, str) else value
            if isinstance(parsed, PY_TYPES[kind]):
                return parsed
        elif kind == "document" and isinstance(value, str | dict):
            return value
    except (ValueError, TypeError, json.JSONDecodeError):
        pass
    raise DataValidationError(
        f"{where}: expected {kind}, got {type(value).__name__} {_short(value)}"
    )


def check_type(kind: str | None, value: Any, where: str) -> None:
    """Raise if ``value`` is not of declared ``kind`` (outputs and upstream values)."""
    if kind is None or value is None:
        return
    allowed = PY_TYPES.get(kind)
    ok = (
        allowed is not None
        and isinstance(value, allowed)
        and not (kind in ("numeric", "integer") and isinstance(value, bool))
    )
    if not ok:
        raise DataValidationError(
            f"{where}: expected {kind}, got {type(value).__name__} {_short(value)}"
        )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def resolve_inputs(
    task: TaskDefinition,
    params: Mapping[str, Any],
    upstream: Mapping[str, Mapping[str, Any]],
    read_external: Any,
) -> dict[str, Any]:
    """Values for every declared input of ``task``.

    ``upstream`` maps task id -> that task's outputs; ``read_external(source, override)``
    reads an external source.
    """
    values: dict[str, Any] = {}
    for inp in task.inputs:
        where = f"task {task.id!r} input {inp.name!r}"
        if isinstance(inp, ParameterInput):
            value = params.get(inp.name)
            if value is None:
                value = inp.default
            if value is None and inp.required:
                raise DataValidationError(
                    f"{where} is required but no value was given; pass it as a run parameter "
                    f"(dora run ... --input {inp.name}=...)"
                )
            values[inp.name] = coerce(inp.type, value, where)
        elif isinstance(inp, FromTaskInput):
            outs = upstream.get(inp.from_task)
            if outs is None or inp.field not in outs:
                if inp.required:
                    raise DataValidationError(
                        f"{where}: task {inp.from_task!r} produced no {inp.field!r}"
                    )
                values[inp.name] = None
                continue
            check_type(inp.type, outs[inp.field], where)
            values[inp.name] = outs[inp.field]
        elif isinstance(inp, AggregatedInput):
            missing = [s for s in inp.sources if s not in upstream]
            if missing and inp.required:
                raise DataValidationError(f"{where}: no outputs from {', '.join(missing)}")
            values[inp.name] = {s: dict(upstream[s]) for s in inp.sources if s in upstream}
        elif isinstance(inp, ExternalInput):
            override = params.get(inp.name)
            values[inp.name] = read_external(
                inp.source, override if isinstance(override, str) else None
            )
    return values
