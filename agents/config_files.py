"""Agent configuration files in the seed's format (``policy-analyzer-agent.yaml``).

Each file describes one agent *instance*: several files with the same ``type`` give the
coordinator several instances to balance across. Types without a file get one default
instance, so configuration is optional.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dora.definition.yamlsafe import YamlProblems, load_located
from dora.errors import ConfigurationError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgentResources(_Strict):
    cpu_limit: str = "1"
    memory_limit: str = "1Gi"
    gpu_required: bool = False


class HealthCheckConfig(_Strict):
    endpoint: str = "/health"
    interval: float = Field(30, gt=0, description="Seconds a health result stays valid.")
    timeout: float = Field(10, gt=0)


class AgentConfig(_Strict):
    id: str = Field(min_length=1)
    type: str = Field(min_length=1)
    version: str = "1.0.0"
    priority: int = Field(0, description="Higher wins when several agent types claim a capability.")
    capabilities: list[str] = Field(default_factory=list)
    resources: AgentResources = Field(default_factory=AgentResources)
    configuration: dict[str, Any] = Field(default_factory=dict)
    health_check: HealthCheckConfig = Field(default_factory=HealthCheckConfig)
    concurrency_limit: str | None = Field(
        None, description="Prefect global concurrency limit to hold while this agent works."
    )


class AgentConfigFile(_Strict):
    agent: AgentConfig


def load_agent_configs(directory: Path) -> list[AgentConfig]:
    """Every ``*-agent.yaml`` in ``directory``; a bad file is a ConfigurationError naming it."""
    configs: list[AgentConfig] = []
    if not directory.is_dir():
        return configs
    for path in sorted(directory.glob("*.y*ml")):
        try:
            located = load_located(path.read_text(encoding="utf-8"), str(path))
            configs.append(AgentConfigFile.model_validate(located.data).agent)
        except YamlProblems as exc:
            raise ConfigurationError(f"agent configuration {path}: {exc}") from None
        except ValidationError as exc:
            lines = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ConfigurationError(f"agent configuration {path}: {lines}") from None
    ids = [c.id for c in configs]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise ConfigurationError(f"duplicate agent ids in {directory}: {', '.join(sorted(dupes))}")
    return configs
