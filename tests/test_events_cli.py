"""``dora events`` on a real broker: relay --once publishes the outbox, tail reads it back."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dora.audit.store import AuditStore
from dora.cli.main import app
from dora.events.models import EventType, WorkflowEvent
from tests.kafka_service import Tansu, tansu

_ = tansu


@pytest.fixture
def published(tansu: Tansu, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Five events recorded with Kafka configured, published by ``dora events relay --once``."""
    topic = f"cli-{uuid.uuid4().hex[:8]}"
    url = f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}"
    monkeypatch.setenv("DORA_AUDIT_URL", url)
    monkeypatch.setenv("DORA_KAFKA_BOOTSTRAP_SERVERS", tansu.bootstrap)
    monkeypatch.setenv("DORA_KAFKA_TOPIC_EVENTS", topic)
    monkeypatch.delenv("DORA_KAFKA_BLOCK", raising=False)
    monkeypatch.setenv("DORA_KAFKA_TOPIC_AUDIT", f"{topic}-audit")

    async def record() -> None:
        store = await AuditStore.open(url)
        for i in range(5):
            event = WorkflowEvent(
                type=EventType.TASK_STARTED,
                workflow_id="wf-cli",
                source="test",
                data={"i": i},
                correlation_id="run",
            )
            await store.append_event(event, streams=("events", "audit"))
        await store.close()

    asyncio.run(record())
    runner = CliRunner()
    status = runner.invoke(app, ["events", "status"])
    assert json.loads(status.stdout)["pending"] == 10
    result = runner.invoke(app, ["events", "relay", "--once"])
    assert result.exit_code == 0, result.output
    assert json.loads(runner.invoke(app, ["events", "status"]).stdout)["pending"] == 0
    return topic


def _lines(output: str) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_tail_from_beginning_and_from_offset(published: str) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["events", "tail", published, "--from-beginning", "--max", "5"])
    assert result.exit_code == 0, result.output
    lines = _lines(result.stdout)
    assert [line["value"]["data"]["i"] for line in lines] == [0, 1, 2, 3, 4]
    assert all(line["key"] == "wf-cli" for line in lines)
    assert lines[0]["headers"]["event-id"] == lines[0]["value"]["id"]

    later = runner.invoke(
        app, ["events", "tail", published, "--from-offset", "3", "--timeout", "1"]
    )
    assert later.exit_code == 0, later.output
    assert [line["offset"] for line in _lines(later.stdout)] == [3, 4]


async def _committed(bootstrap: str, topic: str, group: str) -> int | None:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(group_id=group, bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        return await consumer.committed(TopicPartition(topic, 0))
    finally:
        await consumer.stop()


def test_tail_with_a_group_commits_what_it_printed(published: str, tansu: Tansu) -> None:
    bootstrap = tansu.bootstrap
    runner = CliRunner()
    group = f"g-{uuid.uuid4().hex[:6]}"
    first = runner.invoke(
        app, ["events", "tail", published, "--group", group, "--from-beginning", "--max", "3"]
    )
    assert first.exit_code == 0, first.output
    assert [line["offset"] for line in _lines(first.stdout)] == [0, 1, 2]
    # the group committed exactly what was printed (0..2), not all five it fetched
    assert asyncio.run(_committed(bootstrap, published, group)) == 3


def test_tail_without_kafka_configured_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DORA_KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("DORA_KAFKA_BLOCK", raising=False)
    result = CliRunner().invoke(app, ["events", "tail", "x", "--max", "1"])
    assert result.exit_code == 1 and "not configured" in result.output
