"""Authenticated approvals front-end (Starlette): who may resume a run waiting for approval.

Prefect OSS has no user identity: anybody who can reach the API can resume a paused run
and type any name as ``approver``. This service is the only place approvals should come
from. It maps bearer tokens to identities and roles from ``DORA_APPROVERS_FILE``::

    approvers:
      - id: anna.cfo
        roles: [cfo]
        token_sha256: "<sha256 hex of the token>"   # never the token itself

and enforces segregation of duties before it resumes the run through the Prefect API
(``POST /api/flow_runs/{id}/resume`` with the typed ``run_input``):

* the identity holds one of the roles the waiting request still needs (403 otherwise);
* the identity did not start the run (403: no self-approval);
* the identity has not already approved this request for another role (403).

Endpoints: ``POST /approvals/{flow_run_id}`` (body ``{"decision": "approve"|"reject",
"reason": "...", "role": "optional"}``), ``GET /approvals/pending`` (paused runs and the
roles they need) and ``GET /healthz``. Every accepted decision is appended to the audit
log (``DORA_APPROVAL_AUDIT_LOG``, JSON lines). With ``DORA_APPROVAL_SECRET`` set, inputs
are signed so the flow can reject resumes that bypassed this service.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from dora.errors import ConfigurationError
from flows.approvals import (
    REQUEST_SUFFIX,
    ApprovalInput,
    ApprovalRequest,
    approval_settings,
    sign,
)

log = logging.getLogger("dora.approvals_api")


@dataclass(frozen=True)
class Approver:
    id: str
    roles: tuple[str, ...]
    token_sha256: str


class _ApproverEntry(BaseModel):
    id: str = Field(min_length=1)
    roles: list[str] = Field(min_length=1)
    token_sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")


class _ApproversFile(BaseModel):
    approvers: list[_ApproverEntry]


class DecisionBody(BaseModel):
    decision: str = Field(pattern=r"^(approve|reject)$")
    reason: str = ""
    role: str = ""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def load_approvers(path: str | Path | None = None) -> list[Approver]:
    """Read the approvers file (``DORA_APPROVERS_FILE``); only token hashes are stored."""
    path = path or os.environ.get("DORA_APPROVERS_FILE")
    if not path:
        raise ConfigurationError("DORA_APPROVERS_FILE is not set: no approver can authenticate")
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        parsed = _ApproversFile.model_validate(raw)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise ConfigurationError(f"approvers file {path}: {exc}") from None
    ids = [a.id for a in parsed.approvers]
    if len(set(ids)) != len(ids):
        raise ConfigurationError(f"approvers file {path}: duplicate approver ids")
    return [Approver(a.id, tuple(a.roles), a.token_sha256.lower()) for a in parsed.approvers]


def _identify(request: Request, approvers: list[Approver]) -> Approver | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    digest = hash_token(token.strip())
    found = None
    for a in approvers:  # compare against every entry (constant work per request)
        if hmac.compare_digest(a.token_sha256, digest):
            found = a
    return found


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _waiting_request(client: Any, run_id: uuid.UUID) -> tuple[Any, ApprovalRequest | None]:
    """The flow run and the approval request it is paused on (None when not waiting)."""
    run = await client.read_flow_run(run_id)
    state = run.state
    if state is None or not state.is_paused():
        return run, None
    key = state.state_details.pause_key
    if not key:
        return run, None
    try:
        raw = await client.read_flow_run_input(flow_run_id=run_id, key=key + REQUEST_SUFFIX)
    except Exception:
        return run, None
    return run, ApprovalRequest.model_validate(json.loads(raw))


def create_app(
    approvers_file: str | Path | None = None, audit_log: str | Path | None = None
) -> Starlette:
    approvers = load_approvers(approvers_file)
    audit_path = Path(
        audit_log or os.environ.get("DORA_APPROVAL_AUDIT_LOG") or ".dora/approvals.jsonl"
    )
    audit_lock = threading.Lock()

    def audit(entry: dict[str, Any]) -> None:
        with audit_lock:
            audit_path.parent.mkdir(parents=True, exist_ok=True)
            with audit_path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry, default=str) + "\n")

    async def decide(request: Request) -> JSONResponse:
        from prefect import get_client
        from prefect.client.schemas.responses import SetStateStatus
        from prefect.exceptions import ObjectNotFound

        who = _identify(request, approvers)
        if who is None:
            return _error(401, "missing or unknown bearer token")
        try:
            run_id = uuid.UUID(request.path_params["flow_run_id"])
        except ValueError:
            return _error(404, "not a flow run id")
        try:
            body = DecisionBody.model_validate(await request.json())
        except (ValidationError, ValueError) as exc:
            return _error(422, f"invalid body: {exc}")
        async with get_client() as client:
            try:
                _run, req = await _waiting_request(client, run_id)
            except ObjectNotFound:
                return _error(404, f"flow run {run_id} not found")
            if req is None:
                return _error(409, f"flow run {run_id} is not waiting for an approval")
            usable = [r for r in who.roles if r in req.remaining_roles]
            if body.role:
                if body.role not in who.roles:
                    return _error(403, f"{who.id} does not hold the role {body.role!r}")
                usable = [body.role] if body.role in req.remaining_roles else []
            if not usable:
                return _error(
                    403,
                    f"{who.id} holds {list(who.roles)}; this request still needs "
                    f"{req.remaining_roles}",
                )
            if req.started_by and who.id == req.started_by:
                return _error(403, f"{who.id} started this run and cannot approve it")
            if who.id in req.approved_by:
                return _error(403, f"{who.id} already approved this request")
            data: dict[str, Any] = {
                "decision": body.decision,
                "approver": who.id,
                "reason": body.reason,
                "role": usable[0],
            }
            secret = approval_settings().secret
            data["signature"] = sign(secret, str(run_id), req.pause_key, data) if secret else ""
            ApprovalInput.model_validate(data)
            result = await client.resume_flow_run(run_id, run_input=data)
            if result.status != SetStateStatus.ACCEPT:
                why = getattr(result.details, "reason", None) or result.status.value
                return _error(409, f"Prefect refused to resume flow run {run_id}: {why}")
        entry = {
            "at": datetime.now(UTC).isoformat(),
            "flow_run_id": str(run_id),
            "workflow_id": req.workflow_id,
            "rule": req.rule,
            "pause_key": req.pause_key,
            "approver": who.id,
            "role": data["role"],
            "decision": body.decision,
            "reason": body.reason,
            "values": req.values,
        }
        audit(entry)
        log.info("%s %s flow run %s as %s", who.id, body.decision, run_id, data["role"])
        return JSONResponse({"status": "resumed", **entry})

    async def pending(request: Request) -> JSONResponse:
        from prefect import get_client
        from prefect.client.schemas.filters import (
            FlowRunFilter,
            FlowRunFilterState,
            FlowRunFilterStateType,
        )
        from prefect.client.schemas.objects import StateType

        if _identify(request, approvers) is None:
            return _error(401, "missing or unknown bearer token")
        out = []
        async with get_client() as client:
            runs = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
                ),
                limit=200,
            )
            for run in runs:
                _, req = await _waiting_request(client, run.id)
                if req is None:
                    continue
                out.append(
                    {
                        "flow_run_id": str(run.id),
                        "flow_run_name": run.name,
                        **req.model_dump(mode="json"),
                    }
                )
        return JSONResponse({"pending": out})

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "approvers": len(approvers)})

    return Starlette(
        routes=[
            Route("/approvals/pending", pending, methods=["GET"]),
            Route("/approvals/{flow_run_id}", decide, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )
