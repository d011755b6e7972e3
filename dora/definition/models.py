"""Pydantic models for workflow definitions (the seed specification's YAML format).

Pure data and field-level checks only: no Prefect, no I/O. Graph-wide rules (cycles,
``from_task`` upstream, CEL references, known agents) live in ``checks.py`` so that all
problems of a file are reported together.

Every model forbids unknown keys: a misspelt ``retires:`` must fail, not be ignored.
Polymorphic nodes (triggers, inputs, routing rules, error policies) are tagged unions
so an error names the one variant that failed instead of every union member.
"""

from __future__ import annotations

import re
import zoneinfo
from typing import Annotated, Any, Literal

from croniter import croniter
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    StrictBool,
    Tag,
    field_validator,
)

_SLUG = r"^[a-z0-9][a-z0-9._-]*$"
#: task ids are used in CEL (``task.<id>.outputs``), so they must be identifiers
_IDENT = r"^[A-Za-z_][A-Za-z0-9_]*$"
_CPU = re.compile(r"^(\d+(\.\d+)?|\.\d+)m?$")
_MEMORY = re.compile(r"^(\d+(\.\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")

Priority = Literal["critical", "high", "medium", "low"]
InputType = Literal[
    "file_list", "string", "numeric", "integer", "boolean", "structured_data", "document", "list"
]
OutputType = Literal[
    "structured_data", "numeric", "integer", "string", "boolean", "document", "file_list", "list"
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


# ------------------------------------------------------------------ config
class WorkflowConfig(_Strict):
    """Workflow-wide settings."""

    timeout: PositiveInt = Field(3600, description="Seconds the whole run may take.")
    max_retries: NonNegativeInt = Field(
        0, le=20, description="Retries for agent errors that no error_handling rule covers."
    )
    parallel_execution: StrictBool = Field(
        True, description="Run independent tasks at the same time; false runs them in order."
    )
    audit_enabled: StrictBool = Field(True, description="Record the run in the audit trail.")


# ------------------------------------------------------------------ triggers
class _Trigger(_Strict):
    name: str = Field(min_length=1, pattern=_SLUG.replace("._-", "._-"))


class ManualTrigger(_Trigger):
    """Started by a person: Prefect UI, ``prefect deployment run`` or ``dora run``."""

    type: Literal["manual"]


class ScheduledTrigger(_Trigger):
    """A cron schedule; becomes a deployment schedule in prefect.yaml."""

    type: Literal["scheduled"]
    schedule: str = Field(description="Five-field cron expression.")
    timezone: str = Field("UTC", description="IANA time zone the cron is read in.")

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        if len(value.split()) != 5 or not croniter.is_valid(value):
            raise ValueError(
                f"invalid cron expression {value!r}; expected five fields "
                "'minute hour day-of-month month day-of-week', e.g. '0 0 1 */3 *'"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as 'Europe/Berlin'"
            ) from None
        return value


class EventTrigger(_Trigger):
    """Runs when a Prefect event arrives (e.g. ``policy.updated`` from the webhook)."""

    type: Literal["event"]
    event_type: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9._*-]*$")
    parameters: dict[str, str] = Field(
        default_factory=dict,
        description="Flow parameters filled from the event, as Jinja templates over `event`.",
    )


Trigger = Annotated[
    Annotated[ManualTrigger, Tag("manual")]
    | Annotated[ScheduledTrigger, Tag("scheduled")]
    | Annotated[EventTrigger, Tag("event")],
    Discriminator("type"),
]


