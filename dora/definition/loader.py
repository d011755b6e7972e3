"""Load definition files: YAML -> located data -> pydantic model -> graph checks.

``load_definition`` returns a :class:`LoadedDefinition` or raises ``DefinitionErrors``
holding *every* problem in the file, each located as ``FILE:LINE:COL: path: message``.
``validate_paths`` does the same for many files and never stops at the first bad one.
"""

from __future__ import annotations

import hashlib
import re
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from dora.definition.checks import check_workflow, did_you_mean, render_path
from dora.definition.models import UNION_VARIANTS, Workflow, WorkflowFile
from dora.definition.yamlsafe import MAX_DOCUMENT_BYTES, Located, YamlProblems, load_located
from dora.errors import DefinitionErrors, Problem

DEFINITION_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class LoadedDefinition:
    """A valid definition plus what binds a run to it (path and content hash)."""

    workflow: Workflow
    path: Path
    content_hash: str  # sha256 of the file bytes

    @property
    def version_label(self) -> str:
        """``1.0.0+abc123def456``: the definition version bound to its exact content."""
        return f"{self.workflow.version}+{self.content_hash[:12]}"


def known_agents() -> dict[str, tuple[str, ...]]:
    from agents import registry

    return {name: spec.facts for name, spec in registry.available().items()}


