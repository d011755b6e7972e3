"""Map a definition's ``error_handling`` onto Prefect task options.

- ``retry``  -> Prefect retries with the policy's backoff; a ``retry_condition_fn``
  retries only errors whose ``error_type`` has a retry rule, each up to its own
  ``max_attempts`` (Prefect has one retry budget per task, so the budget is the largest
  rule and the condition enforces the smaller ones).
- ``queue``  -> handled inside the task: wait with the rule's strategy until the resource
  is free or ``max_wait_seconds`` passes (waiting is not failing, so no retry is spent).
- ``halt``   -> never retried; the flow stops scheduling and fails with the reason.
- errors no rule covers: ``agent_error`` gets ``config.max_retries`` retries, everything
  else (validation, unknown exceptions) fails at once.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from dora.definition.models import QueuePolicy, RetryPolicy, Workflow
from dora.errors import RunError

BUILTIN_EXCEPTIONS_AS: dict[type[BaseException], str] = {TimeoutError: "agent_timeout"}


def error_type_of(exc: BaseException | None) -> str:
    """The error_type key for an exception (``agent_error`` for anything untyped)."""
    if exc is None:
        return "agent_error"
    if isinstance(exc, RunError):
        return exc.error_type
    for cls, kind in BUILTIN_EXCEPTIONS_AS.items():
        if isinstance(exc, cls):
            return kind
    return "agent_error"


def backoff_delays(policy: RetryPolicy, retries: int) -> list[float]:
    base = policy.base_delay_seconds
    if policy.backoff == "exponential":
        return [base * 2**i for i in range(retries)]
    if policy.backoff == "linear":
        return [base * (i + 1) for i in range(retries)]
    return [base] * retries


def queue_delay(policy: QueuePolicy, attempt: int) -> float:
    """Wait before re-trying to get a resource; jittered so queued tasks do not stampede."""
    base = max(policy.base_delay_seconds, 0.05)
    if policy.wait_strategy == "exponential_backoff":
        delay = base * 2 ** min(attempt, 16)
    elif policy.wait_strategy == "linear_backoff":
        delay = base * (attempt + 1)
    else:
        delay = base
    return delay * random.uniform(0.8, 1.2)


@dataclass(frozen=True)
class RetryOptions:
    retries: int
    delays: list[float]

    def prefect_kwargs(self, workflow: Workflow) -> dict[str, Any]:
        if self.retries == 0:
            return {"retries": 0}
        return {
            "retries": self.retries,
            "retry_delay_seconds": self.delays,
            "retry_condition_fn": make_retry_condition(workflow),
        }


def retry_options(workflow: Workflow) -> RetryOptions:
    """One retry budget per task: the largest any rule allows; delays follow the first retry rule."""
    explicit = [p for p in workflow.error_handling if isinstance(p, RetryPolicy)]
    budgets = [p.max_attempts - 1 for p in explicit]
    if workflow.policy_for("agent_error") is None:
        budgets.append(workflow.config.max_retries)
    retries = max(budgets, default=0)
    if retries == 0:
        return RetryOptions(0, [])
    primary = (
        explicit[0]
        if explicit
        else RetryPolicy(
            error_type="agent_error",
            action="retry",
            max_attempts=retries + 1,
            backoff="exponential",
            base_delay_seconds=2.0,
        )
    )
    return RetryOptions(retries, backoff_delays(primary, retries))


def allowed_attempts(workflow: Workflow, error_type: str) -> int:
    """Attempts in total the definition allows for this kind of error."""
    policy = workflow.policy_for(error_type)
    if isinstance(policy, RetryPolicy):
        return policy.max_attempts
    if policy is None and error_type == "agent_error":
        return 1 + workflow.config.max_retries
    return 1


def make_retry_condition(workflow: Workflow) -> Any:
    """Prefect ``retry_condition_fn``: retry only what the definition says, as often as it says.

    Prefect hands the exception over as ``state.data`` (a ``Failed(data=exc)`` state), so
    no result needs to be loaded (which would be a coroutine inside async tasks).
    """

    def should_retry(task: Any, task_run: Any, state: Any) -> bool:
        data = getattr(state, "data", None)
        exc = data if isinstance(data, BaseException) else None
        kind = error_type_of(exc)
        return bool(task_run.run_count < allowed_attempts(workflow, kind))

    return should_retry
