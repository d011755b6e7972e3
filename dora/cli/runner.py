"""``dora run``: one run on the embedded Prefect API with readable progress.

Without ``PREFECT_API_URL`` Prefect starts a temporary local API server on SQLite
(ephemeral mode). We point its home at ``.dora/prefect`` (``DORA_HOME``) so a quick
start never touches a user's own ``~/.prefect`` database, silence Prefect's console
logging unless ``--verbose``, and print our own progress lines instead.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import typer

from dora.errors import DataValidationError, DefinitionErrors, DoraError


def _prepare_environment(verbose: bool) -> str:
    home = Path(os.environ.get("DORA_HOME", ".dora")).resolve()
    api = os.environ.get("PREFECT_API_URL")
    if not api:
        os.environ.setdefault("PREFECT_HOME", str(home / "prefect"))
        Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
        os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_UI_ENABLED", "false")
    if not verbose:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
        os.environ.setdefault("PREFECT_LOGGING_SERVER_LEVEL", "ERROR")
        warnings.filterwarnings("ignore")
    return api or f"embedded (SQLite in {os.environ['PREFECT_HOME']})"


class _Printer:
    """Progress lines on stderr so ``--json`` output on stdout stays machine-readable."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.started: dict[str, float] = {}

    def __call__(self, task_id: str, state: str, detail: str) -> None:
        now = time.monotonic()
        stamp = f"[{now - self.t0:6.1f}s]"
        if task_id == "*":
            if state == "started":
                typer.echo(f"{stamp} ▶ {detail}", err=True)
            return
        if state == "running":
            self.started[task_id] = now
            typer.echo(f"{stamp}   … {task_id}: {detail}", err=True)
            return
        took = now - self.started.get(task_id, now)
        mark = {"completed": "✓", "failed": "✗", "skipped": "-"}.get(state, "?")
        text = " ".join(detail.split())
        text = text if len(text) <= 160 else text[:157] + "..."
        typer.echo(f"{stamp} {mark} {task_id} {state} in {took:.1f}s: {text}", err=True)


def run_once(
    definition: Path,
    raw_inputs: dict[str, str],
    *,
    as_json: bool,
    verbose: bool,
    wait_for_approvals: bool = False,
) -> int:
    api = _prepare_environment(verbose)
    # A one-off local run records require_approval decisions instead of waiting days for
    # approvers; deployed runs (and --wait-for-approvals) pause until they answer.
    if wait_for_approvals:
        os.environ.setdefault("DORA_APPROVAL_MODE", "pause")
    else:
        os.environ["DORA_APPROVAL_MODE"] = "record"
    from dora.definition.loader import load_definition

    try:
        loaded = load_definition(definition)
    except DefinitionErrors as exc:
        for p in exc.problems:
            typer.echo(str(p), err=True)
        return 1
    from flows.graph import parameters
    from tasks.inputs import coerce

    specs = {p.name: p for p in parameters(loaded.workflow)}
    unknown = sorted(set(raw_inputs) - set(specs))
    if unknown:
        known = ", ".join(f"{n} ({s.type})" for n, s in specs.items()) or "none"
        typer.echo(f"unknown input(s) {', '.join(unknown)}; {definition} takes: {known}", err=True)
        return 2
    params: dict[str, Any] = {}
    try:
        for name, value in raw_inputs.items():
            kind = specs[name].type
            params[name] = (
                value if kind == "external_api" else coerce(kind, value, f"--input {name}")
            )
    except DataValidationError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 1
    missing = [n for n, s in specs.items() if s.required and n not in params]
    if missing:
        typer.echo(
            f"missing required input(s): {', '.join(missing)} (pass --input NAME=VALUE)", err=True
        )
        return 1

    from flows import progress
    from flows.factory import compile_workflow

    typer.echo(f"Prefect API: {api}", err=True)
    flow_obj = compile_workflow(loaded, module="flows.catalog")
    printer = _Printer()
    progress.HOOKS.append(printer)
    if not verbose:
        for name in ("prefect", "httpx", "docket", "uvicorn"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    import getpass

    from prefect import tags

    try:
        with tags(f"dora.started_by:{getpass.getuser()}"):  # segregation of duties (approvals)
            state = flow_obj(**params, return_state=True)
    except DoraError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 1
    finally:
        progress.HOOKS.remove(printer)
    if state is None:  # pragma: no cover - return_state=True always gives a state
        return 1
    data = state.result(raise_on_failure=False)
    if not isinstance(data, dict):
        typer.echo(f"run {state.name}: {state.message or data}", err=True)
        return 1
    return _report(data, as_json)


def _report(data: dict[str, Any], as_json: bool) -> int:
    ok = data.get("state") == "completed"
    if as_json:
        json.dump(data, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        return 0 if ok else 1
    echo = typer.echo
    for d in data.get("decisions", []):
        if d.get("fired"):
            who = d.get("target") or ", ".join(d.get("approvers") or d.get("recipients") or [])
            vals = ", ".join(f"{k}={v}" for k, v in d.get("values", {}).items())
            note = (
                "  [not waited for: `dora run` records it; use --wait-for-approvals or a deployment]"
                if d["action"] == "require_approval" and not data.get("approvals")
                else ""
            )
            echo(f"routing: {d['action']} → {who}  ({d['condition']}; read {vals}){note}")
    for c in data.get("criteria", []):
        mark = "✓" if c["passed"] else ("✗" if c["required"] else "!")
        err = f" — {c['error']}" if c.get("error") else ""
        echo(f"criterion {mark} {c['condition']}{err}")
    echo(f"\n{'COMPLETED' if ok else 'FAILED'}: {data.get('message', '')}")
    files = [a for t in data.get("tasks", {}).values() for a in t.get("artifacts", [])]
    for a in files:
        echo(f"{a.get('kind', 'file'):>8}: {a['path']}")
    echo(f"run record: {Path(data['output_dir']) / 'run.json'}")
    return 0 if ok else 1
