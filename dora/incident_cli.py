"""``dora incident`` commands: classify an incident, assess a cyber threat, draft and check reports.

Mounted in ``dora/cli/main.py`` as ``incident``. Exit codes: 0 ok, 1 invalid input (the
message names the file and field) or a report with missing mandatory fields, 2 usage.
With ``--json`` the result is one JSON object on stdout; on invalid input stdout carries
``{"error": ..., "problems": [{"field", "message"}]}`` and stderr the same in plain text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

incident_app = typer.Typer(
    name="incident",
    help="Major ICT-related incidents (DORA Art. 18-19): classify, deadlines, reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_OK, EXIT_INVALID = 0, 1
AS_JSON = typer.Option("--json", help="Print one JSON object.")


def _dump(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _fail(exc: Exception, as_json: bool) -> typer.Exit:
    from agents.incident.inputs import IncidentInputError

    typer.echo(f"error: {exc}", err=True)
    if as_json:
        problems = (
            [{"field": f, "message": m} for f, m in exc.problems]
            if isinstance(exc, IncidentInputError)
            else []
        )
        _dump({"error": str(exc), "problems": problems})
    return typer.Exit(EXIT_INVALID)


@incident_app.command()
def classify(
    file: Annotated[Path, typer.Argument(help="Incident JSON (see examples/incidents/).")],
    as_json: Annotated[bool, AS_JSON] = False,
    history: Annotated[
        Path | None,
        typer.Option(
            "--history",
            help="Earlier incidents with apparent root causes (JSON) for the recurring "
            "check of CDR 2024/1772 Art. 8(2).",
        ),
    ] = None,
    root_cause: Annotated[
        str | None,
        typer.Option("--root-cause", help="Apparent root cause of this incident (Art. 8(2))."),
    ] = None,
) -> None:
    """Classify an incident (CDR 2024/1772) and compute its deadlines (CDR 2025/301 Art. 5)."""
    from agents.incident.assess import assess
    from agents.incident.inputs import IncidentInputError, load
    from agents.incident.models import Incident, IncidentHistory

    try:
        incident = load(Incident, file)
        past = load(IncidentHistory, history).incidents if history else None
    except IncidentInputError as exc:
        raise _fail(exc, as_json) from None
    result = assess(incident, root_cause=root_cause, history=past).contract()
    if as_json:
        _dump(result)
        return
    typer.echo(_human(result))


def _human(r: dict[str, Any]) -> str:
    lines = [
        f"{r['incident_id']}: {'MAJOR incident' if r['major'] else 'not a major incident'}",
        f"  decided by {r['decided_by']}",
        f"  gate (Art. 6): {'met' if r['gate']['met'] else 'NOT met'} - {r['gate']['explanation']}",
        "  criteria (Art. 9, all strict 'higher than'):",
    ]
    for c in r["criteria"]:
        lines.append(
            f"    [{'x' if c['met'] else ' '}] {c['title']} ({c['article']}): {c['explanation']}"
        )
    if r.get("recurring"):
        lines.append(f"  recurring (Art. 8(2)): {r['recurring']['explanation']}")
    lines.append(f"  deadlines ({r['member_state']}, {r['time_zone']}):")
    for name, d in r["deadline_details"].items():
        due = d["due"] or "not yet determined"
        lines.append(f"    {name}: {due} - {d['explanation']}")
    lines += [f"  note: {n}" for n in r["notes"]]
    return "\n".join(lines)


@incident_app.command()
def threat(
    file: Annotated[Path, typer.Argument(help="Cyber threat JSON.")],
    as_json: Annotated[bool, AS_JSON] = False,
) -> None:
    """Is a cyber threat significant (CDR 2024/1772 Art. 10)? Notification is voluntary."""
    from agents.incident.classification import assess_threat
    from agents.incident.inputs import IncidentInputError, load
    from agents.incident.models import CyberThreat

    try:
        item = load(CyberThreat, file)
    except IncidentInputError as exc:
        raise _fail(exc, as_json) from None
    result = assess_threat(item)
    if as_json:
        _dump(result.model_dump(mode="json"))
        return
    typer.echo(result.explanation)
    for c in result.conditions:
        typer.echo(f"  [{'x' if c.met else ' '}] {c.article}: {c.test}")
    typer.echo(f"  notification: {result.notification}")


REPORT_TYPE = typer.Option(
    "--type",
    "-t",
    help="initial | intermediate | final (CIR 2025/302 Annex I) or cyber_threat (Annex III).",
)


def _report_type(value: str) -> Any:
    from agents.incident.reports import REPORT_TYPES

    if value not in REPORT_TYPES:
        typer.echo(f"--type must be one of {', '.join(REPORT_TYPES)}, not {value!r}", err=True)
        raise typer.Exit(2)
    return value


def _show_validation(data: dict[str, Any], check: Any, as_json: bool) -> None:
    if as_json:
        _dump(data | {"validation": check.model_dump(mode="json")})
        return
    state = "complete" if check.complete else "NOT complete"
    typer.echo(f"{check.report_type} report ({check.template}): {state}")
    for p in check.missing:
        typer.echo(f"  missing {p.field} {p.label}: {p.message}")
    for p in check.invalid:
        typer.echo(f"  invalid {p.field} {p.label}: {p.message}")
    for p in check.recommended:
        typer.echo(f"  recommended {p.field} {p.label}: {p.message}")


@incident_app.command()
def report(
    file: Annotated[Path, typer.Argument(help="Report JSON (field names, or the exported form).")],
    report_type: Annotated[str, REPORT_TYPE],
    as_json: Annotated[bool, AS_JSON] = False,
) -> None:
    """Check a report's mandatory fields for its stage; exit 1 when any is missing or wrong."""
    from agents.incident.inputs import IncidentInputError, read_json
    from agents.incident.reports import export, load_report, validate

    kind = _report_type(report_type)
    try:
        item = load_report(read_json(file), kind, str(file))
    except IncidentInputError as exc:
        raise _fail(exc, as_json) from None
    check = validate(item, kind)
    _show_validation(export(item, kind), check, as_json)
    if not check.complete:
        if not as_json:
            typer.echo(f"error: {file}: the {kind} report is not complete", err=True)
        raise typer.Exit(EXIT_INVALID)


