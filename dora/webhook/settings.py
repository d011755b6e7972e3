"""Webhook receiver settings (environment variables prefixed ``DORA_WEBHOOK_``)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebhookSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DORA_WEBHOOK_", env_file=".env", extra="ignore")

    secret: SecretStr | None = Field(
        None, description="Shared HMAC secret (prefer secret_block in production)."
    )
    secret_block: str | None = Field(
        None, description="Name of a VaultKVSecret block holding the shared secret."
    )
    secret_cache_s: float = Field(
        300.0, ge=0, description="How long a secret read from Vault is reused (rotation lag)."
    )
    replay_window_s: int = Field(
        300, gt=0, description="Maximum age (and clock skew) of X-Dora-Timestamp, seconds."
    )
    max_body_bytes: int = Field(256 * 1024, gt=0, description="Largest accepted body.")
    dedup_max_entries: int = Field(
        100_000, gt=0, description="Delivery ids remembered (in memory, per process)."
    )
    prefect_api_url: str | None = Field(
        None, description="Prefect API URL; defaults to Prefect's own PREFECT_API_URL."
    )
    prefect_timeout_s: float = Field(10.0, gt=0, description="Timeout of calls to Prefect.")
    event_name: str = Field("policy.updated", description="Event emitted per accepted request.")
