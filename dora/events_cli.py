"""``dora events`` commands: tail a topic, run the outbox relay, show the outbox.

Mount in ``dora/cli/main.py`` with::

    from dora.events_cli import events_app
    app.add_typer(events_app, name="events")

Kafka settings come from the ``DORA_KAFKA_BLOCK`` block or ``DORA_KAFKA_*``
(``--bootstrap`` overrides the servers for a quick look). Exit codes: 0 ok, 1 Kafka not
configured or unreachable, 2 usage.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from typing import Annotated, Any

import typer

from dora.errors import DoraError

events_app = typer.Typer(
    name="events",
    help="Workflow events on Kafka: tail a topic, run the outbox relay.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


async def _config(bootstrap: str | None) -> Any:
    from dora.events.kafka import KafkaConfig, resolve_kafka_config

    config = await resolve_kafka_config()
    if bootstrap:
        config = (
            config.model_copy(update={"bootstrap_servers": bootstrap})
            if config
            else KafkaConfig(bootstrap_servers=bootstrap)
        )
    if config is None:
        typer.echo(
            "Kafka is not configured: set DORA_KAFKA_BOOTSTRAP_SERVERS or DORA_KAFKA_BLOCK "
            "(or pass --bootstrap)",
            err=True,
        )
        raise typer.Exit(1)
    return config


def _decode(raw: bytes | None) -> Any:
    if raw is None:
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


@events_app.command()
def tail(
    topic: Annotated[str, typer.Argument(help="Topic to read.")],
    group: Annotated[
        str | None, typer.Option("--group", help="Consumer group (commits what it printed).")
    ] = None,
    from_offset: Annotated[
        int | None, typer.Option("--from-offset", min=0, help="Start every partition here.")
    ] = None,
    from_beginning: Annotated[
        bool, typer.Option("--from-beginning", help="Start at the oldest message.")
    ] = False,
    max_messages: Annotated[
        int | None, typer.Option("--max", min=1, help="Stop after this many messages.")
    ] = None,
    idle_timeout: Annotated[
        float | None, typer.Option("--timeout", help="Stop after this many idle seconds.")
    ] = None,
    bootstrap: Annotated[str | None, typer.Option(help="host:port (overrides settings).")] = None,
) -> None:
    """Consume TOPIC and print each message as one JSON line (key, value, headers)."""
    if from_offset is not None and from_beginning:
        typer.echo("use either --from-offset or --from-beginning", err=True)
        raise typer.Exit(2)
    try:
        asyncio.run(
            _tail(topic, group, from_offset, from_beginning, max_messages, idle_timeout, bootstrap)
        )
    except (OSError, DoraError) as exc:
        typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(1) from None


async def _tail(
    topic: str,
    group: str | None,
    from_offset: int | None,
    from_beginning: bool,
    max_messages: int | None,
    idle_timeout: float | None,
    bootstrap: str | None,
) -> None:
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.errors import KafkaError

    config = await _config(bootstrap)
    consumer = AIOKafkaConsumer(
        group_id=group,
        enable_auto_commit=False,
        # an interactive tail: a stopped tail's group slot frees up in seconds, not minutes
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
        auto_offset_reset="earliest" if from_beginning else "latest",
        **config.consumer_options(),
    )
    try:
        await consumer.start()
    except KafkaError as exc:
        typer.echo(f"error: Kafka unreachable ({type(exc).__name__})", err=True)
        raise typer.Exit(1) from None
    printed = 0
    try:
        if from_offset is not None or (from_beginning and group is None):
            partitions = consumer.partitions_for_topic(topic)
            if not partitions:
                await consumer._client.force_metadata_update()
                partitions = consumer.partitions_for_topic(topic) or set()
            if not partitions:
                typer.echo(f"error: topic {topic!r} does not exist", err=True)
                raise typer.Exit(1)
            assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
            consumer.assign(assigned)
            for tp in assigned:
                if from_offset is not None:
                    consumer.seek(tp, from_offset)
                else:
                    await consumer.seek_to_beginning(tp)
        else:
            consumer.subscribe([topic])
        loop = asyncio.get_running_loop()
        last = loop.time()
        joined = bool(consumer.assignment())
        done: dict[TopicPartition, int] = {}
        while max_messages is None or printed < max_messages:
            batch = await consumer.getmany(timeout_ms=500)
            if not batch:
                if not joined:
                    if consumer.assignment():
                        joined, last = True, loop.time()  # idle time counts from assignment
                    elif loop.time() - last < 60:
                        continue
                if idle_timeout is not None and loop.time() - last > idle_timeout:
                    break
                continue
            last = loop.time()
            for tp, records in batch.items():
                for msg in records:
                    line = {
                        "topic": tp.topic,
                        "partition": tp.partition,
                        "offset": msg.offset,
                        "key": _decode(msg.key),
                        "headers": {k: v.decode("utf-8", "replace") for k, v in msg.headers},
                        "value": _decode(msg.value),
                    }
                    typer.echo(json.dumps(line, ensure_ascii=False))
                    printed += 1
                    done[tp] = msg.offset + 1
                    if max_messages is not None and printed >= max_messages:
                        break
                if max_messages is not None and printed >= max_messages:
                    break
            if group is not None and done:
                await consumer.commit(dict(done))  # what was printed, not all that was fetched
    finally:
        await consumer.stop()


@events_app.command()
def relay(
    once: Annotated[
        bool, typer.Option("--once", help="Publish everything pending, then exit.")
    ] = False,
    url: Annotated[str | None, typer.Option(help="Audit store URL (default: settings).")] = None,
    bootstrap: Annotated[str | None, typer.Option(help="host:port (overrides settings).")] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Serve /metrics (dora_outbox_lag_seconds), /health and /ready."),
    ] = None,
    metrics_host: Annotated[str, typer.Option(help="Interface for --metrics-port.")] = "0.0.0.0",
) -> None:
    """Publish the outbox to Kafka (runs until interrupted; resumes where it stopped)."""

    async def main() -> None:
        from dora.audit.store import AuditStore
        from dora.events.relay import OutboxRelay
        from dora.events.settings import get_event_settings

        settings = get_event_settings()
        config = await _config(bootstrap)
        store = await AuditStore.open(url)
        worker = OutboxRelay(
            store,
            config,
            batch_size=settings.relay_batch_size,
            poll_interval_s=settings.relay_poll_interval_s,
            backoff_max_s=settings.relay_backoff_max_s,
        )
        try:
            if once:
                sent = await worker.drain(timeout=settings.relay_backoff_max_s * 10)
                typer.echo(f"{sent} outbox row(s) published", err=True)
                return
            if metrics_port is not None:
                from dora import metrics

                def ready() -> tuple[bool, str]:
                    stats = worker.stats
                    return (True, "") if stats.last_ok else (False, stats.last_error or "")

                metrics.serve_http(metrics_host, metrics_port, ready=ready)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError):
                    loop.add_signal_handler(sig, stop.set)
            typer.echo(f"relaying to {config.bootstrap_servers}; Ctrl-C stops", err=True)
            await worker.run(stop)
        finally:
            await worker.close()
            await store.close()

    try:
        asyncio.run(main())
    except (TimeoutError, DoraError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


@events_app.command()
def status(
    url: Annotated[str | None, typer.Option(help="Audit store URL (default: settings).")] = None,
) -> None:
    """Outbox counts (pending, sent, dead letters) as JSON."""

    async def main() -> dict[str, int]:
        from dora.audit.store import AuditStore

        store = await AuditStore.open(url)
        try:
            return await store.outbox_counts()
        finally:
            await store.close()

    typer.echo(json.dumps(asyncio.run(main())))
