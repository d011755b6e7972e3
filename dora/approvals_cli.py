"""``dora approvals`` commands: run the approvals front-end, and approve/reject as a client.

Mount in ``dora/cli/main.py`` with::

    from dora.approvals_cli import approvals_app
    app.add_typer(approvals_app, name="approvals")
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

approvals_app = typer.Typer(
    name="approvals",
    help="Approve or reject runs waiting on a require_approval rule (authenticated).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DEFAULT_URL = "http://127.0.0.1:4210"


def _url(url: str | None) -> str:
    return (url or os.environ.get("DORA_APPROVALS_URL") or DEFAULT_URL).rstrip("/")


def _token(token: str | None) -> str:
    token = token or os.environ.get("DORA_APPROVAL_TOKEN")
    if not token:
        typer.echo("no token: pass --token or set DORA_APPROVAL_TOKEN", err=True)
        raise typer.Exit(2)
    return token


def _show(response: Any) -> None:
    try:
        body = response.json()
    except ValueError:
        body = {"error": response.text}
    typer.echo(json.dumps(body, indent=2, ensure_ascii=False))
    if response.status_code >= 400:
        raise typer.Exit(1)


@approvals_app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 4210,
    approvers_file: Annotated[
        Path | None,
        typer.Option(help="Approvers YAML (default: $DORA_APPROVERS_FILE)."),
    ] = None,
    audit_log: Annotated[
        Path | None,
        typer.Option(help="JSON-lines audit log (default: $DORA_APPROVAL_AUDIT_LOG)."),
    ] = None,
) -> None:
    """Serve POST /approvals/{flow_run_id} and GET /approvals/pending (uses PREFECT_API_URL)."""
    import uvicorn

    from dora.approvals_api import create_app
    from dora.errors import ConfigurationError

    try:
        app = create_app(approvers_file, audit_log)
    except ConfigurationError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    uvicorn.run(app, host=host, port=port, log_level="info")


@approvals_app.command()
def approve(
    run_id: Annotated[str, typer.Argument(help="Flow run id waiting for approval.")],
    token: Annotated[
        str | None, typer.Option(help="Bearer token (default: $DORA_APPROVAL_TOKEN).")
    ] = None,
    decision: Annotated[str, typer.Option(help="approve or reject.")] = "approve",
    reason: Annotated[str, typer.Option(help="Why (recorded with the decision).")] = "",
    role: Annotated[str, typer.Option(help="Role to decide as, if you hold several.")] = "",
    url: Annotated[
        str | None,
        typer.Option(help=f"Front-end URL (default: $DORA_APPROVALS_URL or {DEFAULT_URL})."),
    ] = None,
) -> None:
    """Approve or reject a waiting run as the identity behind the token."""
    import httpx

    if decision not in ("approve", "reject"):
        typer.echo("--decision must be approve or reject", err=True)
        raise typer.Exit(2)
    response = httpx.post(
        f"{_url(url)}/approvals/{run_id}",
        headers={"Authorization": f"Bearer {_token(token)}"},
        json={"decision": decision, "reason": reason, "role": role},
        timeout=30,
    )
    _show(response)


@approvals_app.command()
def pending(
    token: Annotated[
        str | None, typer.Option(help="Bearer token (default: $DORA_APPROVAL_TOKEN).")
    ] = None,
    url: Annotated[str | None, typer.Option(help="Front-end URL.")] = None,
) -> None:
    """List runs waiting for approval and the roles they still need."""
    import httpx

    response = httpx.get(
        f"{_url(url)}/approvals/pending",
        headers={"Authorization": f"Bearer {_token(token)}"},
        timeout=30,
    )
    _show(response)


@approvals_app.command("hash-token")
def hash_token_cmd(
    token: Annotated[str, typer.Argument(help="Token to hash for the approvers file.")],
) -> None:
    """Print the sha256 to store as token_sha256 (the file never holds the token)."""
    from dora.approvals_api import hash_token

    typer.echo(hash_token(token))