# ------------------------------------------------------------------ tasks
class Resources(_Strict):
    """Kubernetes-style requests for the task's job pod and its concurrency slot."""

    cpu: str = "500m"
    memory: str = "512Mi"
    gpu: StrictBool | NonNegativeInt = False

    @field_validator("cpu", mode="before")
    @classmethod
    def _cpu(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and not _CPU.match(value.strip()):
            raise ValueError(
                f"invalid CPU quantity {value!r}; use cores ('2', '0.5') or millicores ('500m')"
            )
        return value

    @field_validator("memory", mode="before")
    @classmethod
    def _memory(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and not _MEMORY.match(value.strip()):
            raise ValueError(f"invalid memory quantity {value!r}; use e.g. '512Mi', '4Gi' or '1G'")
        return value


class TaskConfig(_Strict):
    timeout: PositiveInt | None = Field(None, description="Seconds one attempt may take.")
    priority: Priority = "medium"
    resources: Resources = Field(default_factory=Resources)


class _Input(_Strict):
    name: str = Field(min_length=1, pattern=_IDENT)
    description: str = ""


class ParameterInput(_Input):
    """A value given when the run starts (flow parameter), with an optional default."""

    type: InputType
    required: StrictBool = False
    default: Any = None


class FromTaskInput(_Input):
    """The value of an output of an upstream task."""

    from_task: str = Field(min_length=1)
    field: str = Field(min_length=1)
    type: InputType | None = None
    required: StrictBool = True


class AggregatedInput(_Input):
    """All outputs of several upstream tasks, keyed by task id."""

    type: Literal["aggregated"]
    sources: list[str] = Field(min_length=1)
    required: StrictBool = True


class ExternalInput(_Input):
    """Data read from a configured external source (file or HTTP API) at run time."""

    type: Literal["external_api"]
    source: str = Field(min_length=1, pattern=_SLUG)
    required: StrictBool = True


def _input_kind(value: Any) -> str:
    if isinstance(value, dict):
        if "from_task" in value or "field" in value:
            return "from_task"
        kind = value.get("type")
        if kind == "aggregated" or "sources" in value:
            return "aggregated"
        if kind == "external_api" or "source" in value:
            return "external_api"
        return "parameter"
    return "from_task" if hasattr(value, "from_task") else "parameter"


TaskInput = Annotated[
    Annotated[ParameterInput, Tag("parameter")]
    | Annotated[FromTaskInput, Tag("from_task")]
    | Annotated[AggregatedInput, Tag("aggregated")]
    | Annotated[ExternalInput, Tag("external_api")],
    Discriminator(_input_kind),
]


class TaskOutput(_Strict):
    name: str = Field(min_length=1, pattern=_IDENT)
    type: OutputType
    description: str = ""


class TaskDefinition(_Strict):
    """One step: an agent call with its inputs and declared outputs."""

    id: str = Field(min_length=1, max_length=63, pattern=_IDENT)
    name: str = Field(min_length=1)
    agent: str = Field(min_length=1)
    depends_on: list[str] = Field(default_factory=list)
    config: TaskConfig = Field(default_factory=TaskConfig)
    inputs: list[TaskInput] = Field(default_factory=list)
    outputs: list[TaskOutput] = Field(default_factory=list)


# ------------------------------------------------------------------ routing
class _Rule(_Strict):
    condition: str = Field(
        min_length=1, description="CEL expression over task outputs and workflow."
    )
    description: str = ""


class EscalateRule(_Rule):
    """Notify a role when the condition holds (acted on by a Prefect automation)."""

    action: Literal["escalate"]
    target: str = Field(min_length=1)


class RequireApprovalRule(_Rule):
    """Suspend the run until every approver has approved."""

    action: Literal["require_approval"]
    approvers: list[str] = Field(min_length=1)
    timeout_hours: PositiveFloat = Field(72, description="Hours before the request expires.")


class AlertRule(_Rule):
    """Alert recipients; on ``workflow.duration`` this is checked while the run is going."""

    action: Literal["alert"]
    recipients: list[str] = Field(min_length=1)


RoutingRule = Annotated[
    Annotated[EscalateRule, Tag("escalate")]
    | Annotated[RequireApprovalRule, Tag("require_approval")]
    | Annotated[AlertRule, Tag("alert")],
    Discriminator("action"),
]


# ------------------------------------------------------------------ error handling
ErrorType = Literal[
    "agent_timeout",
    "resource_unavailable",
    "data_validation_error",
    "agent_error",
    "external_source_error",
]


class _Policy(_Strict):
    error_type: ErrorType


class RetryPolicy(_Policy):
    """Retry the task (Prefect retries) with a backoff between attempts."""

    action: Literal["retry"]
    max_attempts: PositiveInt = Field(
        3, le=20, description="Attempts in total, the first included."
    )
    backoff: Literal["exponential", "linear", "fixed"] = "exponential"
    base_delay_seconds: float = Field(1.0, ge=0, le=3600)


class QueuePolicy(_Policy):
    """Wait (inside the task) until the resource frees up, then go on."""

    action: Literal["queue"]
    wait_strategy: Literal["exponential_backoff", "linear_backoff", "fixed"] = "exponential_backoff"
    base_delay_seconds: float = Field(1.0, ge=0, le=3600)
    max_wait_seconds: PositiveFloat = Field(600, le=86400)


class HaltPolicy(_Policy):
    """Fail the whole run at once, no retry, and notify people."""

    action: Literal["halt"]
    notify: list[str] = Field(default_factory=list)


ErrorPolicy = Annotated[
    Annotated[RetryPolicy, Tag("retry")]
    | Annotated[QueuePolicy, Tag("queue")]
    | Annotated[HaltPolicy, Tag("halt")],
    Discriminator("action"),
]


class SuccessCriterion(_Strict):
    condition: str = Field(min_length=1)
    required: StrictBool = True
    description: str = ""


# ------------------------------------------------------------------ root
class Workflow(_Strict):
    id: str = Field(min_length=1, max_length=63, pattern=_SLUG)
    name: str = Field(min_length=1)
    description: str = ""
    version: str = Field(min_length=1, pattern=r"^\d+(\.\d+){0,2}([-+][0-9A-Za-z.-]+)?$")
    config: WorkflowConfig = Field(default_factory=WorkflowConfig)
    triggers: list[Trigger] = Field(default_factory=list)
    tasks: list[TaskDefinition] = Field(min_length=1)
    routing: list[RoutingRule] = Field(default_factory=list)
    error_handling: list[ErrorPolicy] = Field(default_factory=list)
    success_criteria: list[SuccessCriterion] = Field(default_factory=list)

    @field_validator("version", mode="before")
    @classmethod
    def _version_is_text(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise ValueError(
                f'version must be a quoted string such as "{value}" (YAML read a number)'
            )
        return value

    def task(self, task_id: str) -> TaskDefinition:
        return next(t for t in self.tasks if t.id == task_id)

    def policy_for(self, error_type: str) -> ErrorPolicy | None:
        return next((p for p in self.error_handling if p.error_type == error_type), None)


class WorkflowFile(_Strict):
    """The whole YAML file: a single ``workflow:`` mapping."""

    workflow: Workflow


#: tag -> class for each tagged union, used to walk models when explaining errors
UNION_VARIANTS: dict[str, dict[str, type[BaseModel]]] = {
    "triggers": {"manual": ManualTrigger, "scheduled": ScheduledTrigger, "event": EventTrigger},
    "inputs": {
        "parameter": ParameterInput,
        "from_task": FromTaskInput,
        "aggregated": AggregatedInput,
        "external_api": ExternalInput,
    },
    "routing": {
        "escalate": EscalateRule,
        "require_approval": RequireApprovalRule,
        "alert": AlertRule,
    },
    "error_handling": {"retry": RetryPolicy, "queue": QueuePolicy, "halt": HaltPolicy},
}
