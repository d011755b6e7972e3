"""Human approval for ``require_approval`` routing rules, with segregation of duties.

When a ``require_approval`` rule fires, the flow body calls :func:`handle_require_approval`.
It blocks until *every* listed approver role has approved (one distinct person per role,
never the person who started the run), fails the run on the first rejection, and fails it
when the request expires (``rule.timeout_hours``).

How a request travels:

1. For each missing approval the flow writes a *request record* (flow run input
   ``<pause key>-request``: required and remaining roles, who approved so far, who started
   the run, when it expires, the values the rule read) and then pauses with
   ``wait_for_input=ApprovalInput`` under a deterministic pause key
   ``dora-approval-r<rule>-<n>``.
2. The authenticated front-end (``dora/approvals_api.py``) reads that record, checks the
   caller's token, role, self-approval and double approval, and resumes the run through
   ``POST /api/flow_runs/{id}/resume`` with the typed input.
3. The flow checks the input again (defence in depth: Prefect OSS has no user identity, so
   anybody with API access could resume the run with a made-up ``approver``; with
   ``DORA_APPROVAL_SECRET`` set, only inputs signed by the front-end are accepted), records
   it and emits ``dora.approval.<decision>``.

Pause or suspend (``DORA_APPROVAL_MODE``):

* ``pause`` (default): ``pause_flow_run`` keeps the process alive and polls the API. Works
  for local runs and any worker, tasks already running keep running, and the expiry is
  enforced by our own code with a clear ``ApprovalExpired`` message. Costs one process (or
  pod) for as long as the approval takes, and the workflow's ``config.timeout`` still
  counts while it waits.
* ``record`` (what ``dora run`` uses unless ``--wait-for-approvals``): nothing waits; the
  decision is recorded and emitted as usual and the run result says approval is required.
  A one-off local assessment must not hang for days; deployed runs use pause or suspend.
* ``suspend`` (Kubernetes): ``suspend_flow_run`` ends the process; after the resume the
  run is rescheduled and re-executes from the top. Completed tasks come back from their
  persisted results (cache key per flow run + task id) and the earlier approvals come back
  from their pause keys, so nothing is done twice. No pod is held while waiting, but it
  needs a deployment, and an expired suspension is failed by the Prefect server (with
  Prefect's own message) rather than by this module.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from uuid import UUID

from prefect.input import RunInput
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from dora.definition.models import RequireApprovalRule, RoutingRule, Workflow
from dora.errors import RunError

if TYPE_CHECKING:
    from flows.routing import Decision

log = logging.getLogger("dora.approvals")

STARTED_BY_TAG = "dora.started_by:"
REQUEST_SUFFIX = "-request"


class ApprovalSettings(BaseSettings):
    """``DORA_APPROVAL_*`` settings (read on every call, so tests can change them)."""

    model_config = SettingsConfigDict(env_prefix="DORA_APPROVAL_", env_file=".env", extra="ignore")

    mode: Literal["pause", "suspend", "record"] = Field(
        "pause",
        description=(
            "pause: keep the process waiting; suspend: exit and re-execute; record: do not wait, "
            "only record that approval is required (one-off local `dora run`)."
        ),
    )
    seconds_per_hour: float = Field(
        3600.0, gt=0, description="Length of one `timeout_hours` unit (tests shorten it)."
    )
    poll_interval_s: float = Field(
        10.0, gt=0, description="How often a paused run asks the API whether it was resumed."
    )
    secret: str = Field(
        "", description="Shared with the approvals front-end; when set, inputs must be signed."
    )


def approval_settings() -> ApprovalSettings:
    return ApprovalSettings()


class ApprovalInput(RunInput):
    """What one approver submits (the Prefect UI renders a form from this schema)."""

    decision: Literal["approve", "reject"]
    approver: str = Field(min_length=1, description="Identity of the person deciding.")
    reason: str = Field("", description="Why; required in practice for a rejection.")
    role: str = Field("", description="The approver role this decision is given for.")
    signature: str = Field("", description="HMAC from the approvals front-end.")


class ApprovalRecord(BaseModel):
    """One decision by one person, as recorded in the flow's result."""

    rule: int
    approver: str
    role: str
    decision: Literal["approve", "reject"]
    reason: str
    at: datetime
    values: dict[str, Any]
    pause_key: str
    accepted: bool = True
    note: str = ""


