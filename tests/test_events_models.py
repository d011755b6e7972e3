"""WorkflowEvent / EventType per the seed, and time-ordered unique ids."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import UTC, datetime

import pydantic
import pytest

from dora.events.models import EventType, WorkflowEvent, event_id_time, new_event_id

SEED_TYPES = {
    "WORKFLOW_CREATED": "workflow.created",
    "WORKFLOW_STARTED": "workflow.started",
    "WORKFLOW_COMPLETED": "workflow.completed",
    "WORKFLOW_FAILED": "workflow.failed",
    "TASK_STARTED": "task.started",
    "TASK_COMPLETED": "task.completed",
    "TASK_FAILED": "task.failed",
    "AGENT_ASSIGNED": "agent.assigned",
    "AGENT_AVAILABLE": "agent.available",
    "AGENT_ERROR": "agent.error",
    "RESOURCE_ALLOCATED": "resource.allocated",
    "RESOURCE_RELEASED": "resource.released",
    "COMPLIANCE_ALERT": "compliance.alert",
    "AUDIT_LOG": "audit.log",
}


def test_event_types_are_the_seeds() -> None:
    assert {t.name: t.value for t in EventType} == SEED_TYPES


def test_to_dict_is_the_seeds_shape_and_round_trips() -> None:
    event = WorkflowEvent(
        type=EventType.TASK_COMPLETED,
        workflow_id="wf",
        source="engine",
        data={"task_id": "t"},
        correlation_id="run",
        causation_id="cause",
        metadata={"k": 1},
    )
    body = event.to_dict()
    assert list(body) == [
        "id",
        "type",
        "workflow_id",
        "timestamp",
        "source",
        "data",
        "correlation_id",
        "causation_id",
        "metadata",
    ]
    assert body["type"] == "task.completed"
    assert WorkflowEvent.from_dict(body) == event


def test_bad_events_are_rejected_with_the_field() -> None:
    with pytest.raises(pydantic.ValidationError, match="workflow_id"):
        WorkflowEvent(type=EventType.AUDIT_LOG, workflow_id="", source="x")
    with pytest.raises(pydantic.ValidationError, match="colour"):
        WorkflowEvent.from_dict(
            {"type": "audit.log", "workflow_id": "w", "source": "s", "colour": "red"}
        )
    with pytest.raises(pydantic.ValidationError, match="type"):
        WorkflowEvent.from_dict({"type": "audit.nope", "workflow_id": "w", "source": "s"})


def test_ids_are_uuid7_unique_and_monotonic_across_threads() -> None:
    ids: list[list[str]] = [[] for _ in range(4)]

    def make(k: int) -> None:
        ids[k].extend(new_event_id() for _ in range(5000))

    threads = [threading.Thread(target=make, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [i for chunk in ids for i in chunk]
    assert len(set(every)) == len(every) == 20000
    for chunk in ids:  # each thread sees strictly increasing ids (process-monotonic)
        assert chunk == sorted(chunk) and len(set(chunk)) == len(chunk)
    assert all(i[14] == "7" for i in every)  # version nibble
    assert abs((event_id_time(every[-1]) - datetime.now(UTC)).total_seconds()) < 60


def _child_ids(queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    queue.put([new_event_id() for _ in range(1000)])


def test_forked_processes_do_not_repeat_ids() -> None:
    new_event_id()  # parent generator state exists before fork
    ctx = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue = ctx.Queue()  # type: ignore[type-arg]
    procs = [ctx.Process(target=_child_ids, args=(queue,)) for _ in range(2)]
    for p in procs:
        p.start()
    got = [queue.get(timeout=30) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    mine = [new_event_id() for _ in range(1000)]
    every = got[0] + got[1] + mine
    assert len(set(every)) == len(every)
