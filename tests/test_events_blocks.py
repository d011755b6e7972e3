"""Connection settings from Prefect blocks: Kafka (our block) and the audit database
(prefect-sqlalchemy's AsyncSqlAlchemyConnector on PostgreSQL), on a real Prefect API."""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path

import pytest
from pydantic import SecretStr

from blocks.kafka import KafkaConnection
from dora.audit.store import AuditStore
from dora.events.kafka import KafkaConfig, resolve_kafka_config
from dora.events.models import EventType, WorkflowEvent
from dora.events.relay import OutboxRelay
from dora.events.settings import EventSettings
from tests.fixtures.events import backends
from tests.kafka_service import Tansu, tansu
from tests.services import PG_HOST, PG_PORT

_ = tansu
pg_audit_db = backends.pg_audit_db

PASSWORD = "s3cr3t-kafka-pw"


def test_kafka_block_drives_the_relay_and_never_shows_the_password(
    prefect_api: str, tansu: Tansu, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"kafka-{uuid.uuid4().hex[:6]}"
    topic = f"block-{uuid.uuid4().hex[:6]}"
    KafkaConnection.register_type_and_schema()
    KafkaConnection(
        bootstrap_servers=tansu.bootstrap,
        topic_events=topic,
        topic_audit=None,
        enable_idempotence=False,  # tansu has no idempotent producer
        sasl_username="relay",
        sasl_password=SecretStr(PASSWORD),
    ).save(name)

    async def run() -> KafkaConfig:
        config = await resolve_kafka_config(EventSettings(kafka_block=name))
        assert config is not None
        store = await AuditStore.open(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")
        event = WorkflowEvent(
            type=EventType.WORKFLOW_STARTED, workflow_id="wf", source="t", correlation_id="r"
        )
        await store.append_event(event, streams=("events",))
        relay = OutboxRelay(store, config)
        assert await relay.drain(timeout=30) == 1
        await relay.close()
        await store.close()
        return config

    caplog.set_level(logging.DEBUG)
    config = asyncio.run(run())
    assert config.topic_events == topic and config.bootstrap_servers == tansu.bootstrap
    assert config.sasl_password is not None
    assert config.sasl_password.get_secret_value() == PASSWORD
    loaded = KafkaConnection.load(name)
    for text in (repr(loaded), str(config), config.model_dump_json(), caplog.text):
        assert PASSWORD not in text
    # SASL needs the mechanism too: a clear configuration error, without the password
    with pytest.raises(Exception, match="sasl_mechanism") as info:
        config.model_copy(update={"security_protocol": "SASL_PLAINTEXT"}).producer_options()
    assert PASSWORD not in str(info.value)


def test_audit_store_from_a_prefect_sqlalchemy_block_on_postgresql(
    prefect_api: str, pg_audit_db: str
) -> None:
    from prefect_sqlalchemy import AsyncDriver, AsyncSqlAlchemyConnector, ConnectionComponents

    database = pg_audit_db.rsplit("/", 1)[1]
    name = f"audit-db-{uuid.uuid4().hex[:6]}"
    AsyncSqlAlchemyConnector(
        connection_info=ConnectionComponents(
            driver=AsyncDriver.POSTGRESQL_ASYNCPG,
            database=database,
            username="postgres",
            host=PG_HOST,
            port=PG_PORT,
        )
    ).save(name)

    async def run() -> None:
        store = await AuditStore.open(settings=EventSettings(audit_database_block=name))
        try:
            assert store.is_postgres
            event = WorkflowEvent(type=EventType.AUDIT_LOG, workflow_id="wf", source="t")
            record = await store.append_event(event)
            assert (await store.by_seq(record.seq)) == record
            assert (await store.verify()).ok
        finally:
            await store.close()

    asyncio.run(backends._reset_pg(pg_audit_db))
    asyncio.run(run())
