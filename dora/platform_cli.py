"""``dora deploy | up | down | status``: the local Prefect platform.

Mounted into the main CLI by ``register(app)`` (top-level ``dora deploy|up|down|status``)
or ``app.add_typer(platform_app)`` (``dora platform ...``); also runnable as ``python -m dora.platform_cli <command>``. Prefect is imported
only inside the commands, after PREFECT_API_URL has been decided: Prefect reads its
settings once, at import.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from dora import platform
from dora.settings import PROJECT_ROOT

platform_app = typer.Typer(
    name="platform",
    help="Run the local Prefect platform: server, worker, deployments and automations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

HomeOpt = Annotated[
    Path | None,
    typer.Option("--home", help="State directory (default: DORA_HOME or .dora)."),
]
ProjectOpt = Annotated[
    Path, typer.Option("--project-dir", help="Directory holding prefect.yaml and the flows.")
]


def _err(msg: str) -> None:
    typer.echo(msg, err=True)


@platform_app.command("deploy")
def deploy_cmd(
    project_dir: ProjectOpt = PROJECT_ROOT,
    home: HomeOpt = None,
) -> None:
    """Register work pool, deployments (pruning stale ones), blocks and automations."""
    if not os.environ.get("PREFECT_API_URL"):
        state = platform.read_state(home)
        url = state.get("api_url")
        if url and platform.healthy(str(url)):
            os.environ["PREFECT_API_URL"] = str(url)  # before Prefect is imported
            typer.echo(f"using the local platform at {url}")
    try:
        platform.deploy(project_dir.resolve(), echo=typer.echo)
    except Exception as exc:
        _err(f"dora deploy failed: {exc}")
        raise typer.Exit(1) from None


@platform_app.command("up")
def up_cmd(
    port: Annotated[
        int, typer.Option("--port", help="Port of the Prefect server.")
    ] = platform.DEFAULT_PORT,
    home: HomeOpt = None,
    project_dir: ProjectOpt = PROJECT_ROOT,
    webhook_port: Annotated[
        int, typer.Option("--webhook-port", help="Port of the webhook receiver.")
    ] = platform.DEFAULT_WEBHOOK_PORT,
) -> None:
    """Start the Prefect server, register everything, start the worker (idempotent)."""
    try:
        info = platform.up(
            home=home,
            port=port,
            project_dir=project_dir.resolve(),
            echo=typer.echo,
            webhook_port=webhook_port,
        )
    except Exception as exc:
        _err(f"dora up failed: {exc}")
        raise typer.Exit(1) from None
    typer.echo(f"platform up: PREFECT_API_URL={info['api_url']}")


@platform_app.command("down")
def down_cmd(
    home: HomeOpt = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds between SIGTERM and SIGKILL.")
    ] = 20.0,
) -> None:
    """Stop the worker, webhook receiver and server started by `dora up`."""
    platform.down(home=home, echo=typer.echo, timeout=timeout)


@platform_app.command("status")
def status_cmd(
    home: HomeOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show which platform processes run and whether the API is healthy."""
    st = platform.status(home)
    if as_json:
        typer.echo(json.dumps(st, indent=2))
    else:
        typer.echo(f"api: {st['api_url'] or '-'} ({'healthy' if st['healthy'] else 'down'})")
        for name, c in st["components"].items():
            where = f"pid {c['pid']}" if c["pid"] else "no pid file"
            typer.echo(f"{name:8} {'running' if c['running'] else 'stopped':8} {where}")
    raise typer.Exit(0 if st["healthy"] else 1)


def register(app: typer.Typer) -> None:
    """Add ``deploy``, ``up``, ``down`` and ``status`` as top-level commands of ``app``."""
    app.command("deploy")(deploy_cmd)
    app.command("up")(up_cmd)
    app.command("down")(down_cmd)
    app.command("status")(status_cmd)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(platform_app())