@incident_app.command()
def draft(
    file: Annotated[
        Path, typer.Argument(help="Incident JSON (or cyber threat JSON for cyber_threat).")
    ],
    report_type: Annotated[str, REPORT_TYPE],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the draft here.")] = None,
    as_json: Annotated[bool, AS_JSON] = False,
) -> None:
    """Draft a report from an incident: filled from its data and classification, gaps listed."""
    from agents.incident.assess import assess
    from agents.incident.classification import assess_threat
    from agents.incident.inputs import IncidentInputError, load
    from agents.incident.models import CyberThreat, Incident
    from agents.incident.reports import (
        CyberThreatNotification,
        IncidentReport,
        draft_report,
        draft_threat_notification,
        export,
        validate,
    )

    kind = _report_type(report_type)
    try:
        item: IncidentReport | CyberThreatNotification
        if kind == "cyber_threat":
            threat_in = load(CyberThreat, file)
            item = draft_threat_notification(threat_in, assess_threat(threat_in))
        else:
            incident = load(Incident, file)
            item = draft_report(incident, assess(incident).classification, kind)
    except IncidentInputError as exc:
        raise _fail(exc, as_json) from None
    data, check = export(item, kind), validate(item, kind)
    if out is not None:
        out.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        typer.echo(f"wrote {out}", err=True)
    _show_validation(data, check, as_json)


@incident_app.command()
def recurring(
    file: Annotated[Path, typer.Argument(help="Incident history JSON ({'incidents': [...]}).")],
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="End of the 6-month window (ISO 8601 with offset; default now)."
        ),
    ] = None,
    as_json: Annotated[bool, AS_JSON] = False,
) -> None:
    """Monthly check of CDR 2024/1772 Art. 8(2): recurring non-major incidents that together are major."""
    from datetime import UTC, datetime

    from agents.incident.classification import monthly_recurring_check
    from agents.incident.inputs import IncidentInputError, load
    from agents.incident.models import IncidentHistory

    when = datetime.now(UTC)
    if as_of:
        try:
            when = datetime.fromisoformat(as_of)
        except ValueError:
            typer.echo(f"--as-of: {as_of!r} is not an ISO 8601 time", err=True)
            raise typer.Exit(2) from None
        if when.tzinfo is None:
            typer.echo(f"--as-of: {as_of!r} needs a UTC offset", err=True)
            raise typer.Exit(2)
    try:
        history = load(IncidentHistory, file)
    except IncidentInputError as exc:
        raise _fail(exc, as_json) from None
    result = monthly_recurring_check(history.incidents, when)
    if as_json:
        _dump(result.model_dump(mode="json"))
        return
    typer.echo(result.explanation)
    for g in result.groups:
        typer.echo(f"  [{'MAJOR' if g.major else 'not major'}] {g.explanation}")


@incident_app.command()
def emit(
    file: Annotated[Path, typer.Argument(help="Incident JSON (the classify input contract).")],
    as_json: Annotated[bool, AS_JSON] = False,
) -> None:
    """Send an ``incident.detected`` Prefect event: starts definitions/major-incident-reporting.yaml.

    The incident is validated first (exit 1 naming the field, nothing sent). The event's
    resource is ``dora.incident.<incident_id>`` and its payload carries ``incident`` (which the
    deployment's trigger passes to the flow) with the classification verdict for routing.
    Needs ``PREFECT_API_URL`` (the platform's server).
    """
    from agents.incident.assess import assess
    from agents.incident.inputs import IncidentInputError, load, read_json
    from agents.incident.models import Incident

    try:
        incident = load(Incident, file)
    except IncidentInputError as exc:
        raise _fail(exc, as_json) from None
    verdict = assess(incident)
    from prefect.events import emit_event
    from prefect.events.worker import EventsWorker
    from prefect.settings import get_current_settings

    if not get_current_settings().api.url:
        # without a server Prefect would start a throwaway one and the event would go nowhere
        typer.echo("error: PREFECT_API_URL is not set: no Prefect server to send to", err=True)
        raise typer.Exit(EXIT_INVALID)

    event = emit_event(
        event="incident.detected",
        resource={
            "prefect.resource.id": f"dora.incident.{incident.incident_id}",
            "prefect.resource.name": f"incident {incident.incident_id}",
            "dora.major": "true" if verdict.classification.major else "false",
            "dora.member_state": incident.entity.member_state,
        },
        payload={
            "incident": read_json(file),
            "major": verdict.classification.major,
            "criteria_met": list(verdict.classification.criteria_met),
        },
    )
    EventsWorker.drain_all()  # a CLI process exits right away: send before it does
    result = {
        "event": "incident.detected",
        "id": str(event.id) if event else None,
        "resource": f"dora.incident.{incident.incident_id}",
        "major": verdict.classification.major,
    }
    if as_json:
        _dump(result)
    else:
        typer.echo(f"sent incident.detected for {incident.incident_id} (event {result['id']})")
