"""``dora audit`` commands: verify the chain, export it, retention and legal holds.

Mount in ``dora/cli/main.py`` with::

    from dora.audit_cli import audit_app
    app.add_typer(audit_app, name="audit")

Exit codes: 0 ok, 1 the chain (or an export) failed verification or the input is invalid,
2 usage. The store is the one the engine writes (``DORA_AUDIT_URL``, the
``DORA_AUDIT_DATABASE_BLOCK`` prefect-sqlalchemy block, or SQLite in ``DORA_HOME``);
``--url`` overrides it. URLs are printed with the password masked.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from dora.errors import DoraError

audit_app = typer.Typer(
    name="audit",
    help="Tamper-evident audit trail: verify, export (JSON Lines), retention, legal holds.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
hold_app = typer.Typer(
    name="hold", help="Legal holds: records they cover are never purged.", no_args_is_help=True
)
audit_app.add_typer(hold_app, name="hold")

T = TypeVar("T")
UrlOption = Annotated[
    str | None, typer.Option("--url", help="SQLAlchemy URL of the store (default: settings).")
]


def _run(url: str | None, work: Callable[[Any], Awaitable[T]]) -> T:
    from dora.audit.store import AuditStore

    async def main() -> T:
        store = await AuditStore.open(url)
        try:
            return await work(store)
        finally:
            await store.close()

    try:
        return asyncio.run(main())
    except DoraError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def _anchor(value: str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    seq, _, digest = value.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        typer.echo("--anchor must be SEQ:HASH (a decimal seq and a 64-hex hash)", err=True)
        raise typer.Exit(2)
    return int(seq), digest.lower()


def _time(value: str | None) -> datetime | None:
    from dora.audit.store import parse_time

    if value is None:
        return None
    try:
        return parse_time(value)
    except DoraError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@audit_app.command()
def verify(
    url: UrlOption = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="Verify an exported JSON Lines file instead.")
    ] = None,
    anchor: Annotated[
        str | None, typer.Option(help="SEQ:HASH a supervisor holds from an earlier export.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Walk the chain; report the first record edited, deleted, inserted or reordered."""
    pinned = _anchor(anchor)
    if file is not None:
        from dora.audit.export import verify_export

        try:
            report = verify_export(file, anchor=pinned)
        except (DoraError, OSError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
    else:
        report = _run(url, lambda store: store.verify(anchor=pinned))
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    elif report.problem is None:
        typer.echo(
            f"ok: {report.checked} record(s) verified"
            + (f", seq {report.first_seq}..{report.last_seq}" if report.checked else "")
            + (f", head {report.last_hash}" if report.last_hash else "")
        )
    else:
        typer.echo(f"TAMPERED: {report.problem}", err=True)
    for note in report.notes if not as_json else []:
        typer.echo(f"note: {note}", err=True)
    raise typer.Exit(0 if report.ok else 1)


@audit_app.command()
def export(
    url: UrlOption = None,
    since: Annotated[str | None, typer.Option(help="From this ISO date/time (UTC).")] = None,
    until: Annotated[str | None, typer.Option(help="Before this ISO date/time (UTC).")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
) -> None:
    """Write records as JSON Lines with their hashes (independently verifiable)."""
    start, end = _time(since), _time(until)
    if output is None:
        count = _run(url, lambda store: store.export(sys.stdout, since=start, until=end))
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        with output.open("w", encoding="utf-8", newline="\n") as handle:
            count = _run(url, lambda store: store.export(handle, since=start, until=end))
    typer.echo(f"{count} record(s) exported", err=True)


@audit_app.command()
def purge(
    url: UrlOption = None,
    older_than_days: Annotated[
        int | None,
        typer.Option(min=1, help="Retention in days (default: DORA_AUDIT_RETENTION_DAYS)."),
    ] = None,
) -> None:
    """Remove records past retention that no legal hold covers (chain stays verifiable)."""
    from dora.events.settings import get_event_settings

    days = older_than_days or get_event_settings().audit_retention_days
    if days is None:
        typer.echo(
            "no retention: pass --older-than-days or set DORA_AUDIT_RETENTION_DAYS", err=True
        )
        raise typer.Exit(2)
    cutoff = datetime.now(UTC) - timedelta(days=days)
    result = _run(url, lambda store: store.purge(older_than=cutoff))
    typer.echo(
        json.dumps(
            {
                "purged": result.purged,
                "through_seq": result.through_seq,
                "reason": result.reason,
                "outbox_rows_deleted": result.outbox_deleted,
            }
        )
    )


@hold_app.command("place")
def hold_place(
    reason: Annotated[str, typer.Option(help="Why (case number, request).")],
    by: Annotated[str, typer.Option("--by", help="Who places the hold.")],
    scope: Annotated[str, typer.Option(help="all, workflow or run.")] = "all",
    value: Annotated[str | None, typer.Option(help="Workflow id or run id.")] = None,
    url: UrlOption = None,
) -> None:
    """Place a legal hold (recorded in the chain)."""
    if scope not in ("all", "workflow", "run"):
        typer.echo("--scope must be all, workflow or run", err=True)
        raise typer.Exit(2)
    hold = _run(
        url,
        lambda store: store.place_hold(scope, value, reason=reason, placed_by=by),
    )
    typer.echo(json.dumps(hold.__dict__))


@hold_app.command("release")
def hold_release(
    hold_id: Annotated[int, typer.Argument(help="Hold id (see `dora audit hold list`).")],
    by: Annotated[str, typer.Option("--by", help="Who releases the hold.")],
    url: UrlOption = None,
) -> None:
    """Release a legal hold (recorded in the chain)."""
    _run(url, lambda store: store.release_hold(hold_id, released_by=by))
    typer.echo(f"hold {hold_id} released")


@hold_app.command("list")
def hold_list(
    url: UrlOption = None,
    all_holds: Annotated[bool, typer.Option("--all", help="Include released holds.")] = False,
) -> None:
    """List legal holds as JSON."""
    holds = _run(url, lambda store: store.holds(active_only=not all_holds))
    typer.echo(json.dumps([h.__dict__ for h in holds], indent=2))
