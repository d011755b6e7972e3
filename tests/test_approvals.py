"""Approvals with segregation of duties, end to end on a real Prefect API.

A small flow (scored task, then the definition's routing evaluated by the real Router
with ``handle_require_approval`` as the callback) runs in a background thread; the
authenticated front-end (Starlette TestClient) resolves it.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import textwrap
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect import flow, get_client, tags, task
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags
from starlette.testclient import TestClient

from dora.approvals_api import create_app, hash_token
from dora.definition.loader import parse_definition
from flows.approvals import ApprovalRejected, approvals_for, handle_require_approval
from flows.routing import Router, RunView
from tests import engine_agents
from tests.services import free_port as _free_port

pytestmark = pytest.mark.usefixtures("prefect_api")

CALLS: Counter[str] = Counter()

PEOPLE = {
    "anna.cfo": (["cfo"], "tok-anna"),
    "carl.cro": (["cro"], "tok-carl"),
    "sam.analyst": (["cfo"], "tok-sam"),  # starts the runs: may never approve them
    "dana.both": (["cfo", "cro"], "tok-dana"),
    "ivan.audit": (["auditor"], "tok-ivan"),
}

DEFINITION = """
workflow:
  id: "t-approval"
  name: "Approval test"
  version: "1.0.0"
  tasks:
    - id: score
      name: Score
      agent: t_echo
      inputs: [{{name: score, type: numeric, default: 0.2}}]
      outputs: [{{name: score, type: numeric}}, {{name: data, type: structured_data}}]
  routing:
    - condition: "task.score.outputs.score < 0.5"
      action: "require_approval"
      approvers: ["cfo", "cro"]
      timeout_hours: {hours}
