"""``dora`` commands: validate, plan, run, analyze, schema.

Prefect is imported lazily, and only after ``dora run`` has pointed it at the embedded
database: Prefect reads its settings once, at import.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from dora.errors import DefinitionErrors, DoraError

app = typer.Typer(
    name="dora",
    help="DORA compliance workflows on Prefect: validate, plan and run YAML definitions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _err(message: str) -> None:
    typer.echo(message, err=True)


def _dump(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


@app.command()
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Definition files or folders.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print problems as JSON.")] = False,
) -> None:
    """Check definitions; print every problem as FILE:LINE:COL: path: message."""
    from dora.definition.loader import iter_definition_files, validate_paths

    files = iter_definition_files(paths)
    if not files:
        _err("no definition files found in " + ", ".join(map(str, paths)))
        raise typer.Exit(EXIT_FAILED)
    good, problems = validate_paths(files)
    if as_json:
        _dump({"valid": [str(d.path) for d in good], "problems": [p.__dict__ for p in problems]})
    else:
        for p in problems:
            typer.echo(str(p))
        bad_files = len({p.file for p in problems})
        summary = f"{len(good)} valid, {bad_files} invalid ({len(problems)} problem{'s' if len(problems) != 1 else ''})"
        _err(summary)
    raise typer.Exit(EXIT_FAILED if problems else EXIT_OK)


def _load_or_exit(path: Path) -> Any:
    from dora.definition.loader import load_definition

    try:
        return load_definition(path)
    except DefinitionErrors as exc:
        for p in exc.problems:
            _err(str(p))
        raise typer.Exit(EXIT_FAILED) from None


@app.command()
def plan(
    definition: Annotated[Path, typer.Argument(help="Definition file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
) -> None:
    """Show the compiled graph (levels, retries, timeouts, routing) without running anything."""
    from flows.graph import build_plan

    loaded = _load_or_exit(definition)
    p = build_plan(loaded.workflow, loaded.content_hash)
    if as_json:
        _dump(p.model_dump(mode="json"))
        return
    out = [
        f"{p.name} ({p.workflow_id}) — flow {p.flow_name!r} version {p.flow_version}",
        f"timeout {p.timeout_s}s, {'parallel' if p.parallel_execution else 'sequential'} execution",
        "",
    ]
    out.append("Parameters:")
    for prm in p.parameters or []:
        req = "required" if prm.required else f"default {prm.default!r}"
        out.append(f"  {prm.name}: {prm.type} ({req}) — used by {', '.join(prm.used_by)}")
    out += ["", "Tasks by level (tasks on one level run at the same time):"]
    for i, lvl in enumerate(p.levels):
        out.append(f"  level {i}:")
        for tid in lvl:
            t = next(x for x in p.tasks if x.id == tid)
            ups = f" after {', '.join(t.upstream)}" if t.upstream else ""
            retry = f", {t.retries} retries {t.retry_delays_s}" if t.retries else ""
            out.append(
                f"    {t.id} [{t.agent}] priority {t.priority}, timeout {t.timeout_s}s{retry}, "
                f"cpu {t.resources['cpu']} mem {t.resources['memory']}{ups}"
            )
    if p.routing:
        out += ["", "Routing rules:"]
        for r in p.routing:
            out.append(
                f"  [{r.index}] {r.condition} → {r.action} ({', '.join(r.who)}); evaluated {r.evaluated}"
            )
            out.append(f"      automation: {r.automation}")
    if p.error_handling:
        out += ["", "Error handling:"]
        out += [f"  {e['error_type']}: {e['effect']}" for e in p.error_handling]
    if p.success_criteria:
        out += ["", "Success criteria:"]
        out += [
            f"  {'required' if c['required'] else 'optional'}: {c['condition']}"
            for c in p.success_criteria
        ]
    if p.triggers:
        out += ["", "Triggers:"]
        for trig in p.triggers:
            extra = trig.get("schedule") or trig.get("event_type") or ""
            tz = f" ({trig['timezone']})" if trig.get("timezone") else ""
            out.append(f"  {trig['name']}: {trig['type']} {extra}{tz}".rstrip())
    typer.echo("\n".join(out))


def _parse_inputs(pairs: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            _err(f"--input expects name=value, got {pair!r}")
            raise typer.Exit(EXIT_USAGE)
        values[name.strip()] = value
    return values


@app.command()
def run(
    definition: Annotated[Path, typer.Argument(help="Definition file.")],
    inputs: Annotated[
        list[str] | None,
        typer.Option("--input", "-i", help="Run parameter as name=value (repeatable)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run result as JSON.")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show Prefect's own logs.")
    ] = False,
    wait_for_approvals: Annotated[
        bool,
        typer.Option(
            "--wait-for-approvals",
            help="Pause at require_approval rules until the approvers answer (dora approvals).",
        ),
    ] = False,
) -> None:
    """Run a definition once on the embedded Prefect API and print where the report is."""
    from dora.cli.runner import run_once

    code = run_once(
        definition,
        _parse_inputs(inputs or []),
        as_json=as_json,
        verbose=verbose,
        wait_for_approvals=wait_for_approvals,
    )
    raise typer.Exit(code)


@app.command()
def analyze(
    paths: Annotated[list[str], typer.Argument(help="Policy documents, folders or globs.")],
    profile: Annotated[Path | None, typer.Option("--profile", help="Entity profile YAML.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON record per requirement.")
    ] = False,
    semantic: Annotated[
        bool,
        typer.Option(
            "--semantic",
            help="Weigh meaning too, with the semantic matcher (needs 'scripts/setup.sh --semantic').",
        ),
    ] = False,
    rules_only: Annotated[
        bool,
        typer.Option(
            "--rules-only",
            help="The evidence rules' decision alone, without the calibrated evidence model.",
        ),
    ] = False,
) -> None:
    """Map policy documents to DORA requirements (no flow run)."""
    from agents.analysis import analyze_paths, requirement_records

    try:
        results = analyze_paths(
            paths, str(profile) if profile else None, semantic=semantic, rules_only=rules_only
        )
    except DoraError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(EXIT_FAILED) from None
    records = requirement_records(results)
    if as_json:
        _dump(records)
        return
    for doc in results.documents:
        if doc.status != "ok":
            _err(f"warning: {doc.path}: {doc.finding}")
    counts: dict[str, int] = {}
    for r in records:
        counts[r["coverage"]] = counts.get(r["coverage"], 0) + 1
    for r in records:
        if r["coverage"] != "not_applicable":
            typer.echo(
                f"{r['coverage']:<8} {r['score']:.2f}  {r['reference']:<32} {r.get('title', '')}"
            )
    typer.echo(
        f"\ncompliance score {results.compliance_score:.2f}; "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    )


@app.command()
def schema(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write the schema.")
    ] = Path("schemas/workflow-definition.schema.json"),
    check: Annotated[
        bool, typer.Option("--check", help="Fail if the file is stale instead of writing.")
    ] = False,
) -> None:
    """Write (or check) the JSON Schema editors use to validate definitions."""
    from dora.definition.schema import schema_text

    text = schema_text()
    if check:
        current = output.read_text(encoding="utf-8") if output.exists() else ""
        if current != text:
            _err(f"{output} is stale; run `dora schema` to regenerate it")
            raise typer.Exit(EXIT_FAILED)
        typer.echo(f"{output} is up to date")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {output}")


@app.command()
def deployments(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="prefect.yaml to write or check.")
    ] = Path("prefect.yaml"),
    check: Annotated[
        bool, typer.Option("--check", help="Fail if the file is stale instead of writing.")
    ] = False,
) -> None:
    """Generate prefect.yaml (deployments, schedules, event triggers) from the definitions."""
    from dora.definition.loader import validate_paths
    from dora.settings import get_settings
    from flows.deployments import render

    good, problems = validate_paths([get_settings().definitions_dir])
    if problems:
        for p in problems:
            _err(str(p))
        raise typer.Exit(EXIT_FAILED)
    text = render(good)
    if check:
        if not output.exists() or output.read_text(encoding="utf-8") != text:
            _err(f"{output} does not match the definitions; run `dora deployments` and commit it")
            raise typer.Exit(EXIT_FAILED)
        typer.echo(f"{output} matches {len(good)} definition(s)")
        return
    output.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {output} ({len(good)} deployment(s))")


def _mount() -> None:
    """Sub-commands that live with their features (imports stay light: no Prefect here)."""
    from dora.approvals_cli import approvals_app
    from dora.audit_cli import audit_app
    from dora.blocks_cli import blocks_app
    from dora.events_cli import events_app
    from dora.incident_cli import incident_app
    from dora.platform_cli import register as register_platform
    from dora.roi_cli import roi_app
    from dora.webhook.cli import app as webhook_app
    from dora.worker_cli import worker_app

    app.add_typer(webhook_app, name="webhook")
    app.add_typer(approvals_app, name="approvals")
    app.add_typer(incident_app, name="incident")  # dora incident classify | threat | report
    app.add_typer(roi_app, name="roi")  # dora roi validate | analyse | export
    app.add_typer(blocks_app, name="blocks")  # dora blocks register
    app.add_typer(worker_app, name="worker")  # dora worker (metrics + probes)
    app.add_typer(audit_app, name="audit")  # dora audit verify | export | purge | hold
    app.add_typer(events_app, name="events")  # dora events tail | relay | status
    register_platform(app)  # dora deploy | up | down | status


_mount()


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
