"""``dora roi``: validate, analyse and export a register of information (CIR (EU) 2024/2956).

Mount in ``dora/cli/main.py`` with::

    from dora.roi_cli import roi_app
    app.add_typer(roi_app, name="roi")

Exit codes follow the CLI contract: 0 ok, 1 invalid register or failed check, 2 usage.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer

roi_app = typer.Typer(
    name="roi",
    help="Register of information (DORA Art. 28(3), CIR 2024/2956): validate, analyse, export.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DirArg = Annotated[
    Path, typer.Argument(help="Directory of template files B_01.01.csv ... B_99.01.csv or .xlsx.")
]


def _load(directory: Path) -> Any:
    from agents.roi.validate import validate_directory

    if not directory.is_dir():
        typer.echo(f"error: {directory} is not a directory", err=True)
        raise typer.Exit(1)
    return validate_directory(directory)


def _dump(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@roi_app.command()
def validate(
    directory: DirArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Check every template; each problem with template, row and column. Exit 1 on errors."""
    _register, report = _load(directory)
    if as_json:
        _dump(report.model_dump(mode="json"))
    else:
        for issue in report.issues:
            ref = f" ({issue.reference})" if issue.reference else ""
            typer.echo(issue.line() + ref)
        rows = sum(t.rows for t in report.templates)
        verdict = "VALID" if report.valid else "INVALID"
        typer.echo(
            f"{verdict}: {report.error_count} error(s), {report.warning_count} warning(s) in "
            f"{len(report.templates)} template(s), {rows} row(s)"
        )
    raise typer.Exit(0 if report.valid else 1)


@roi_app.command()
def analyse(
    directory: DirArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print the analysis as JSON.")] = False,
) -> None:
    """Concentration (share, HHI), exit plans and the Art. 30 checklist."""
    from agents.roi.analysis import analyse as run_analysis

    register, report = _load(directory)
    if not report.valid:
        typer.echo(
            f"error: the register has {report.error_count} validation error(s); run "
            f"`dora roi validate {directory}` first",
            err=True,
        )
        raise typer.Exit(1)
    result = run_analysis(register)
    if as_json:
        _dump(result.model_dump(mode="json"))
        return
    c = result.concentration
    typer.echo(f"HHI {c.hhi:,.0f} ({c.hhi_band}); basis: {c.basis}")
    for p in c.providers:
        typer.echo(
            f"  {p.share:6.1%}  {p.name} [{p.provider}] {p.country or '?'}  "
            f"functions {', '.join(p.functions)}  substitutability {p.substitutability or '-'}"
        )
    typer.echo(f"deepest subcontracting chain: rank {c.max_chain_depth}")
    typer.echo(f"third-country providers: {', '.join(c.third_country_providers) or 'none'}")
    for e in result.exit_plans:
        typer.echo(f"exit plan: {e.message}")
    for pc in result.contract_provisions:
        if pc.missing:
            what = "not recorded" if pc.not_recorded else ", ".join(pc.missing)
            typer.echo(f"Art. 30 {pc.arrangement}: missing {what}")


@roi_app.command()
def export(
    directory: DirArg,
    out: Annotated[Path, typer.Option("--out", help="Package .zip path or a directory.")],
    reference_date: Annotated[
        str | None, typer.Option(help="Reference date YYYY-MM-DD (default from B_01.01.0060).")
    ] = None,
    level: Annotated[str, typer.Option(help="IND (individual) or CON (consolidated).")] = "IND",
    force: Annotated[
        bool, typer.Option(help="Export even when the register has validation errors.")
    ] = False,
) -> None:
    """Write the xBRL-CSV report package for the EBA DORA 4.0 taxonomy."""
    from agents.roi.export import export_package

    if level not in ("IND", "CON"):
        typer.echo(f"error: --level must be IND or CON, got {level!r}", err=True)
        raise typer.Exit(2)
    if reference_date is not None:
        try:
            dt.date.fromisoformat(reference_date)
        except ValueError:
            typer.echo(f"error: --reference-date {reference_date!r} is not YYYY-MM-DD", err=True)
            raise typer.Exit(2) from None
    register, report = _load(directory)
    if not report.valid and not force:
        for issue in report.issues:
            if issue.severity == "error":
                typer.echo(issue.line(), err=True)
        typer.echo(
            f"error: not exported: {report.error_count} validation error(s) (use --force to "
            "export anyway)",
            err=True,
        )
        raise typer.Exit(1)
    try:
        result = export_package(register, out, reference_date=reference_date, level=level)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"wrote {result['path']} (reference date {result['reference_date']})")
    for note in result["approximations"]:
        typer.echo(f"  approximate: {note}")
