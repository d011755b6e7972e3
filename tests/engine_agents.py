"""Small real agents for engine tests (registered at run time under test-only names)."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from typing import Any

from agents import registry
from agents.base import SimpleAgent, TaskExecution, TaskResult
from dora.errors import DataValidationError, ResourceUnavailableError

CALLS: Counter[str] = Counter()
_lock = threading.Lock()


def _count(key: str) -> int:
    with _lock:
        CALLS[key] += 1
        return CALLS[key]


class EchoAgent(SimpleAgent):
    """Sleeps ``sleep`` seconds, then returns ``score`` and a structured ``data`` output."""

    TYPE = "t_echo"
    CAPABILITIES = ("echo",)

    async def run(self, task: TaskExecution) -> TaskResult:
        await asyncio.sleep(float(task.inputs.get("sleep") or 0))
        score = task.inputs.get("score", 0.5)
        return TaskResult(
            outputs={
                "score": score,
                "data": {
                    "task": task.task_id,
                    "no_critical_gaps": bool(task.inputs.get("clean", True)),
                    "inputs": sorted(task.inputs),
                },
            },
            summary=f"echo from {task.task_id}",
        )


class SlowAgent(SimpleAgent):
    """Blocks longer than any sane timeout; counts attempts per ``key`` input."""

    TYPE = "t_slow"

    async def run(self, task: TaskExecution) -> TaskResult:
        _count(str(task.inputs.get("key")))
        await asyncio.sleep(30)
        return TaskResult(outputs={"score": 1.0})


class BadDataAgent(SimpleAgent):
    """Rejects its input: retrying can never help, so policies should halt."""

    TYPE = "t_bad_data"

    async def run(self, task: TaskExecution) -> TaskResult:
        _count(str(task.inputs.get("key")))
        raise DataValidationError(f"task {task.task_id}: column 'lei' is empty in row 3")


class BusyAgent(SimpleAgent):
    """Reports the resource busy for the first ``busy_for`` calls per key, then works."""

    TYPE = "t_busy"

    async def run(self, task: TaskExecution) -> TaskResult:
        n = _count(str(task.inputs.get("key")))
        if n <= int(task.inputs.get("busy_for") or 0):
            raise ResourceUnavailableError("scanner licence in use")
        return TaskResult(outputs={"score": float(n)})


class CrashAgent(SimpleAgent):
    """Raises an untyped exception (an agent bug): treated as agent_error."""

    TYPE = "t_crash"

    async def run(self, task: TaskExecution) -> TaskResult:
        _count(str(task.inputs.get("key")))
        raise RuntimeError("division by zero in scoring")


class NoOpAgent(SimpleAgent):
    TYPE = "noop"

    async def run(self, task: TaskExecution) -> TaskResult:
        return TaskResult(outputs={"value": 1})


def register_all() -> dict[str, tuple[str, ...]]:
    for cls in (EchoAgent, SlowAgent, BadDataAgent, BusyAgent, CrashAgent, NoOpAgent):
        facts = ("no_critical_gaps",) if cls is EchoAgent else ()
        registry.register(cls.TYPE, cls, facts=facts, replace=True)
    return {name: spec.facts for name, spec in registry.available().items()}


def results(data: Any) -> dict[str, Any]:
    return data if isinstance(data, dict) else {}