def load_definition(
    path: str | Path, agents: Mapping[str, tuple[str, ...]] | None = None
) -> LoadedDefinition:
    """Read and fully validate one definition file."""
    p = Path(path)
    display = str(path)
    try:
        size = p.stat().st_size
        if size > MAX_DOCUMENT_BYTES:
            raise DefinitionErrors(
                [
                    Problem(
                        display,
                        1,
                        1,
                        "",
                        f"file is {size} bytes; the limit is {MAX_DOCUMENT_BYTES}",
                    )
                ]
            )
        raw = p.read_bytes()
    except FileNotFoundError:
        raise DefinitionErrors([Problem(display, 0, 0, "", "file not found")]) from None
    except IsADirectoryError:
        raise DefinitionErrors(
            [Problem(display, 0, 0, "", "is a directory, not a definition file")]
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DefinitionErrors(
            [Problem(display, 1, 1, "", f"not UTF-8 text ({exc.reason} at byte {exc.start})")]
        ) from None
    return parse_definition(text, display, agents=agents, path=p, raw=raw)


def parse_definition(
    text: str,
    file: str,
    *,
    agents: Mapping[str, tuple[str, ...]] | None = None,
    path: Path | None = None,
    raw: bytes | None = None,
) -> LoadedDefinition:
    """Validate definition text; ``file`` is the name used in messages."""
    try:
        located = load_located(text, file)
    except YamlProblems as exc:
        raise DefinitionErrors(exc.problems) from None
    problems: list[Problem] = []
    model: WorkflowFile | None = None
    if not isinstance(located.data, dict):
        raise DefinitionErrors(
            [Problem(file, 1, 1, "", "expected a mapping with a 'workflow:' key at the top")]
        )
    try:
        model = WorkflowFile.model_validate(located.data)
    except ValidationError as exc:
        problems.extend(_problems_from_validation(exc, file, located))
    problems.extend(check_workflow(file, located, agents if agents is not None else known_agents()))
    if problems:
        raise DefinitionErrors(_dedupe(problems))
    assert model is not None
    digest = hashlib.sha256(raw if raw is not None else text.encode()).hexdigest()
    return LoadedDefinition(model.workflow, path or Path(file), digest)


def iter_definition_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand folders into their ``*.yaml``/``*.yml`` files; keep files as given."""
    out: list[Path] = []
    for item in paths:
        p = Path(item)
        if p.is_dir():
            out.extend(
                sorted(f for f in p.rglob("*") if f.suffix in DEFINITION_SUFFIXES and f.is_file())
            )
        else:
            out.append(p)
    return out


def validate_paths(paths: Iterable[str | Path]) -> tuple[list[LoadedDefinition], list[Problem]]:
    """Validate every file; return the good ones and every problem of the bad ones."""
    agents = known_agents()
    good: list[LoadedDefinition] = []
    problems: list[Problem] = []
    for f in iter_definition_files(paths):
        try:
            good.append(load_definition(f, agents=agents))
        except DefinitionErrors as exc:
            problems.extend(exc.problems)
    return good, problems


# ---------------------------------------------------------------- pydantic errors -> problems
def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[int, int, str, str]] = set()
    out = []
    for p in problems:
        key = (p.line, p.column, p.path, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def _strip_tags(loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    """Drop the union tags pydantic inserts into ``loc`` so the path matches the YAML."""
    out: list[str | int] = []
    for i, part in enumerate(loc):
        if (
            isinstance(part, str)
            and i >= 2
            and isinstance(loc[i - 1], int)
            and loc[i - 2] in UNION_VARIANTS
            and part in UNION_VARIANTS[str(loc[i - 2])]
        ):
            continue
        if isinstance(part, str) and part.startswith("function-"):
            continue
        out.append(part)
    return tuple(out)


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class whose fields live at ``loc`` (with tags), to list allowed keys."""
    cls: Any = WorkflowFile
    i = 0
    while i < len(loc):
        part = loc[i]
        if (
            not (isinstance(cls, type) and issubclass(cls, BaseModel))
            or part not in cls.model_fields
        ):
            return None
        ann = cls.model_fields[part].annotation
        if part in UNION_VARIANTS and i + 2 < len(loc) and isinstance(loc[i + 1], int):
            cls = UNION_VARIANTS[part].get(loc[i + 2])
            i += 3
            continue
        cls = _unwrap_model(ann)
        i += 1
        if i < len(loc) and isinstance(loc[i], int):
            i += 1
    return cls if isinstance(cls, type) and issubclass(cls, BaseModel) else None


def _unwrap_model(ann: Any) -> Any:
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    origin = typing.get_origin(ann)
    if origin in (list, typing.Union, types.UnionType) or origin is typing.Annotated:
        for arg in typing.get_args(ann):
            found = _unwrap_model(arg)
            if found is not None:
                return found
    return None


_EXPECTED = re.compile(r"'([^']*)'")


def _message(err: Mapping[str, Any], loc: tuple[Any, ...]) -> str:
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        key = str(loc[-1])
        model = _model_at(loc[:-1])
        allowed = sorted(model.model_fields) if model else []
        hint = did_you_mean(key, allowed)
        listing = f"; allowed keys: {', '.join(allowed)}" if allowed else ""
        return f"unknown key {key!r}{hint}{listing}"
    if kind == "missing":
        return f"required field {loc[-1]!r} is missing"
    if kind in ("literal_error", "enum"):
        choices = _EXPECTED.findall(str(ctx.get("expected", "")))
        return f"{value!r} is not allowed; expected one of {', '.join(choices)}{did_you_mean(str(value), choices)}"
    if kind == "union_tag_invalid":
        choices = _EXPECTED.findall(str(ctx.get("expected_tags", "")))
        field = "type" if loc and loc[-2:-1] != ("routing",) else "action"
        disc = str(ctx.get("discriminator", field)).strip("'")
        tag = ctx.get("tag")
        return f"unknown {disc} {tag!r}; expected one of {', '.join(choices)}{did_you_mean(str(tag), choices)}"
    if kind == "union_tag_not_found":
        disc = str(ctx.get("discriminator", "type")).strip("'")
        return f"missing {disc!r}; every item here needs one"
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    if kind == "string_pattern_mismatch":
        if loc and loc[-1] == "id" and "tasks" in loc:
            return (
                f"{value!r} is not a valid task id: use letters, digits and '_' only, starting "
                "with a letter (ids are used in conditions as task.<id>)"
            )
        if loc and loc[-1] == "version":
            return f'{value!r} is not a version such as "1.0.0"'
        return f"{value!r} does not match the required pattern {ctx.get('pattern')}"
    msg = str(err["msg"])
    if value is not None and not isinstance(value, dict | list):
        msg += f" (got {value!r})"
    return msg[0].lower() + msg[1:] if msg else msg


def _problems_from_validation(exc: ValidationError, file: str, located: Located) -> list[Problem]:
    out = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        path = _strip_tags(loc)
        if err["type"] == "union_tag_invalid":
            disc = str((err.get("ctx") or {}).get("discriminator", "")).strip("'")
            if disc and not disc.startswith("_"):
                path = (*path, disc)
        line, col = located.position(path)
        out.append(Problem(file, line, col, render_path(path, located.data), _message(err, loc)))
    return out
