"""One exception hierarchy for the whole engine.

The split that matters to users is *whose fault it is*:

    DoraError
    ├── DefinitionError          your workflow definition is wrong (fix the YAML)
    │   └── DefinitionErrors     several located problems, reported together
    ├── ConfigurationError       settings, agent configuration or an input value is wrong
    │   └── UnknownAgentError    no agent registered under that name
    ├── RunError                 the run failed at execution time
    │   ├── AgentError           an agent could not do its work   (error_type: agent_error)
    │   │   ├── AgentTimeoutError        took longer than its timeout (agent_timeout)
    │   │   ├── DataValidationError      inputs/outputs failed checks (data_validation_error)
    │   │   └── ExternalSourceError      an external_api input failed  (external_source_error)
    │   ├── ResourceUnavailableError     no slot/agent free right now (resource_unavailable)
    │   │   └── NoAgentAvailableError    no healthy agent for the capability
    │   ├── WorkflowHalted               an error policy said "halt"
    │   └── SuccessCriteriaFailed        the run finished but required criteria do not hold
    └── SecretError              a secret could not be read (never carries the secret)

Every `RunError` subclass carries an ``error_type`` string, which is the key the
definition's ``error_handling`` section uses, so the policy can tell errors apart
without string matching. Exceptions stay picklable (plain ``args``) because Prefect
serialises task failures across threads and processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


class DoraError(Exception):
    """Root of every error this project raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One located problem in a definition file: ``FILE:LINE:COL: path: message``."""

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class DefinitionError(DoraError):
    """The workflow definition is invalid; the user must change the YAML."""

    def __init__(self, message: str, problem: Problem | None = None) -> None:
        super().__init__(message)
        self.problem = problem


class DefinitionErrors(DefinitionError):
    """Every problem found in one or more files, so one bad file never hides another."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.column, p.path))
        n = len(self.problems)
        body = "\n".join(str(p) for p in self.problems)
        super().__init__(f"{n} problem{'s' if n != 1 else ''} found:\n{body}")

    def __reduce__(self) -> tuple[type, tuple[list[Problem]]]:
        return (type(self), (self.problems,))


class ConfigurationError(DoraError):
    """Settings, agent configuration or an input value is wrong (not the run's fault)."""


class UnknownAgentError(ConfigurationError):
    """No agent is registered under the requested name."""


class RunError(DoraError):
    """Something failed while a workflow was running."""

    error_type: ClassVar[str] = "run_error"


class AgentError(RunError):
    """An agent raised while doing its work."""

    error_type: ClassVar[str] = "agent_error"


class AgentTimeoutError(AgentError):
    """An agent call took longer than the task's timeout."""

    error_type: ClassVar[str] = "agent_timeout"


class DataValidationError(AgentError):
    """Inputs or outputs of a task failed validation; retrying will not help."""

    error_type: ClassVar[str] = "data_validation_error"


class ExternalSourceError(AgentError):
    """An ``external_api`` input could not be read (unreachable, malformed)."""

    error_type: ClassVar[str] = "external_source_error"


class ResourceUnavailableError(RunError):
    """A resource (concurrency slot, agent instance) is not free right now."""

    error_type: ClassVar[str] = "resource_unavailable"


class NoAgentAvailableError(ResourceUnavailableError):
    """No healthy agent offers the capability; the message lists what exists."""


class WorkflowHalted(RunError):
    """An error-handling policy decided to stop the whole run."""

    error_type: ClassVar[str] = "halted"


class SuccessCriteriaFailed(RunError):
    """All tasks ran but at least one required success criterion does not hold."""

    error_type: ClassVar[str] = "success_criteria"


class SecretError(DoraError):
    """A secret could not be read. Messages name the secret's path, never its value."""


#: error_type keys a definition's error_handling section may use.
ERROR_TYPES: dict[str, type[RunError]] = {
    cls.error_type: cls
    for cls in (
        AgentError,
        AgentTimeoutError,
        DataValidationError,
        ExternalSourceError,
        ResourceUnavailableError,
    )
}