class ApprovalRequest(BaseModel):
    """What the front-end needs to know about a waiting request (stored as flow run input)."""

    workflow_id: str
    rule: int
    condition: str
    required_roles: list[str]
    remaining_roles: list[str]
    approved_by: list[str]
    started_by: str | None
    requested_at: datetime
    expires_at: datetime
    values: dict[str, Any]
    pause_key: str


class ApprovalOutcome(BaseModel):
    """The result of one approval request: every role approved (else an error is raised)."""

    rule: int
    required_roles: list[str]
    started_by: str | None
    approved: bool
    records: list[ApprovalRecord]
    requested_at: datetime
    completed_at: datetime


class ApprovalError(RunError):
    """An approval request did not end in approval."""

    error_type: ClassVar[str] = "approval"


class ApprovalRejected(ApprovalError):
    """An approver rejected the request; the message carries who and why."""

    error_type: ClassVar[str] = "approval_rejected"


class ApprovalExpired(ApprovalError):
    """Nobody completed the approvals before ``timeout_hours`` ran out."""

    error_type: ClassVar[str] = "approval_expired"


#: decisions recorded per flow run id (the engine copies them into its run result)
_OUTCOMES: dict[str, list[ApprovalOutcome]] = {}


def approvals_for(run_id: str | None) -> list[ApprovalOutcome]:
    """Approval outcomes recorded so far in this process for a flow run."""
    return list(_OUTCOMES.get(run_id or "", []))


def sign(secret: str, flow_run_id: str, pause_key: str, data: dict[str, Any]) -> str:
    """The front-end's signature over one decision (binds it to the run and the pause)."""
    message = "|".join(
        [
            flow_run_id,
            pause_key,
            str(data.get("approver", "")),
            str(data.get("role", "")),
            str(data.get("decision", "")),
            str(data.get("reason", "")),
        ]
    )
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def pause_key(rule: int, n: int) -> str:
    return f"dora-approval-r{rule}-{n}"


def started_by_of(tags: list[str] | None, created_by: Any = None) -> str | None:
    """Who started a run: a ``dora.started_by:<id>`` tag, else Prefect's ``created_by``."""
    for tag in tags or []:
        if tag.startswith(STARTED_BY_TAG) and tag[len(STARTED_BY_TAG) :].strip():
            return tag[len(STARTED_BY_TAG) :].strip()
    if created_by is not None:
        value = getattr(created_by, "display_value", None) or getattr(created_by, "id", None)
        return str(value) if value else None
    return None


def _emit(
    event: str, workflow_id: str, run_id: str, payload: dict[str, Any], **labels: str
) -> None:
    from prefect.events import emit_event

    emit_event(
        event=event,
        resource={
            "prefect.resource.id": f"dora.approval.{run_id}",
            "prefect.resource.name": f"{workflow_id} approval",
            "dora.workflow": workflow_id,
            **{f"dora.{k}": v for k, v in labels.items()},
        },
        related=[
            {
                "prefect.resource.id": f"prefect.flow-run.{run_id}",
                "prefect.resource.role": "flow-run",
            }
        ],
        payload=payload,
    )


def _request_record(run_id: str, request: ApprovalRequest) -> ApprovalRequest:
    """Write the request for this pause key, or read it back on a re-execution (suspend)."""
    from prefect.input import create_flow_run_input, read_flow_run_input

    key = request.pause_key + REQUEST_SUFFIX
    existing = read_flow_run_input(key=key, flow_run_id=UUID(run_id))
    if existing is not None:
        return ApprovalRequest.model_validate(existing)
    create_flow_run_input(key=key, value=request.model_dump(mode="json"), flow_run_id=UUID(run_id))
    return request


