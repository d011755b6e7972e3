"""``dora blocks`` commands: register the custom block types with the current Prefect API.

It lives outside the ``blocks`` package on purpose: importing ``blocks`` imports Prefect,
and the CLI must not import Prefect before ``dora run`` has pointed it at its embedded
server (Prefect reads its settings once, at import). Mounted in ``dora/cli/main.py``::

    from dora.blocks_cli import blocks_app
    app.add_typer(blocks_app, name="blocks")
"""

from __future__ import annotations

import typer

blocks_app = typer.Typer(
    name="blocks",
    help="Custom Prefect blocks (Vault secrets).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@blocks_app.callback()
def _blocks() -> None:
    """Custom Prefect blocks (Vault secrets)."""


@blocks_app.command("register")
def register() -> None:
    """Register the DORA block types with the Prefect API in PREFECT_API_URL."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    from blocks.vault import register_blocks

    url = PREFECT_API_URL.value() or "(no PREFECT_API_URL: a temporary local server)"
    if PREFECT_API_URL.value():
        with get_client(sync_client=True) as client:
            problem = client.api_healthcheck()
        if problem is not None:
            typer.echo(
                f"cannot reach the Prefect API at {url} ({type(problem).__name__}); "
                "start it (dora up) or set PREFECT_API_URL",
                err=True,
            )
            raise typer.Exit(1)
    try:
        slugs = register_blocks()
    except Exception as exc:  # network/HTTP errors from the Prefect client
        typer.echo(f"registering block types at {url} failed ({type(exc).__name__})", err=True)
        raise typer.Exit(1) from None
    for slug in slugs:
        typer.echo(f"registered block type {slug}")
    typer.echo(f"{len(slugs)} block type(s) registered at {url}")


if __name__ == "__main__":  # pragma: no cover
    blocks_app()
