"""Kafka connection settings, resolved from a block or ``DORA_KAFKA_*``, and client factories.

One typed :class:`KafkaConfig` is all the relay, the tail command and the benchmark use.
It comes from the :class:`blocks.kafka.KafkaConnection` block named by
``DORA_KAFKA_BLOCK`` (credentials stored in Prefect, password a ``SecretStr``), else from
the plain settings; with neither, Kafka is off and :func:`resolve_kafka_config` returns
``None``.

Producer defaults follow the no-loss design: ``acks="all"``; idempotence when the broker
supports it (Apache Kafka; tansu does not, hence a setting); key = workflow id so one run's
events land on one partition in order; ``linger_ms`` + ``max_batch_size`` for batching;
gzip compression (in the standard library; lz4/zstd/snappy need extra packages).
"""

from __future__ import annotations

import ssl
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from dora.errors import ConfigurationError
from dora.events.settings import EventSettings, get_event_settings


class KafkaConfig(BaseModel):
    """Everything needed to reach the cluster and which topics to use."""

    model_config = ConfigDict(extra="forbid")

    bootstrap_servers: str = Field(min_length=1)
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: str | None = None
    topic_events: str = "dora.workflow-events"
    topic_audit: str | None = "dora.audit-records"
    topic_dead_letters: str = "dora.dead-letters"
    enable_idempotence: bool = False
    compression: Literal["gzip", "snappy", "lz4", "zstd"] | None = "gzip"
    linger_ms: int = Field(5, ge=0)
    max_batch_size: int = Field(256 * 1024, ge=1024)
    request_timeout_ms: int = Field(10_000, ge=100)
    client_id: str = "dora-relay"

    def _security(self) -> dict[str, Any]:
        options: dict[str, Any] = {"security_protocol": self.security_protocol}
        if self.security_protocol in ("SSL", "SASL_SSL"):
            options["ssl_context"] = ssl.create_default_context(cafile=self.ssl_cafile)
        if self.security_protocol.startswith("SASL"):
            if not (self.sasl_mechanism and self.sasl_username and self.sasl_password):
                raise ConfigurationError(
                    "Kafka: security_protocol "
                    f"{self.security_protocol} needs sasl_mechanism, sasl_username and "
                    "sasl_password"
                )
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.sasl_username
            options["sasl_plain_password"] = self.sasl_password.get_secret_value()
        return options

    def producer_options(self) -> dict[str, Any]:
        """Keyword arguments for ``AIOKafkaProducer`` (contains the password: never log)."""
        return {
            "bootstrap_servers": self.bootstrap_servers,
            "client_id": self.client_id,
            "acks": "all",
            "enable_idempotence": self.enable_idempotence,
            "compression_type": self.compression,
            "linger_ms": self.linger_ms,
            "max_batch_size": self.max_batch_size,
            "request_timeout_ms": self.request_timeout_ms,
            "retry_backoff_ms": 200,
            **self._security(),
        }

    def consumer_options(self) -> dict[str, Any]:
        """Keyword arguments for ``AIOKafkaConsumer`` (contains the password: never log)."""
        return {
            "bootstrap_servers": self.bootstrap_servers,
            "client_id": f"{self.client_id}-consumer",
            "request_timeout_ms": max(self.request_timeout_ms, 5000),
            **self._security(),
        }

    def topic_for(self, stream: str) -> str | None:
        return {"events": self.topic_events, "audit": self.topic_audit}.get(stream)


def config_from_settings(settings: EventSettings) -> KafkaConfig | None:
    if not settings.kafka_bootstrap_servers:
        return None
    return KafkaConfig(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        security_protocol=settings.kafka_security_protocol,
        sasl_mechanism=settings.kafka_sasl_mechanism,
        sasl_username=settings.kafka_sasl_username,
        sasl_password=settings.kafka_sasl_password,
        topic_events=settings.kafka_topic_events,
        topic_audit=settings.kafka_topic_audit,
        topic_dead_letters=settings.kafka_topic_dead_letters,
        enable_idempotence=settings.kafka_enable_idempotence,
        compression=settings.kafka_compression,
        linger_ms=settings.kafka_linger_ms,
        max_batch_size=settings.kafka_max_batch_size,
        request_timeout_ms=settings.kafka_request_timeout_ms,
        client_id=settings.kafka_client_id,
    )


async def resolve_kafka_config(settings: EventSettings | None = None) -> KafkaConfig | None:
    """The block named by ``DORA_KAFKA_BLOCK``, else ``DORA_KAFKA_*``; ``None``: Kafka off."""
    settings = settings or get_event_settings()
    if settings.kafka_block:
        from blocks.kafka import KafkaConnection

        block: KafkaConnection = await KafkaConnection.aload(settings.kafka_block)
        config = block.config()
        if "kafka_enable_idempotence" in settings.model_fields_set:  # env wins over block
            config = config.model_copy(
                update={"enable_idempotence": settings.kafka_enable_idempotence}
            )
        return config
    return config_from_settings(settings)