def _wait(mode: str, key: str, timeout_s: float, poll_s: float) -> ApprovalInput:
    from prefect.flow_runs import pause_flow_run, suspend_flow_run

    timeout = max(1, math.ceil(timeout_s))
    if mode == "suspend":
        got = suspend_flow_run(wait_for_input=ApprovalInput, timeout=timeout, key=key)
    else:
        poll: Any = poll_s  # typed int, but a float works (tests poll fast)
        got = pause_flow_run(
            wait_for_input=ApprovalInput, timeout=timeout, poll_interval=poll, key=key
        )
    assert isinstance(got, ApprovalInput)
    return got


def await_approvals(
    rule: RequireApprovalRule,
    decision: Decision,
    run_id: str,
    started_by: str | None,
    *,
    workflow_id: str = "",
) -> ApprovalOutcome:
    """Block (pause or suspend) until every role in ``rule.approvers`` approved.

    Raises :class:`ApprovalRejected` on the first accepted rejection and
    :class:`ApprovalExpired` when ``rule.timeout_hours`` runs out.
    """
    from prefect.exceptions import FlowPauseTimeout

    settings = approval_settings()
    required = list(dict.fromkeys(rule.approvers))
    now = datetime.now(UTC)
    timeout_s = rule.timeout_hours * settings.seconds_per_hour
    records: list[ApprovalRecord] = []
    approved: dict[str, str] = {}  # role -> approver
    requested_at: datetime | None = None
    expires_at: datetime | None = None
    n = 0
    while len(approved) < len(required):
        key = pause_key(decision.rule, n)
        n += 1
        remaining = [r for r in required if r not in approved]
        request = _request_record(
            run_id,
            ApprovalRequest(
                workflow_id=workflow_id,
                rule=decision.rule,
                condition=decision.condition,
                required_roles=required,
                remaining_roles=remaining,
                approved_by=list(approved.values()),
                started_by=started_by,
                requested_at=requested_at or now,
                expires_at=expires_at or now + timedelta(seconds=timeout_s),
                values=decision.values,
                pause_key=key,
            ),
        )
        if requested_at is None:
            requested_at, expires_at = request.requested_at, request.expires_at
            if n == 1:
                log.info(
                    "approval requested for rule %d of %s: roles %s, expires %s",
                    decision.rule,
                    workflow_id,
                    ", ".join(required),
                    expires_at.isoformat(),
                )
                _emit(
                    "dora.approval.requested",
                    workflow_id,
                    run_id,
                    request.model_dump(mode="json"),
                    roles=",".join(required),
                )
        assert expires_at is not None
        left = (expires_at - datetime.now(UTC)).total_seconds()
        try:
            if left <= 0:
                raise FlowPauseTimeout("expired before pausing")
            got = _wait(settings.mode, key, left, settings.poll_interval_s)
        except FlowPauseTimeout:
            missing = ", ".join(remaining)
            message = (
                f"approval request for routing rule {decision.rule} expired after "
                f"{rule.timeout_hours:g} h; still waiting for: {missing}"
            )
            _emit(
                "dora.approval.expired",
                workflow_id,
                run_id,
                {"rule": decision.rule, "missing_roles": remaining, "message": message},
                roles=missing,
            )
            _leave_expired_pause(run_id)
            raise ApprovalExpired(message) from None
        record = ApprovalRecord(
            rule=decision.rule,
            approver=got.approver,
            role=got.role,
            decision=got.decision,
            reason=got.reason,
            at=datetime.now(UTC),
            values=decision.values,
            pause_key=key,
        )
        problem = _refuse(got, remaining, approved, started_by, run_id, key, settings.secret)
        if problem:
            record.accepted, record.note = False, problem
            records.append(record)
            _audit(workflow_id, run_id, record)
            log.warning("ignored approval input for rule %d: %s", decision.rule, problem)
            continue
        if not got.role:
            record.role = remaining[0]
        records.append(record)
        _audit(workflow_id, run_id, record)
        _emit(
            f"dora.approval.{got.decision}",
            workflow_id,
            run_id,
            record.model_dump(mode="json"),
            approver=record.approver,
            role=record.role,
        )
        if got.decision == "reject":
            raise ApprovalRejected(
                f"approval rejected by {record.approver} ({record.role}): "
                f"{record.reason or 'no reason given'}"
            )
        approved[record.role] = record.approver
        log.info("rule %d approved by %s as %s", decision.rule, record.approver, record.role)
    outcome = ApprovalOutcome(
        rule=decision.rule,
        required_roles=required,
        started_by=started_by,
        approved=True,
        records=records,
        requested_at=requested_at or now,
        completed_at=datetime.now(UTC),
    )
    _emit(
        "dora.approval.granted",
        workflow_id,
        run_id,
        outcome.model_dump(mode="json"),
        roles=",".join(required),
    )
    return outcome


