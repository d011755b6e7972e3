"""The agent interface every DORA agent implements (the seed's ``DORAAgent``).

An agent receives a :class:`TaskExecution` (resolved inputs plus the context of the
run) and returns a :class:`TaskResult` whose ``outputs`` are keyed by the output names
the definition declares. Outputs must be JSON-serialisable: they are persisted by
Prefect, read by CEL routing conditions and hashed into the audit trail.

Agents are deterministic by default and need no network. An optional LangChain chat
model may refine results (see ``agents/llm.py``), never replace the explanation.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ResourceRequirements(BaseModel):
    """What a task needs to run; becomes Kubernetes requests and concurrency slots."""

    model_config = ConfigDict(extra="forbid")

    cpu: str = "500m"
    memory: str = "512Mi"
    gpu: bool = False


class HealthStatus(BaseModel):
    """Result of an agent health check; unhealthy agents are skipped by the coordinator."""

    healthy: bool
    detail: str = ""


class RunContext(BaseModel):
    """Facts about the run an agent may need (for provenance and where to write files)."""

    workflow_id: str
    workflow_version: str = ""
    definition_hash: str = ""
    flow_run_id: str | None = None
    output_dir: Path = Field(default_factory=lambda: Path("reports"))
    #: everything a report needs for provenance: agent ids/versions per task, etc.
    provenance: dict[str, Any] = Field(default_factory=dict)


class TaskExecution(BaseModel):
    """One task of one run, as handed to an agent."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    task_id: str
    task_name: str
    agent: str
    inputs: dict[str, Any] = Field(default_factory=dict)
    declared_outputs: list[str] = Field(default_factory=list)
    timeout_seconds: float | None = None
    attempt: int = 1
    context: RunContext


class ArtifactRef(BaseModel):
    """A file an agent produced (report, chart) for links in the Prefect UI."""

    path: str
    kind: str  # "html", "pdf", "markdown", "png", "json"
    description: str = ""


class TaskResult(BaseModel):
    """What an agent returns: declared outputs plus an explanation people can read."""

    outputs: dict[str, Any]
    summary: str = ""
    artifacts: list[ArtifactRef] = Field(default_factory=list)
    #: free-form tables for the Prefect UI: name -> list of row dicts
    tables: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)


class DORAAgent(ABC):
    """Base interface for all DORA compliance agents (from the seed specification)."""

    #: semantic version of the agent's logic; recorded in provenance and the audit trail
    version: str = "1.0.0"

    @abstractmethod
    async def execute_task(self, task: TaskExecution) -> TaskResult:
        """Execute a specific task."""

    @abstractmethod
    async def get_capabilities(self) -> list[str]:
        """Return the capabilities this agent provides."""

    async def health_check(self) -> HealthStatus:
        """Cheap self-test; override when the agent depends on something that can break."""
        return HealthStatus(healthy=True, detail="deterministic agent")

    async def get_resource_requirements(self, task: Any) -> ResourceRequirements:
        """Resources for a task; the definition's ``resources`` override these."""
        return ResourceRequirements()

    @property
    @abstractmethod
    def agent_id(self) -> str:
        """Unique identifier for this agent instance."""

    @property
    @abstractmethod
    def agent_type(self) -> str:
        """Type/category of this agent (the name definitions use in ``agent:``)."""


class SimpleAgent(DORAAgent):
    """Convenience base: subclasses set ``TYPE`` and ``CAPABILITIES`` and implement ``run``.

    ``instance`` distinguishes several instances of the same type (load balancing).
    ``settings`` is the ``configuration`` block of the agent's YAML file.
    """

    TYPE: str = ""
    CAPABILITIES: tuple[str, ...] = ()

    def __init__(self, instance: str = "001", settings: dict[str, Any] | None = None) -> None:
        self._instance = instance
        self.settings: dict[str, Any] = dict(settings or {})

    @property
    def agent_id(self) -> str:
        return f"{self.TYPE.replace('_', '-')}-{self._instance}"

    @property
    def agent_type(self) -> str:
        return self.TYPE

    async def get_capabilities(self) -> list[str]:
        return list(self.CAPABILITIES)

    async def execute_task(self, task: TaskExecution) -> TaskResult:
        return await self.run(task)

    @abstractmethod
    async def run(self, task: TaskExecution) -> TaskResult:
        """Do the agent's work."""
