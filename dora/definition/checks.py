"""Graph-wide and cross-reference checks of a workflow definition.

These run on the raw (already YAML-parsed) data rather than on the validated model, so
they can report their problems *together with* field errors from pydantic: a user who
fixes one problem should not discover the next one only on the following run. Each
check skips items too malformed to reason about (pydantic reports those).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from dora.definition.conditions import (
    BUILTIN_FACTS,
    TASK_FIELDS,
    WORKFLOW_FIELDS,
    ConditionSyntaxError,
    is_known_function,
    parse_condition,
)
from dora.definition.yamlsafe import Located
from dora.errors import Problem


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when a close match exists, else ``""``."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


class _Reporter:
    def __init__(self, file: str, located: Located) -> None:
        self.file = file
        self.located = located
        self.problems: list[Problem] = []

    def add(self, path: tuple[str | int, ...], message: str) -> None:
        line, col = self.located.position(path)
        self.problems.append(
            Problem(self.file, line, col, render_path(path, self.located.data), message)
        )


def render_path(path: tuple[str | int, ...], data: Any) -> str:
    """``workflow.tasks[risk_calculation].config.timeout``: list items by id/name when they have one."""
    out = ""
    node = data
    for part in path:
        if isinstance(part, int):
            label: str | int = part
            item = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            if isinstance(item, dict):
                ident = item.get("id", item.get("name"))
                if isinstance(ident, str) and ident:
                    label = ident
            out += f"[{label}]"
            node = item
        else:
            out += f".{part}" if out else part
            node = node.get(part) if isinstance(node, dict) else None
    return out


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def check_workflow(
    file: str, located: Located, agents: Mapping[str, tuple[str, ...]]
) -> list[Problem]:
    """All cross-reference problems of one definition.

    ``agents`` maps each known agent name to the facts it publishes.
    """
    rep = _Reporter(file, located)
    root = located.data
    wf = root.get("workflow") if isinstance(root, dict) else None
    if not isinstance(wf, dict):
        return []
    base: tuple[str | int, ...] = ("workflow",)
    tasks = _as_list(wf.get("tasks"))

    # ids, duplicates
    ids: dict[str, int] = {}
    for i, t in enumerate(tasks):
        tid = _str(t.get("id")) if isinstance(t, dict) else None
        if tid is None:
            continue
        if tid in ids:
            first_line = located.position((*base, "tasks", ids[tid], "id"))[0]
            rep.add(
                (*base, "tasks", i, "id"),
                f"duplicate task id {tid!r} (first defined on line {first_line})",
            )
        else:
            ids[tid] = i

    # depends_on targets
    deps: dict[str, list[str]] = {}
    for i, t in enumerate(tasks):
        if not isinstance(t, dict) or _str(t.get("id")) is None:
            continue
        tid = t["id"]
        deps[tid] = []
        for j, dep in enumerate(_as_list(t.get("depends_on"))):
            if not isinstance(dep, str):
                continue
            if dep not in ids:
                rep.add(
                    (*base, "tasks", i, "depends_on", j),
                    f"unknown task {dep!r} in depends_on{did_you_mean(dep, ids)}",
                )
            elif dep == tid:
                rep.add((*base, "tasks", i, "depends_on", j), f"task {tid!r} depends on itself")
            else:
                deps[tid].append(dep)

    cycle = _find_cycle(deps)
    if cycle:
        at = ids[cycle[0]]
        rep.add(
            (*base, "tasks", at, "depends_on"),
            "dependency cycle: " + " -> ".join(cycle) + " (each task depends on the next)",
        )

    upstream = {tid: _ancestors(tid, deps) for tid in deps} if not cycle else {}

    # outputs per task
    outputs: dict[str, list[str]] = {}
    for t in tasks:
        if isinstance(t, dict) and _str(t.get("id")):
            outputs[t["id"]] = [
                o["name"]
                for o in _as_list(t.get("outputs"))
                if isinstance(o, dict) and _str(o.get("name"))
            ]

    # agents
    for i, t in enumerate(tasks):
        agent = _str(t.get("agent")) if isinstance(t, dict) else None
        if agent is not None and agent not in agents:
            hint = did_you_mean(agent, agents)
            rep.add(
                (*base, "tasks", i, "agent"),
                f"unknown agent {agent!r}{hint}; known agents: {', '.join(sorted(agents))}",
            )

    # inputs: from_task / field / sources, parameter type clashes
    param_types: dict[str, tuple[str, tuple[str | int, ...]]] = {}
    for i, t in enumerate(tasks):
        if not isinstance(t, dict) or _str(t.get("id")) is None:
            continue
        tid = t["id"]
        names_seen: set[str] = set()
        for j, inp in enumerate(_as_list(t.get("inputs"))):
            if not isinstance(inp, dict):
                continue
            ipath = (*base, "tasks", i, "inputs", j)
            name = _str(inp.get("name"))
            if name:
                if name in names_seen:
                    rep.add((*ipath, "name"), f"duplicate input name {name!r} in task {tid!r}")
                names_seen.add(name)
            src = _str(inp.get("from_task"))
            if src is not None:
                _check_upstream(rep, (*ipath, "from_task"), tid, src, ids, upstream)
                fld = _str(inp.get("field"))
                if fld is not None and src in outputs and fld not in outputs[src]:
                    declared = ", ".join(outputs[src]) or "none"
                    rep.add(
                        (*ipath, "field"),
                        f"{fld!r} is not a declared output of task {src!r}"
                        f"{did_you_mean(fld, outputs[src])}; declared outputs: {declared}",
                    )
            for k, s in enumerate(_as_list(inp.get("sources"))):
                if isinstance(s, str):
                    _check_upstream(rep, (*ipath, "sources", k), tid, s, ids, upstream)
            kind = inp.get("type")
            is_param = (
                src is None and "sources" not in inp and kind not in ("aggregated", "external_api")
            )
            if is_param and name and isinstance(kind, str):
                prev = param_types.get(name)
                if prev and prev[0] != kind:
                    rep.add(
                        (*ipath, "type"),
                        f"run parameter {name!r} is declared as {kind!r} here but as "
                        f"{prev[0]!r} at {render_path(prev[1], root)}",
                    )
                else:
                    param_types.setdefault(name, (kind, ipath))

    # facts available to conditions
    output_owners: dict[str, list[str]] = {}
    for tid, outs in outputs.items():
        for o in outs:
            output_owners.setdefault(o, []).append(tid)
    facts = set(BUILTIN_FACTS) | {o for o, owners in output_owners.items() if len(owners) == 1}
    for t in tasks:
        agent = _str(t.get("agent")) if isinstance(t, dict) else None
        if agent is not None and agent in agents:
            facts |= set(agents[agent])

    for section in ("routing", "success_criteria"):
        for i, item in enumerate(_as_list(wf.get(section))):
            cond = _str(item.get("condition")) if isinstance(item, dict) else None
            if cond is not None:
                _check_condition(
                    rep, (*base, section, i, "condition"), cond, ids, outputs, facts, output_owners
                )

    # one policy per error type
    seen: dict[str, int] = {}
    for i, p in enumerate(_as_list(wf.get("error_handling"))):
        et = _str(p.get("error_type")) if isinstance(p, dict) else None
        if et is None:
            continue
        if et in seen:
            rep.add(
                (*base, "error_handling", i, "error_type"),
                f"error type {et!r} already has a rule (error_handling[{seen[et]}])",
            )
        seen.setdefault(et, i)

    # trigger names unique
    names: set[str] = set()
    for i, trig in enumerate(_as_list(wf.get("triggers"))):
        n = _str(trig.get("name")) if isinstance(trig, dict) else None
        if n and n in names:
            rep.add((*base, "triggers", i, "name"), f"duplicate trigger name {n!r}")
        if n:
            names.add(n)
    return rep.problems


def _check_upstream(
    rep: _Reporter,
    path: tuple[str | int, ...],
    tid: str,
    src: str,
    ids: Mapping[str, int],
    upstream: Mapping[str, set[str]],
) -> None:
    if src not in ids:
        rep.add(path, f"unknown task {src!r}{did_you_mean(src, ids)}")
    elif src == tid:
        rep.add(path, f"task {tid!r} cannot read its own outputs")
    elif upstream and src not in upstream.get(tid, set()):
        rep.add(
            path,
            f"task {src!r} is not upstream of {tid!r}; add {src!r} to the depends_on "
            f"of {tid!r} so its outputs exist when {tid!r} runs",
        )


def _check_condition(
    rep: _Reporter,
    path: tuple[str | int, ...],
    text: str,
    ids: Mapping[str, int],
    outputs: Mapping[str, list[str]],
    facts: set[str],
    owners: Mapping[str, list[str]],
) -> None:
    try:
        cond = parse_condition(text)
    except ConditionSyntaxError as exc:
        rep.add(path, str(exc))
        return
    for fn in sorted(cond.functions):
        if not is_known_function(fn):
            rep.add(path, f"unknown function {fn!r} in condition")
    for ref in cond.references:
        parts = ref.parts
        if ref.kind.startswith("task"):
            if len(parts) < 2:
                rep.add(path, "'task' must be followed by a task id, e.g. task.<id>.outputs.<name>")
                continue
            tid = parts[1]
            if tid not in ids:
                rep.add(path, f"condition reads unknown task {tid!r}{did_you_mean(tid, ids)}")
                continue
            if len(parts) < 3 or parts[2] not in TASK_FIELDS:
                got = parts[2] if len(parts) > 2 else ""
                rep.add(
                    path,
                    f"use task.{tid}.outputs.<name> or task.{tid}.state, not "
                    f"task.{tid}.{got}{did_you_mean(got, TASK_FIELDS)}".rstrip("."),
                )
                continue
            if ref.kind == "task_output" and parts[3] not in outputs.get(tid, []):
                declared = ", ".join(outputs.get(tid, [])) or "none"
                rep.add(
                    path,
                    f"{parts[3]!r} is not a declared output of task {tid!r}"
                    f"{did_you_mean(parts[3], outputs.get(tid, []))}; declared: {declared}",
                )
            elif ref.kind == "task" and len(parts) == 3 and parts[2] == "outputs":
                continue
        elif ref.kind == "workflow":
            if len(parts) < 2 or parts[1] not in WORKFLOW_FIELDS:
                got = parts[1] if len(parts) > 1 else ""
                rep.add(
                    path,
                    f"unknown workflow field {got!r}{did_you_mean(got, WORKFLOW_FIELDS)}; "
                    f"known: {', '.join(sorted(WORKFLOW_FIELDS))}",
                )
        else:
            name = parts[0]
            if name not in facts:
                ambiguous = owners.get(name, [])
                if len(ambiguous) > 1:
                    rep.add(
                        path,
                        f"{name!r} is an output of several tasks ({', '.join(ambiguous)}); "
                        f"write task.<id>.outputs.{name}",
                    )
                else:
                    rep.add(
                        path,
                        f"unknown name {name!r}{did_you_mean(name, facts)}; known facts: "
                        f"{', '.join(sorted(facts))}",
                    )


def _find_cycle(deps: Mapping[str, list[str]]) -> list[str] | None:
    """One dependency cycle as ``[a, b, c, a]``, or None (iterative DFS, no recursion limit)."""
    color: dict[str, int] = dict.fromkeys(deps, 0)
    for start in deps:
        if color[start]:
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        path: list[str] = []
        while stack:
            node, idx = stack.pop()
            if idx == 0:
                color[node] = 1
                path.append(node)
            children = deps.get(node, [])
            if idx < len(children):
                stack.append((node, idx + 1))
                child = children[idx]
                if color.get(child) == 1:
                    cyc = [*path[path.index(child) :], child]
                    return cyc
                if color.get(child) == 0:
                    stack.append((child, 0))
            else:
                color[node] = 2
                path.pop()
    return None


def _ancestors(tid: str, deps: Mapping[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    todo = list(deps.get(tid, []))
    while todo:
        d = todo.pop()
        if d not in seen:
            seen.add(d)
            todo.extend(deps.get(d, []))
    return seen