def _leave_expired_pause(run_id: str) -> None:
    """Move the run out of its expired pause so the engine can fail it with our message.

    Once a pause has timed out, the server turns every proposed transition into
    ``Failed("The flow was paused and never resumed.")``, hiding which roles were missing.
    """
    from prefect import get_client
    from prefect.states import Running

    try:
        with get_client(sync_client=True) as client:
            client.set_flow_run_state(
                UUID(run_id), Running(message="approval request expired"), force=True
            )
    except Exception as exc:  # the run still fails, only with Prefect's message
        log.warning("could not leave the expired pause of %s: %s", run_id, exc)


def _refuse(
    got: ApprovalInput,
    remaining: list[str],
    approved: dict[str, str],
    started_by: str | None,
    run_id: str,
    key: str,
    secret: str,
) -> str | None:
    if secret:
        data = got.model_dump(include={"approver", "role", "decision", "reason"})
        if not hmac.compare_digest(got.signature, sign(secret, run_id, key, data)):
            return "input not signed by the approvals front-end"
    role = got.role or (remaining[0] if len(remaining) == 1 else "")
    if role not in remaining:
        return f"role {got.role or '(none)'!r} is not one of the roles still needed: {remaining}"
    if started_by and got.approver == started_by:
        return f"{got.approver} started this run and cannot approve it"
    if got.approver in approved.values():
        return f"{got.approver} already approved this request"
    return None


def handle_require_approval(
    workflow: Workflow, run_id: str | None, decision: Decision, rule: RoutingRule
) -> None:
    """Engine hook: for a fired ``require_approval`` rule, block until approved.

    Must run in the flow run's own thread (it pauses the flow run). The outcome is kept
    for :func:`approvals_for` (copy it into the run result); raises :class:`ApprovalRejected` or
    :class:`ApprovalExpired`. Other rules and rules that did not fire are ignored.
    """
    if not decision.fired or not isinstance(rule, RequireApprovalRule):
        return
    if approval_settings().mode == "record":
        log.warning(
            "approval required from %s (rule %d); DORA_APPROVAL_MODE=record: not waiting",
            ", ".join(rule.approvers),
            decision.rule,
        )
        return
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    if ctx is None or ctx.flow_run is None:
        raise ApprovalError(
            "require_approval needs a running flow run (it pauses the run); "
            "it cannot be evaluated outside the flow's thread"
        )
    run_id = run_id or str(ctx.flow_run.id)
    started_by = started_by_of(list(ctx.flow_run.tags), getattr(ctx.flow_run, "created_by", None))
    started = time.monotonic()
    outcome = await_approvals(rule, decision, run_id, started_by, workflow_id=workflow.id)
    _OUTCOMES.setdefault(run_id, []).append(outcome)
    log.info("approvals for rule %d complete in %.1fs", decision.rule, time.monotonic() - started)


def _audit(workflow_id: str, run_id: str | None, record: ApprovalRecord) -> None:
    """Approvals (and refused approval inputs) with the approver's identity in the audit trail.

    The rule number is the one routing decisions are recorded with, which links the approval
    to the decision that asked for it.
    """
    from dora.events.recorder import get_recorder

    recorder = get_recorder()
    if recorder is None or not run_id:
        return
    recorder.approval(
        workflow_id,
        run_id,
        rule=str(record.rule),
        decision=record.decision,
        identity=record.approver,
        role=record.role,
        comment=record.reason or record.note or None,
        accepted=record.accepted,
    )