"""


@pytest.fixture(autouse=True, scope="module")
def _agents() -> None:
    engine_agents.register_all()


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DORA_APPROVAL_POLL_INTERVAL_S", "0.2")
    monkeypatch.setenv("DORA_APPROVAL_SECONDS_PER_HOUR", "3600")
    monkeypatch.delenv("DORA_APPROVAL_MODE", raising=False)
    monkeypatch.delenv("DORA_APPROVAL_SECRET", raising=False)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[TestClient, Path]]:
    approvers = [
        {"id": who, "roles": roles, "token_sha256": hash_token(token)}
        for who, (roles, token) in PEOPLE.items()
    ]
    path = tmp_path / "approvers.yaml"
    path.write_text(json.dumps({"approvers": approvers}), encoding="utf-8")
    audit = tmp_path / "audit.jsonl"
    with TestClient(create_app(path, audit)) as client:
        yield client, audit


@task(
    persist_result=True,
    cache_key_fn=lambda ctx, p: f"t-approval-{ctx.task_run.flow_run_id}-{p['key']}",
)
def scored(key: str) -> float:
    CALLS[key] += 1
    return 0.2


@flow(name="t-approval", persist_result=True)
def approval_flow(key: str, hours: float = 1.0) -> dict[str, Any]:
    from prefect.runtime import flow_run

    run_id = str(flow_run.id)
    workflow = parse_definition(textwrap.dedent(DEFINITION).format(hours=hours), "t.yaml").workflow
    value = scored(key)
    view = RunView(workflow, {})
    view.states["score"] = "completed"
    view.outputs["score"] = {"score": value}
    router = Router(view, lambda d, r: handle_require_approval(workflow, run_id, d, r))
    router.check()
    return {
        "approvals": [o.model_dump(mode="json") for o in approvals_for(run_id)],
        "decisions": [d.model_dump(mode="json") for d in router.decisions],
    }


def _start(key: str, hours: float = 1.0, starter: str = "sam.analyst") -> dict[str, Any]:
    box: dict[str, Any] = {}
    ctx = contextvars.copy_context()  # carries the test harness's Prefect settings

    def go() -> None:
        with tags(f"dora.started_by:{starter}", f"test:{key}"):
            box["state"] = approval_flow(key=key, hours=hours, return_state=True)

    box["thread"] = threading.Thread(target=lambda: ctx.run(go), daemon=True)
    box["thread"].start()
    return box


async def _find(key: str) -> Any:
    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[f"test:{key}"]))
        )
    return runs[0] if runs else None


def _run_of(key: str) -> Any:
    return asyncio.run(_find(key))


def _wait_pending(client: TestClient, run_id: str, remaining: list[str], t: float = 60) -> Any:
    """Wait until the run is paused on a request that still needs ``remaining``."""
    deadline = time.monotonic() + t
    while time.monotonic() < deadline:
        got = client.get("/approvals/pending", headers=_auth("anna.cfo")).json()["pending"]
        mine = [p for p in got if p["flow_run_id"] == run_id]
        if mine and mine[0]["remaining_roles"] == remaining:
            return mine[0]
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} never waited for {remaining}")


def _wait_run_id(key: str, t: float = 60) -> str:
    deadline = time.monotonic() + t
    while time.monotonic() < deadline:
        run = _run_of(key)
        if run is not None:
            return str(run.id)
        time.sleep(0.2)
    raise AssertionError("flow run never created")


def _auth(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {PEOPLE[who][1]}"}


def _decide(client: TestClient, run_id: str, who: str, decision: str, reason: str = "") -> Any:
    return client.post(
        f"/approvals/{run_id}",
        headers=_auth(who),
        json={"decision": decision, "reason": reason},
    )


def _finish(box: dict[str, Any], t: float = 60) -> Any:
    box["thread"].join(t)
    assert not box["thread"].is_alive(), "flow did not finish"
    return box["state"]


def test_both_roles_approve_then_run_completes_without_rerunning_tasks(
    api: tuple[TestClient, Path],
) -> None:
    client, audit = api
    key = uuid.uuid4().hex
    box = _start(key)
    run_id = _wait_run_id(key)
    pending = _wait_pending(client, run_id, ["cfo", "cro"])
    assert pending["started_by"] == "sam.analyst"
    assert pending["values"] == {"task.score.outputs.score": 0.2}

    r = _decide(client, run_id, "anna.cfo", "approve", "figures checked")
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "cfo"
    _wait_pending(client, run_id, ["cro"])
    r = _decide(client, run_id, "carl.cro", "approve", "risk accepted")
    assert r.status_code == 200, r.text

    state = _finish(box)
    assert state.is_completed(), state.message
    data = state.result()
    (outcome,) = data["approvals"]
    assert outcome["approved"] is True and outcome["started_by"] == "sam.analyst"
    got = [(r["approver"], r["role"], r["decision"], r["reason"]) for r in outcome["records"]]
    assert got == [
        ("anna.cfo", "cfo", "approve", "figures checked"),
        ("carl.cro", "cro", "approve", "risk accepted"),
    ]
    assert all(r["values"] == {"task.score.outputs.score": 0.2} for r in outcome["records"])
    assert CALLS[key] == 1  # the finished task ran once
    lines = [json.loads(x) for x in audit.read_text().splitlines()]
    assert [(x["approver"], x["decision"]) for x in lines] == [
        ("anna.cfo", "approve"),
        ("carl.cro", "approve"),
    ]


def test_rejection_fails_the_run_with_the_reason(api: tuple[TestClient, Path]) -> None:
    client, _ = api
    key = uuid.uuid4().hex
    box = _start(key)
    run_id = _wait_run_id(key)
    _wait_pending(client, run_id, ["cfo", "cro"])
    r = _decide(client, run_id, "carl.cro", "reject", "exposure above appetite")
    assert r.status_code == 200, r.text
    state = _finish(box)
    assert state.is_failed()
    assert "exposure above appetite" in state.message
    with pytest.raises(ApprovalRejected, match=r"rejected by carl\.cro"):
        state.result()


def test_request_expires_and_fails_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DORA_APPROVAL_SECONDS_PER_HOUR", "1")  # timeout_hours: 2 -> 2 s
    key = uuid.uuid4().hex
    box = _start(key, hours=2)
    state = _finish(box)
    assert state.is_failed()
    assert "expired" in state.message and "cfo, cro" in state.message
    assert CALLS[key] == 1


def test_self_wrong_role_double_and_unauthenticated_approvals_are_refused(
    api: tuple[TestClient, Path],
) -> None:
    client, audit = api
    key = uuid.uuid4().hex
    box = _start(key)
    run_id = _wait_run_id(key)
    _wait_pending(client, run_id, ["cfo", "cro"])

    r = _decide(client, run_id, "sam.analyst", "approve")
    assert r.status_code == 403 and "started this run" in r.json()["error"]
    r = _decide(client, run_id, "ivan.audit", "approve")
    assert r.status_code == 403 and "still needs" in r.json()["error"]
    r = client.post(
        f"/approvals/{run_id}", headers={"Authorization": "Bearer nope"}, json={"decision": "ok"}
    )
    assert r.status_code == 401
    assert client.get("/approvals/pending").status_code == 401
    # still waiting for both roles after the refusals
    _wait_pending(client, run_id, ["cfo", "cro"], t=5)

    # dana holds both roles but may only fill one of them
    r = _decide(client, run_id, "dana.both", "approve", "ok as cfo")
    assert r.status_code == 200, r.text
    _wait_pending(client, run_id, ["cro"])
    r = _decide(client, run_id, "dana.both", "approve", "ok as cro too")
    assert r.status_code == 403 and "already approved" in r.json()["error"]
    r = _decide(client, run_id, "anna.cfo", "approve")
    assert r.status_code == 403  # cfo is no longer needed
    r = _decide(client, run_id, "carl.cro", "approve", "fine")
    assert r.status_code == 200, r.text

    state = _finish(box)
    assert state.is_completed(), state.message
    records = state.result()["approvals"][0]["records"]
    assert [(x["approver"], x["role"]) for x in records] == [
        ("dana.both", "cfo"),
        ("carl.cro", "cro"),
    ]
    assert len(audit.read_text().splitlines()) == 2


def test_not_waiting_and_unknown_runs(api: tuple[TestClient, Path]) -> None:
    client, _ = api
    r = _decide(client, str(uuid.uuid4()), "anna.cfo", "approve")
    assert r.status_code == 404
    r = client.post(f"/approvals/{uuid.uuid4()}", headers=_auth("anna.cfo"), json={"x": 1})
    assert r.status_code == 422


async def _resume_directly(run_id: str, data: dict[str, Any]) -> Any:
    async with get_client() as client:
        return await client.resume_flow_run(uuid.UUID(run_id), run_input=data)


def test_cli_over_http_with_signed_inputs_ignores_resumes_that_bypass_the_front_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn
    from typer.testing import CliRunner

    from dora.approvals_cli import approvals_app

    monkeypatch.setenv("DORA_APPROVAL_SECRET", "s3cret")
    runner = CliRunner()
    hashed = runner.invoke(approvals_app, ["hash-token", "tok-anna"])
    assert hashed.exit_code == 0 and hashed.output.strip() == hash_token("tok-anna")
    approvers = [
        {"id": who, "roles": roles, "token_sha256": hash_token(token)}
        for who, (roles, token) in PEOPLE.items()
    ]
    path = tmp_path / "approvers.yaml"
    path.write_text(json.dumps({"approvers": approvers}), encoding="utf-8")
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(path, tmp_path / "audit.jsonl"), port=port, log_level="warning")
    )
    ctx = contextvars.copy_context()
    serving = threading.Thread(target=lambda: ctx.run(server.run), daemon=True)
    serving.start()
    url = f"http://127.0.0.1:{port}"
    try:
        key = uuid.uuid4().hex
        box = _start(key)
        run_id = _wait_run_id(key)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            out = runner.invoke(approvals_app, ["pending", "--token", "tok-carl", "--url", url])
            if out.exit_code == 0 and run_id in out.output:
                break
            time.sleep(0.3)
        else:
            raise AssertionError("run never listed as pending")

        # someone with Prefect API access resumes it with a made-up approver: ignored
        forged = {"decision": "approve", "approver": "mallory", "role": "cfo", "reason": ""}
        asyncio.run(_resume_directly(run_id, forged))
        while time.monotonic() < deadline:
            out = runner.invoke(approvals_app, ["pending", "--token", "tok-carl", "--url", url])
            if out.exit_code == 0 and "dora-approval-r0-1" in out.output:
                break  # re-paused on the next key, still needing both roles
            time.sleep(0.3)
        assert '"cfo"' in out.output and '"cro"' in out.output

        args = ["approve", run_id, "--url", url, "--reason", "ok"]
        out = runner.invoke(approvals_app, [*args, "--token", "tok-sam"])
        assert out.exit_code == 1 and "started this run" in out.output
        out = runner.invoke(approvals_app, [*args, "--token", "tok-anna"])
        assert out.exit_code == 0, out.output
        while time.monotonic() < deadline:
            out = runner.invoke(approvals_app, [*args, "--token", "tok-carl"])
            if out.exit_code == 0:
                break
            time.sleep(0.3)  # 409 until the run paused again for the cro
        assert out.exit_code == 0, out.output

        state = _finish(box)
        assert state.is_completed(), state.message
        records = state.result()["approvals"][0]["records"]
        assert [(r["approver"], r["accepted"]) for r in records] == [
            ("mallory", False),
            ("anna.cfo", True),
            ("carl.cro", True),
        ]
        assert "not signed" in records[0]["note"]
    finally:
        server.should_exit = True
        serving.join(10)


async def _deployed_run(key: str) -> Any:
    async with get_client() as client:
        flow_id = await client.create_flow(approval_flow)
        dep = await client.create_deployment(
            flow_id=flow_id,
            name=f"suspend-{key[:8]}",
            entrypoint="tests/test_approvals.py:approval_flow",
        )
        return await client.create_flow_run_from_deployment(
            dep,
            parameters={"key": key, "hours": 1.0},
            tags=["dora.started_by:sam.analyst", f"test:{key}"],
        )


async def _read_run(run_id: Any) -> Any:
    async with get_client() as client:
        return await client.read_flow_run(run_id)


def _execute(run_id: Any, params: dict[str, Any]) -> Any:
    """What a worker does with a (resumed) run: execute it; suspension exits via Pause."""
    from prefect.exceptions import Pause
    from prefect.flow_engine import run_flow

    run = asyncio.run(_read_run(run_id))
    try:
        return run_flow(approval_flow, flow_run=run, parameters=params, return_type="state")
    except Pause:
        return asyncio.run(_read_run(run_id)).state


def test_suspend_mode_reexecutes_without_rerunning_finished_tasks(
    api: tuple[TestClient, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DORA_APPROVAL_MODE", "suspend")
    client, _ = api
    key = uuid.uuid4().hex
    run = asyncio.run(_deployed_run(key))
    params = {"key": key, "hours": 1.0}

    state = _execute(run.id, params)
    assert state.is_paused() and state.name == "Suspended", state  # the process exits here
    _wait_pending(client, str(run.id), ["cfo", "cro"], t=5)
    assert _decide(client, str(run.id), "anna.cfo", "approve", "ok").status_code == 200

    # a worker picks the resumed run up again: it re-executes from the top
    state = _execute(run.id, params)
    assert state.is_paused(), state
    _wait_pending(client, str(run.id), ["cro"], t=5)
    assert _decide(client, str(run.id), "carl.cro", "approve", "ok").status_code == 200

    state = _execute(run.id, params)
    assert state.is_completed(), state
    records = state.result()["approvals"][0]["records"]
    assert [(r["approver"], r["role"]) for r in records] == [
        ("anna.cfo", "cfo"),
        ("carl.cro", "cro"),
    ]
    assert CALLS[key] == 1  # the finished task came from its persisted result each time


def test_compiled_engine_flow_waits_for_approval(
    api: tuple[TestClient, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The proposed one-line hook in flows.factory._on_decision, on a compiled definition."""
    import inspect

    from flows import factory

    if "handle_require_approval" not in inspect.getsource(factory._on_decision):
        original = factory._on_decision

        def hooked(workflow: Any, run_id: Any, decision: Any, rule: Any) -> None:
            original(workflow, run_id, decision, rule)
            handle_require_approval(workflow, run_id, decision, rule)

        monkeypatch.setattr(factory, "_on_decision", hooked)
    client, _ = api
    key = uuid.uuid4().hex
    text = textwrap.dedent(DEFINITION).format(hours=1).replace("t-approval", f"t-appr-{key[:8]}")
    compiled = factory.compile_workflow(parse_definition(text, "t.yaml"))
    box: dict[str, Any] = {}
    ctx = contextvars.copy_context()

    def go() -> None:
        with tags("dora.started_by:sam.analyst", f"test:{key}"):
            box["state"] = compiled(return_state=True)

    box["thread"] = threading.Thread(target=lambda: ctx.run(go), daemon=True)
    box["thread"].start()
    run_id = _wait_run_id(key)
    _wait_pending(client, run_id, ["cfo", "cro"])
    assert _decide(client, run_id, "sam.analyst", "approve").status_code == 403
    assert _decide(client, run_id, "anna.cfo", "approve", "ok").status_code == 200
    _wait_pending(client, run_id, ["cro"])
    assert _decide(client, run_id, "carl.cro", "approve", "ok").status_code == 200
    state = _finish(box)
    assert state.is_completed(), state.message
    (decision,) = state.result()["decisions"]
    assert decision["action"] == "require_approval" and decision["fired"] is True
    assert [r.approver for r in approvals_for(run_id)[0].records] == ["anna.cfo", "carl.cro"]


