"""``dora webhook serve``: run the signed webhook receiver under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(
    name="webhook",
    help="Signed webhook receiver that emits Prefect policy.updated events.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _group() -> None:
    """Keep ``serve`` a sub-command even though it is the only one."""


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve POST /hooks/policy-updated, GET /health and GET /ready."""
    import uvicorn

    from dora.errors import ConfigurationError
    from dora.webhook.app import create_app

    try:
        asgi = create_app()
    except ConfigurationError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    # no access log: the default one is harmless (no headers) but noisy per request
    uvicorn.run(asgi, host=host, port=port, log_level=log_level, access_log=False)


if __name__ == "__main__":
    app()
