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
    """Serve POST /hooks/policy-updated, GET /health, GET /ready and GET /metrics.

    ``DORA_LOG_FORMAT=json`` logs JSON lines (uvicorn's own loggers included).
    """
    import uvicorn

    from dora.errors import ConfigurationError
    from dora.logs import configure_logging, json_enabled
    from dora.webhook.app import create_app

    if json_enabled():
        configure_logging(log_level.upper())

    try:
        asgi = create_app()
    except ConfigurationError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    # no access log: the default one is harmless (no headers) but noisy per request
    uvicorn.run(
        asgi,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        # JSON: keep our root handler (uvicorn's default config would add its own)
        log_config=None if json_enabled() else uvicorn.config.LOGGING_CONFIG,
    )


if __name__ == "__main__":
    app()