def test_approvers_file_must_hold_hashes_and_unique_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dora.approvals_api import load_approvers
    from dora.errors import ConfigurationError

    monkeypatch.delenv("DORA_APPROVERS_FILE", raising=False)
    with pytest.raises(ConfigurationError, match="DORA_APPROVERS_FILE"):
        load_approvers()
    bad = tmp_path / "a.yaml"
    bad.write_text("approvers: [{id: a, roles: [cfo], token_sha256: plain-token}]\n")
    with pytest.raises(ConfigurationError, match="token_sha256"):
        load_approvers(bad)
    h = hash_token("t")
    dup = tmp_path / "b.yaml"
    dup.write_text(
        f"approvers:\n  - {{id: a, roles: [cfo], token_sha256: {h}}}\n"
        f"  - {{id: a, roles: [cro], token_sha256: {h}}}\n"
    )
    with pytest.raises(ConfigurationError, match="duplicate"):
        load_approvers(dup)
    good = tmp_path / "c.yaml"
    good.write_text(f"approvers:\n  - {{id: anna.cfo, roles: [cfo], token_sha256: {h}}}\n")
    monkeypatch.setenv("DORA_APPROVERS_FILE", str(good))
    (who,) = load_approvers()
    assert who.id == "anna.cfo" and who.roles == ("cfo",) and who.token_sha256 == h
