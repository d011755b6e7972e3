"""CEL conditions: parsed and checked when a definition loads, evaluated during a run.

Conditions are Common Expression Language (cel-python): side-effect free, no loops, no
attribute access into Python objects; nothing is ever passed to ``eval``. A condition
may read:

- ``task.<id>.outputs.<name>[.<field>...]``  outputs of a task (``<name>`` must be declared)
- ``task.<id>.state``                        "completed", "failed", "skipped"
- ``workflow.duration`` (seconds), ``workflow.id``, ``workflow.version``
- named facts: ``all_tasks_completed``, ``failed_tasks``, any output name declared by
  exactly one task (``compliance_score``), and facts agents publish (``no_critical_gaps``)

Numbers are compared as doubles so ``score >= 0.7`` works whether an agent returned
``1`` or ``1.0``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import celpy
from celpy import celtypes
from lark import Token, Tree

BUILTIN_FACTS = {
    "all_tasks_completed": "every task of the run completed",
    "failed_tasks": "number of tasks that failed",
}
WORKFLOW_FIELDS = {"duration", "id", "version", "started_at"}
TASK_FIELDS = {"outputs", "state"}
_CEL_FUNCTIONS = {
    "size",
    "has",
    "contains",
    "startsWith",
    "endsWith",
    "matches",
    "exists",
    "all",
    "exists_one",
    "map",
    "filter",
    "int",
    "uint",
    "double",
    "string",
    "bool",
    "bytes",
    "duration",
    "timestamp",
    "type",
    "getDate",
    "getDayOfMonth",
    "getDayOfWeek",
    "getDayOfYear",
    "getFullYear",
    "getMonth",
    "getHours",
    "getMinutes",
    "getSeconds",
    "getMilliseconds",
    "dyn",
}

_ENV = celpy.Environment()


def _numeric(value: Any) -> bool:
    return isinstance(value, celtypes.IntType | celtypes.UintType | celtypes.DoubleType)


def _eq(a: Any, b: Any) -> Any:
    """CEL equality with the spec's heterogeneous numeric rule (``1 == 1.0`` is true).

    celpy only compares numbers of the same type for equality, while ordering works
    across types; since task outputs arrive as doubles, ``gaps == 0`` would otherwise be
    an evaluation error. Lists and maps compare element by element under the same rule.
    """
    if _numeric(a) and _numeric(b):
        return celtypes.BoolType(_number(a) == _number(b))
    if isinstance(a, celtypes.ListType) and isinstance(b, celtypes.ListType):
        if len(a) != len(b):
            return celtypes.BoolType(False)
        for x, y in zip(a, b, strict=True):
            same = _eq(x, y)
            if not isinstance(same, celtypes.BoolType) or not same:
                return same
        return celtypes.BoolType(True)
    if isinstance(a, celtypes.MapType) and isinstance(b, celtypes.MapType):
        if set(a) != set(b):
            return celtypes.BoolType(False)
        for key in a:
            same = _eq(a[key], b[key])
            if not isinstance(same, celtypes.BoolType) or not same:
                return same
        return celtypes.BoolType(True)
    return celpy.evaluation.bool_eq(a, b)


def _number(value: Any) -> float | int:
    # exact: Python compares int with float by value, without rounding the int
    return float(value) if isinstance(value, celtypes.DoubleType) else int(value)


def _ne(a: Any, b: Any) -> Any:
    result = _eq(a, b)
    return celtypes.BoolType(not result) if isinstance(result, celtypes.BoolType) else result


_FUNCTIONS = {"_==_": _eq, "_!=_": _ne}


class ConditionSyntaxError(ValueError):
    """The text is not a CEL expression; the message points at the column."""


@dataclass(frozen=True)
class Reference:
    """A name a condition reads: ``task.<id>.outputs.<name>``, ``workflow.<f>`` or a fact."""

    kind: str  # "task_output", "task_state", "task", "workflow", "fact"
    parts: tuple[str, ...]

    def __str__(self) -> str:
        return ".".join(self.parts)


@dataclass
class Condition:
    """A compiled condition plus everything it reads, for checks and scheduling."""

    source: str
    references: list[Reference] = field(default_factory=list)
    functions: set[str] = field(default_factory=set)
    _program: Any = None

    @property
    def task_ids(self) -> set[str]:
        """Tasks whose outputs must exist before the condition can be evaluated."""
        return {
            r.parts[1] for r in self.references if r.kind.startswith("task") and len(r.parts) > 1
        }

    @property
    def reads_duration(self) -> bool:
        return any(r.kind == "workflow" and r.parts[1:2] == ("duration",) for r in self.references)

    @property
    def facts(self) -> set[str]:
        return {r.parts[0] for r in self.references if r.kind == "fact"}

    def evaluate(self, activation: dict[str, Any]) -> Any:
        """Evaluate against plain data; returns a Python value or raises ``ConditionEvalError``."""
        if self._program is None:
            self._program = _ENV.program(_ENV.compile(self.source), functions=_FUNCTIONS)
        try:
            result = self._program.evaluate(_to_cel(activation))
        except celpy.CELEvalError as exc:
            raise ConditionEvalError(_eval_message(exc)) from None
        if isinstance(result, celpy.CELEvalError):
            raise ConditionEvalError(_eval_message(result))
        return _from_cel(result)


class ConditionEvalError(RuntimeError):
    """The condition could not be evaluated (missing value, type mismatch)."""


def _eval_message(exc: BaseException) -> str:
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    if len(args) >= 3 and isinstance(args[1], type) and issubclass(args[1], KeyError):
        missing = args[2][0] if args[2] else "?"
        return f"no value for {missing!r}"
    text = str(args[0]) if args else str(exc)
    return text.split(" (in activation")[0][:300]


@lru_cache(maxsize=1024)
def parse_condition(source: str) -> Condition:
    """Parse CEL text and collect what it reads; raises ``ConditionSyntaxError``."""
    try:
        tree = _ENV.compile(source)
    except celpy.CELParseError as exc:
        raise ConditionSyntaxError(_parse_message(source, exc)) from None
    cond = Condition(source=source)
    _collect(tree, cond, bound=frozenset())
    return cond


def _parse_message(source: str, exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    col = getattr(exc, "column", None)
    where = f" at column {col}" if col else ""
    first = next((line for line in text if line.strip()), "")
    if first.strip() == source.strip() or not first:
        return f"not a valid CEL expression{where}: {source!r}"
    return f"not a valid CEL expression{where}: {first.strip()}"


def _chain(node: Tree) -> list[str] | None:
    """Names of a ``a.b.c`` member chain rooted at an identifier, else None."""
    if node.data == "member" and len(node.children) == 1 and isinstance(node.children[0], Tree):
        return _chain(node.children[0])
    if node.data == "member_dot":
        base, name = node.children
        inner = _chain(base) if isinstance(base, Tree) else None
        return [*inner, str(name)] if inner is not None else None
    if node.data == "primary" and isinstance(node.children[0], Tree):
        child = node.children[0]
        if child.data == "ident":
            return [str(child.children[0])]
    return None


def _collect(node: Tree, cond: Condition, bound: frozenset[str]) -> None:
    if node.data in ("member_dot", "member", "primary"):
        names = _chain(node)
        if names is not None:
            if names[0] not in bound:
                cond.references.append(_classify(names))
            return
    if node.data == "ident_arg":
        fname = str(node.children[0])
        cond.functions.add(fname)
    if node.data == "member_dot_arg":
        # x.exists(v, pred): the first argument names a loop variable bound in pred
        base, method, *rest = node.children
        cond.functions.add(str(method))
        if isinstance(base, Tree):
            _collect(base, cond, bound)
        args = rest[0] if rest and isinstance(rest[0], Tree) else None
        if args is not None:
            exprs = [c for c in args.children if isinstance(c, Tree)]
            new_bound = bound
            if str(method) in {"exists", "all", "exists_one", "map", "filter"} and exprs:
                var = _chain_in_expr(exprs[0])
                if var and len(var) == 1:
                    new_bound = bound | {var[0]}
                    exprs = exprs[1:]
            for e in exprs:
                _collect(e, cond, new_bound)
        return
    for child in node.children:
        if isinstance(child, Tree):
            _collect(child, cond, bound)
        elif isinstance(child, Token):
            continue


def _chain_in_expr(expr: Tree) -> list[str] | None:
    node: Tree = expr
    while isinstance(node, Tree) and len(node.children) == 1 and isinstance(node.children[0], Tree):
        names = _chain(node) if node.data in ("member", "primary", "member_dot") else None
        if names:
            return names
        node = node.children[0]
    return _chain(node) if isinstance(node, Tree) else None


def _classify(names: list[str]) -> Reference:
    head = names[0]
    if head == "task":
        if len(names) >= 4 and names[2] == "outputs":
            return Reference("task_output", tuple(names))
        if len(names) >= 3 and names[2] == "state":
            return Reference("task_state", tuple(names))
        return Reference("task", tuple(names))
    if head == "workflow":
        return Reference("workflow", tuple(names))
    return Reference("fact", tuple(names))


def _to_cel(value: Any) -> Any:
    return celpy.json_to_cel(_floats(value))


def _floats(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, dict):
        return {str(k): _floats(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_floats(v) for v in value]
    return value


def _from_cel(value: Any) -> Any:
    if isinstance(value, celtypes.BoolType):
        return bool(value)
    if isinstance(value, celtypes.IntType | celtypes.UintType):
        return int(value)
    if isinstance(value, celtypes.DoubleType):
        return float(value)
    if isinstance(value, celtypes.StringType):
        return str(value)
    if isinstance(value, celtypes.ListType):
        return [_from_cel(v) for v in value]
    if isinstance(value, celtypes.MapType):
        return {str(k): _from_cel(v) for k, v in value.items()}
    return value


def is_known_function(name: str) -> bool:
    return name in _CEL_FUNCTIONS
