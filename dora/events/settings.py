"""Settings of the events layer: audit store, Kafka, relay (environment ``DORA_*``).

Kept beside the code that reads them (like the webhook's settings) so the engine's
``dora.settings`` stays small. Credentials: prefer blocks (``DORA_AUDIT_DATABASE_BLOCK``
names a prefect-sqlalchemy ``AsyncSqlAlchemyConnector``, ``DORA_KAFKA_BLOCK`` a
:class:`blocks.kafka.KafkaConnection`); the plain settings exist for local use and CI.
The SASL password is a ``SecretStr``: it never appears in a repr, a log or an error.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class EventSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DORA_", env_file=".env", extra="ignore")

    audit_url: str | None = Field(
        None,
        description="SQLAlchemy async URL of the audit store (default: SQLite in DORA_HOME).",
    )
    audit_database_block: str | None = Field(
        None, description="Name of a prefect-sqlalchemy AsyncSqlAlchemyConnector block."
    )
    audit_enabled: bool = Field(True, description="Record workflow events in the audit store.")
    audit_wait_for_commit: bool = Field(
        True,
        description="Hooks return only once their event is committed (False: queued, "
        "committed within milliseconds; a crash can lose what is queued).",
    )
    audit_sqlite_synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = Field(
        "FULL", description="SQLite PRAGMA synchronous (FULL: a commit survives power loss)."
    )
    audit_retention_days: int | None = Field(
        None, ge=1, description="Purge records older than this (legal holds win); None: keep."
    )
    events_prefect: bool = Field(
        True, description="Also emit each workflow event as a Prefect event (automations)."
    )

    kafka_bootstrap_servers: str | None = Field(
        None, description="host:port[,host:port]; unset (and no block): Kafka is off."
    )
    kafka_block: str | None = Field(None, description="Name of a KafkaConnection block.")
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_topic_events: str = "dora.workflow-events"
    kafka_topic_audit: str | None = "dora.audit-records"
    kafka_topic_dead_letters: str = "dora.dead-letters"
    kafka_enable_idempotence: bool = Field(
        False,
        description="Idempotent producer (Apache Kafka: turn on; tansu does not support it).",
    )
    kafka_compression: Literal["gzip", "snappy", "lz4", "zstd"] | None = "gzip"
    kafka_linger_ms: int = Field(5, ge=0)
    kafka_max_batch_size: int = Field(256 * 1024, ge=1024)
    kafka_request_timeout_ms: int = Field(10_000, ge=100)
    kafka_client_id: str = "dora-relay"

    relay_batch_size: int = Field(1000, ge=1)
    relay_poll_interval_s: float = Field(0.2, gt=0)
    relay_backoff_max_s: float = Field(30.0, gt=0)


def get_event_settings() -> EventSettings:
    """Fresh settings each call: cheap, and tests change the environment between runs."""
    return EventSettings()
