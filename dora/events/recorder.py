"""The engine's one call per lifecycle moment: build the event, record it, queue it.

The flow factory calls these from Prefect flow/task state hooks (see the module's
``wire`` notes in the README section). Each call builds a :class:`WorkflowEvent`
(``correlation_id`` = the flow run id; ``causation_id`` = the event that led to it: the
run's start for a task start, the task start for its completion, the task whose outputs
a routing rule read, the routing decision an approval answers) and appends it to the
audit store and outbox in one short transaction (SQLite: well under 10 ms, see
``tests/test_events_recorder.py`` output and ``bench/events.py``).

What the records hold (lineage without leaking data): the definition version and content
hash bound to the run, agent ids/versions, ``sha256:`` digests of every task's inputs and
outputs (plus the output names), routing decisions with the values the condition read,
approvals with the approver's identity, and every state transition. Raw parameters are
recorded as a digest and their names only: parameters may hold personal data.

Failure policy: recording must not break a compliance run silently *or* loudly by
accident. ``strict=True`` (default in tests) raises; the engine may choose ``strict=False``
to log the error with the event id and continue (the Prefect run state still records the
transition). Secrets never enter events: callers pass digests and identities, not values.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any
from uuid import UUID

from dora.audit.blocking import BlockingAuditStore
from dora.audit.canonical import digest, to_jsonable
from dora.audit.store import Entry, Stream
from dora.events.models import EventType, WorkflowEvent
from dora.events.settings import EventSettings, get_event_settings

logger = logging.getLogger(__name__)


def kafka_configured(settings: EventSettings) -> bool:
    return bool(settings.kafka_bootstrap_servers or settings.kafka_block)


def outbox_streams(settings: EventSettings) -> tuple[Stream, ...]:
    """Which outbox streams to fill: none without Kafka (store and Prefect only)."""
    if not kafka_configured(settings):
        return ()
    return ("events", "audit") if settings.kafka_topic_audit else ("events",)


class Recorder:
    """Records workflow events for the engine (thread-safe; one per process is enough)."""

    def __init__(
        self,
        store: BlockingAuditStore,
        *,
        source: str = "dora-engine",
        streams: tuple[Stream, ...] | None = None,
        emit_prefect: bool | None = None,
        strict: bool = True,
        wait: bool | None = None,
    ) -> None:
        settings = get_event_settings()
        #: wait for each event's commit (default, DORA_AUDIT_WAIT_FOR_COMMIT) or queue it
        self.wait = settings.audit_wait_for_commit if wait is None else wait
        #: events whose queued append failed (wait=False); each is logged with its id
        self.lost = 0
        self.store = store
        self.source = source
        self.streams = outbox_streams(settings) if streams is None else streams
        self.emit_prefect = settings.events_prefect if emit_prefect is None else emit_prefect
        self.strict = strict
        self._lock = threading.Lock()
        self._run_root: dict[str, str] = {}
        self._last: dict[str, str] = {}
        self._task_event: dict[tuple[str, str], str] = {}
        self._routing_event: dict[tuple[str, str], str] = {}
        self._deferred = threading.local()
        #: seconds spent in record() (count, total): the per-task cost, measured
        self.timing = [0, 0.0]

    # -- the core -------------------------------------------------------------------------

    def record(
        self,
        type_: EventType,
        workflow_id: str,
        run_id: str | None,
        data: dict[str, Any],
        *,
        kind: str | None = None,
        causation_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        wait: bool | None = None,
        defer: bool = False,
    ) -> WorkflowEvent:
        """Build, append (audit + outbox, one transaction) and announce one event.

        ``wait=False`` queues the append (it shares the next commit, in order); the
        default is the recorder's ``wait``. ``defer=True`` holds the event until this
        thread's next event and appends both in one transaction (e.g. the agent that ran
        a task, recorded with the task's completion).
        """
        run_key = run_id or ""
        if causation_id is None:  # default: the run's latest event; "" means no cause
            with self._lock:
                cause = self._last.get(run_key) if run_id else None
        else:
            cause = causation_id or None
        event = WorkflowEvent(
            type=type_,
            workflow_id=workflow_id,
            source=self.source,
            data=to_jsonable(data),
            correlation_id=run_id,
            causation_id=cause,
            metadata={"kind": kind or type_.value, **(metadata or {})},
        )
        entry = Entry.for_event(event, kind=kind, streams=self.streams)
        pending: list[tuple[WorkflowEvent, Entry]] = getattr(self._deferred, "items", [])
        if defer:  # appended with this thread's next event, in one transaction
            self._deferred.items = [*pending, (event, entry)]
            with self._lock:
                self._last[run_key] = event.id
            return event
        self._deferred.items = []
        batch = [*pending, (event, entry)]
        started = time.perf_counter()
        try:
            if self.wait if wait is None else wait:
                self.store.append([e for _, e in batch])
            else:
                self.store.submit([e for _, e in batch]).add_done_callback(
                    lambda fut: self._queued_done(fut, event, kind or type_.value)
                )
        except Exception as exc:
            if self.strict:
                raise
            logger.error(
                "audit: could not record %s event %s of run %s: %s",
                kind or type_.value,
                event.id,
                run_id,
                type(exc).__name__,
            )
            return event
        finally:
            self.timing[0] += 1
            self.timing[1] += time.perf_counter() - started
        with self._lock:
            self._last[run_key] = event.id
        if self.emit_prefect:
            for done, entry_ in batch:
                self._emit_prefect(done, entry_.kind)
        return event

    def _queued_done(self, fut: Any, event: WorkflowEvent, kind: str) -> None:
        exc = fut.exception()
        if exc is not None:
            self.lost += 1
            logger.error(
                "audit: queued %s event %s of run %s was not recorded: %s",
                kind,
                event.id,
                event.correlation_id,
                type(exc).__name__,
            )

    def flush(self) -> None:
        """Return once every event recorded so far is committed (queued ones included)."""
        self.store.flush()

    def _emit_prefect(self, event: WorkflowEvent, kind: str) -> None:
        try:
            from prefect.events import emit_event

            related = []
            if event.correlation_id:
                related.append(
                    {
                        "prefect.resource.id": f"prefect.flow-run.{event.correlation_id}",
                        "prefect.resource.role": "flow-run",
                    }
                )
            emit_event(
                event=f"dora.event.{kind}",
                resource={
                    "prefect.resource.id": f"dora.workflow.{event.workflow_id}",
                    "prefect.resource.name": event.workflow_id,
                },
                related=related,
                payload=event.to_dict(),
                id=UUID(event.id),
                occurred=event.timestamp,
            )
        except Exception as exc:  # Prefect events are a convenience; the store is the record
            logger.warning("could not emit Prefect event %s: %s", event.id, type(exc).__name__)

    # -- lifecycle moments ----------------------------------------------------------------

    def workflow_created(
        self,
        workflow_id: str,
        *,
        definition_version: str,
        content_hash: str,
        path: str | None = None,
    ) -> WorkflowEvent:
        return self.record(
            EventType.WORKFLOW_CREATED,
            workflow_id,
            None,
            {"definition_version": definition_version, "content_hash": content_hash, "path": path},
            kind="workflow.created",
        )

    def run_started(
        self,
        workflow_id: str,
        run_id: str,
        *,
        definition_version: str,
        content_hash: str,
        parameters: dict[str, Any] | None = None,
        flow_name: str | None = None,
        deployment_id: str | None = None,
        agents: dict[str, dict[str, str]] | None = None,
        attempt: int | None = None,
    ) -> WorkflowEvent:
        """The run is bound to a definition version and content hash (and agent versions).

        A run resumed after a pause/suspension starts again (``attempt`` > 1) and is bound
        again: the code that resumes it could differ from the code that started it.
        """
        params = parameters or {}
        event = self.record(
            EventType.WORKFLOW_STARTED,
            workflow_id,
            run_id,
            {
                "definition_version": definition_version,
                "content_hash": content_hash,
                "flow_name": flow_name,
                "deployment_id": deployment_id,
                "parameter_names": sorted(params),
                "parameters_digest": digest(params),
                "agents": agents or {},
                "attempt": attempt,
            },
            kind="run.bound",
            causation_id="",
        )
        with self._lock:
            self._run_root[run_id] = event.id
        return event

    def _root(self, run_id: str) -> str | None:
        with self._lock:
            return self._run_root.get(run_id) or self._last.get(run_id)

    def agent_assigned(
        self,
        workflow_id: str,
        run_id: str,
        task_id: str,
        *,
        agent_id: str,
        agent_type: str,
        agent_version: str,
        defer: bool = False,
    ) -> WorkflowEvent:
        return self.record(
            EventType.AGENT_ASSIGNED,
            workflow_id,
            run_id,
            {
                "task_id": task_id,
                "agent_id": agent_id,
                "agent_type": agent_type,
                "agent_version": agent_version,
            },
            kind="agent.assigned",
            causation_id=self._task_cause(run_id, task_id),
            defer=defer,
        )

    def task_started(
        self,
        workflow_id: str,
        run_id: str,
        task_id: str,
        *,
        task_run_id: str | None = None,
        agent: str | None = None,
        agent_version: str | None = None,
        inputs: Any = None,
        attempt: int | None = None,
    ) -> WorkflowEvent:
        event = self.record(
            EventType.TASK_STARTED,
            workflow_id,
            run_id,
            {
                "task_id": task_id,
                "task_run_id": task_run_id,
                "agent": agent,
                "agent_version": agent_version,
                "attempt": attempt,
                "inputs_digest": None if inputs is None else digest(inputs),
            },
            kind="task.started",
            causation_id=self._root(run_id),
        )
        with self._lock:
            self._task_event[(run_id, task_id)] = event.id
        return event

    def _task_cause(self, run_id: str, task_id: str) -> str | None:
        with self._lock:
            return self._task_event.get((run_id, task_id)) or self._run_root.get(run_id)

    def task_completed(
        self,
        workflow_id: str,
        run_id: str,
        task_id: str,
        *,
        task_run_id: str | None = None,
        outputs: Any = None,
        duration_s: float | None = None,
        extra: dict[str, Any] | None = None,
    ) -> WorkflowEvent:
        """``extra``: what else the outcome says (e.g. agent_id/agent_version that ran it)."""
        names = sorted(outputs) if isinstance(outputs, dict) else None
        event = self.record(
            EventType.TASK_COMPLETED,
            workflow_id,
            run_id,
            {
                "task_id": task_id,
                "task_run_id": task_run_id,
                "outputs_digest": None if outputs is None else digest(outputs),
                "output_names": names,
                "duration_s": duration_s,
                **(extra or {}),
            },
            kind="task.completed",
            causation_id=self._task_cause(run_id, task_id),
        )
        with self._lock:
            self._task_event[(run_id, task_id)] = event.id
        return event

    def task_failed(
        self,
        workflow_id: str,
        run_id: str,
        task_id: str,
        *,
        task_run_id: str | None = None,
        error: str,
        error_type: str | None = None,
    ) -> WorkflowEvent:
        return self.record(
            EventType.TASK_FAILED,
            workflow_id,
            run_id,
            {
                "task_id": task_id,
                "task_run_id": task_run_id,
                "error": error[:2000],
                "error_type": error_type,
            },
            kind="task.failed",
            causation_id=self._task_cause(run_id, task_id),
        )

    def routing_decided(
        self,
        workflow_id: str,
        run_id: str,
        *,
        rule: str,
        condition: str,
        values: dict[str, Any],
        matched: bool,
        actions: list[str] | None = None,
        after_task: str | None = None,
    ) -> WorkflowEvent:
        """A routing rule was evaluated: the condition, the values it read, the outcome.

        The cause is the completion of the task whose outputs the condition read
        (``after_task``, else the first ``task.<id>.…`` name among ``values``).
        """
        if after_task is None:
            after_task = next(
                (
                    k.split(".")[1]
                    for k in sorted(values)
                    if k.startswith("task.") and k.count(".") >= 2
                ),
                None,
            )
        cause = self._task_cause(run_id, after_task) if after_task else self._root(run_id)
        event = self.record(
            EventType.COMPLIANCE_ALERT if matched else EventType.AUDIT_LOG,
            workflow_id,
            run_id,
            {
                "rule": rule,
                "condition": condition,
                "values": values,
                "matched": matched,
                "actions": actions or [],
            },
            kind="routing.decision",
            causation_id=cause,
        )
        with self._lock:
            self._routing_event[(run_id, rule)] = event.id
        return event

    def approval(
        self,
        workflow_id: str,
        run_id: str,
        *,
        rule: str,
        decision: str,
        identity: str,
        comment: str | None = None,
        role: str | None = None,
        accepted: bool = True,
    ) -> WorkflowEvent:
        """Who approved or rejected what, in which role (identity, never a token).

        ``accepted=False`` records an input the engine refused (e.g. the run's starter
        approving their own run), so attempts are on record too.
        """
        with self._lock:
            cause = self._routing_event.get((run_id, rule))
        return self.record(
            EventType.AUDIT_LOG,
            workflow_id,
            run_id,
            {
                "rule": rule,
                "decision": decision,
                "identity": identity,
                "role": role,
                "accepted": accepted,
                "comment": comment,
            },
            kind="approval",
            causation_id=cause or self._root(run_id),
        )

    def state_transition(
        self,
        workflow_id: str,
        run_id: str,
        *,
        entity: str,
        from_state: str | None,
        to_state: str,
        message: str | None = None,
    ) -> WorkflowEvent:
        return self.record(
            EventType.AUDIT_LOG,
            workflow_id,
            run_id,
            {"entity": entity, "from": from_state, "to": to_state, "message": message},
            kind="state.transition",
        )

    def run_finished(
        self,
        workflow_id: str,
        run_id: str,
        *,
        state: str,
        message: str | None = None,
        outputs: Any = None,
    ) -> WorkflowEvent:
        ok = state.upper() == "COMPLETED"
        event = self.record(
            EventType.WORKFLOW_COMPLETED if ok else EventType.WORKFLOW_FAILED,
            workflow_id,
            run_id,
            {
                "state": state,
                "message": (message or "")[:2000] or None,
                "outputs_digest": None if outputs is None else digest(outputs),
            },
            kind="workflow.completed" if ok else "workflow.failed",
        )
        with self._lock:  # the run is over: forget its causation bookkeeping
            self._run_root.pop(run_id, None)
            self._last.pop(run_id, None)
            for key in [k for k in self._task_event if k[0] == run_id]:
                del self._task_event[key]
            for key in [k for k in self._routing_event if k[0] == run_id]:
                del self._routing_event[key]
        return event


_default: Recorder | None = None
_resolved = False
_default_lock = threading.Lock()


def get_recorder() -> Recorder | None:
    """The process's recorder over the configured store (``None`` if auditing is off).

    Resolved once per process (settings read, store opened and migrated on first use), so
    a hook pays only for its own transaction afterwards.
    """
    global _default, _resolved
    if _resolved:
        return _default
    with _default_lock:
        if not _resolved:
            settings = get_event_settings()
            if settings.audit_enabled:
                _default = Recorder(BlockingAuditStore(settings=settings), strict=False)
            _resolved = True
        return _default


def reset_recorder() -> None:
    """Close the process recorder (tests, or after changing settings)."""
    global _default, _resolved
    with _default_lock:
        if _default is not None:
            _default.store.close()
        _default, _resolved = None, False
