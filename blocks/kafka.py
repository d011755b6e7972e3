"""Prefect block holding how to reach Kafka: brokers, SASL/TLS credentials, topics.

Why a block: the relay runs on workers in several environments; the connection and its
credentials belong in Prefect's block store (the password as a ``SecretStr``, shown masked
in the UI and never in logs, reprs or errors), selected by name with ``DORA_KAFKA_BLOCK``.
For Vault-held passwords, save the block from a deployment step that reads
``VaultSecret`` (see :mod:`blocks.vault`); the block stores what the relay needs at run time.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from dora.events.kafka import KafkaConfig


class KafkaConnection(Block):
    """Kafka cluster connection and the topics DORA workflow events go to."""

    _block_type_name: ClassVar[str] = "DORA Kafka Connection"
    _block_type_slug: ClassVar[str] = "dora-kafka-connection"
    _description: ClassVar[str] = (
        "Kafka brokers, SASL/TLS credentials and topics for DORA workflow events, audit "
        "records and dead letters."
    )
    _documentation_url: ClassVar[Any] = "https://aiokafka.readthedocs.io/en/stable/"

    bootstrap_servers: str = Field(description="host:port[,host:port]")
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = Field(None, description="Never logged.")
    ssl_cafile: str | None = Field(None, description="CA bundle path for SSL/SASL_SSL.")
    topic_events: str = "dora.workflow-events"
    topic_audit: str | None = "dora.audit-records"
    topic_dead_letters: str = "dora.dead-letters"
    enable_idempotence: bool = Field(
        True, description="Idempotent producer (Apache Kafka); turn off for brokers without it."
    )
    compression: Literal["gzip", "snappy", "lz4", "zstd"] | None = "gzip"
    linger_ms: int = Field(5, ge=0)

    def config(self) -> KafkaConfig:
        """The typed configuration the relay and ``dora events tail`` use."""
        return KafkaConfig(
            bootstrap_servers=self.bootstrap_servers,
            security_protocol=self.security_protocol,
            sasl_mechanism=self.sasl_mechanism,
            sasl_username=self.sasl_username,
            sasl_password=self.sasl_password,
            ssl_cafile=self.ssl_cafile,
            topic_events=self.topic_events,
            topic_audit=self.topic_audit,
            topic_dead_letters=self.topic_dead_letters,
            enable_idempotence=self.enable_idempotence,
            compression=self.compression,
            linger_ms=self.linger_ms,
        )
