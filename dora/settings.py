"""Engine settings (environment variables prefixed ``DORA_``, or a ``.env`` file).

Paths are resolved against the working directory at run time, so the same installed
package works from a checkout, a container (``/app``) or a Prefect worker's pull step.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class DoraSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DORA_", env_file=".env", extra="ignore")

    definitions_dir: Path = Field(
        PROJECT_ROOT / "definitions", description="Where workflow YAML files live."
    )
    agent_config_dir: Path = Field(
        PROJECT_ROOT / "agents" / "config", description="Agent YAML files (seed format)."
    )
    sources_file: Path = Field(
        PROJECT_ROOT / "sources.yaml", description="External data sources for external_api inputs."
    )
    reports_dir: Path = Field(
        Path("reports"), description="Where agents write reports (per run subfolder)."
    )
    home: Path = Field(
        Path(".dora"), description="Local state for `dora run` (embedded Prefect database)."
    )
    task_tags: bool = Field(
        False,
        description="Tag task runs agent:<type>/priority:<p> (enables tag concurrency limits; one API call per task).",
    )
    use_concurrency_limits: bool = Field(
        False, description="Acquire Prefect global concurrency slots per agent type."
    )
    progress_artifact_interval_s: float = Field(
        2.0, description="Minimum seconds between progress artifact updates."
    )
    duration_check_interval_s: float = Field(
        30.0, description="How often workflow.duration rules are checked while running."
    )


@lru_cache(maxsize=1)
def get_settings() -> DoraSettings:
    return DoraSettings()
