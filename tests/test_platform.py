"""`dora up` / `deploy` / `down` start, register and stop a real local Prefect platform."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from dora import platform
from dora.webhook.signing import signed_headers
from tests.services import free_port as _free_port

ROOT = Path(__file__).resolve().parent.parent
PREFECT_YAML = ROOT / "prefect.yaml"


def _cli(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dora.platform_cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=timeout,
    )


def _post(api: str, path: str, body: dict[str, Any] | None = None) -> Any:
    # a busy server answers 503 (database timeout) now and then; Prefect's own client
    # retries those too, so the test does not fail on load it did not cause
    for attempt in range(5):
        r = httpx.post(f"{api}{path}", json=body or {}, timeout=30)
        if r.status_code not in (429, 502, 503) or attempt == 4:
            break
        time.sleep(2 * (attempt + 1))
    assert r.status_code < 300, f"POST {path}: {r.status_code} {r.text[:2000]}"
    return r.json()


def _deployments(api: str) -> list[dict[str, Any]]:
    return list(_post(api, "/deployments/filter"))


def _dora_automations(api: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for a in _post(api, "/automations/filter"):
        if a["name"].startswith("dora:"):
            out.setdefault(a["name"], []).append(a["id"])
    return out


def _wait_for_worker(api: str, timeout: float = 90) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        workers = list(_post(api, f"/work_pools/{platform.POOL}/workers/filter"))
        if workers:
            return workers
        time.sleep(0.5)
    return []


WEBHOOK_SECRET = "platform-test-webhook-secret"


def _wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {timeout}s")


def _wait_for_new_run(api: str, before: set[str], timeout: float = 120) -> dict[str, Any]:
    """The flow run the policy.updated trigger created (automations act within seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = [r for r in _post(api, "/flow_runs/filter", {}) if r["id"] not in before]
        if new:
            return dict(new[0])
        time.sleep(0.5)
    raise AssertionError("no flow run was created by the policy.updated trigger")


def _wait_for_terminal(api: str, run_id: str, timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        r = httpx.get(f"{api}/flow_runs/{run_id}", timeout=10)
        r.raise_for_status()
        state = r.json()["state"] or {}
        if state.get("type") in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED", "PAUSED"):
            return state
        time.sleep(1)
    return state


def test_stop_process_escalates_to_sigkill() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, time\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "print('ready', flush=True)\n"
            "time.sleep(120)",
        ],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
    t0 = time.monotonic()
    assert platform.stop_process(proc.pid, timeout=1.0)
    assert 1.0 <= time.monotonic() - t0 < 10  # SIGTERM was ignored, SIGKILL ended it
    assert not platform.alive(proc.pid)


def test_status_and_down_without_a_platform(tmp_path: Path) -> None:
    st = platform.status(tmp_path)
    assert not st["healthy"]
    assert all(not c["running"] for c in st["components"].values())
    assert platform.down(tmp_path, echo=lambda _m: None) == []


@pytest.mark.timeout(900)
def test_up_is_idempotent_deploy_prunes_and_down_stops_everything(tmp_path: Path) -> None:
    port = _free_port()
    home = tmp_path / "dora-home"
    api = platform.api_url_for(port)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API_")}
    env["DORA_HOME"] = str(home)
    env["DORA_WEBHOOK_SECRET"] = WEBHOOK_SECRET  # the receiver signs with it (test value)
    env["DORA_APPROVAL_MODE"] = "record"  # the sample fires require_approval; see test_approvals
    common = ["--home", str(home)]
    pdir = home / "platform"
    hook_port = _free_port()
    try:
        res = _cli(env, "up", "--port", str(port), "--webhook-port", str(hook_port), *common)
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
        assert platform.healthy(api)
        assert (pdir / "server.pid").exists() and (pdir / "worker.pid").exists()
        assert (pdir / "prefect.db").exists(), "SQLite database under DORA_HOME by default"

        deps = _deployments(api)
        expected = sorted(
            d["name"] for d in yaml.safe_load(PREFECT_YAML.read_text())["deployments"]
        )
        assert sorted(d["name"] for d in deps) == expected  # one -local deployment per definition
        seed = next(d for d in deps if d["name"] == "dora-compliance-assessment-local")
        autos = _dora_automations(api)
        assert {
            "dora:dora-compliance-assessment:rule-0:escalate",
            "dora:dora-compliance-assessment:rule-2:alert",
            "dora:crashed-run-detection",
            "dora:crashed-run-notify",
        } <= set(autos)
        assert all(a.startswith("dora:") for a in autos)
        crash = next(
            a
            for a in _post(api, "/automations/filter")
            if a["name"] == "dora:crashed-run-detection"
        )
        assert crash["trigger"]["within"] == 90  # the worker's heartbeat is every 30 s
        assert crash["actions"][0]["type"] == "change-flow-run-state"
        workers = _wait_for_worker(api)
        assert workers, "the worker registered with the dora-local pool"

        # the worker executes the deployment from the project directory; the run's routing
        # decisions arrive as dora.routing.* events
        docs = sorted(str(p) for p in (ROOT / "examples" / "policies").iterdir())
        run = _post(
            api,
            f"/deployments/{seed['id']}/create_flow_run",
            {"parameters": {"documents": docs}},
        )
        state = _wait_for_terminal(api, run["id"])
        # FAILED only by the success criteria (the sample bank scores below 0.7)
        assert state.get("type") == "COMPLETED" or (
            state.get("type") == "FAILED"
            and "success criteria not met" in (state.get("message") or "")
        ), state

        # a signed policy.updated webhook leads to a finished assessment of the changed documents
        before = {r["id"] for r in _post(api, "/flow_runs/filter", {})}
        _wait_http(f"http://127.0.0.1:{hook_port}/health")
        body = json.dumps(
            {"policy_id": "POL-07", "documents": docs[:3], "changed_by": "it"}
        ).encode()
        hook = httpx.post(
            f"http://127.0.0.1:{hook_port}/hooks/policy-updated",
            content=body,
            headers=signed_headers(WEBHOOK_SECRET, body),
            timeout=30,
        )
        assert hook.status_code == 202, hook.text
        triggered = _wait_for_new_run(api, before)
        assert triggered["parameters"]["documents"] == docs[:3]
        tstate = _wait_for_terminal(api, triggered["id"])
        assert tstate.get("type") == "COMPLETED" or (
            tstate.get("type") == "FAILED"
            and "success criteria not met" in (tstate.get("message") or "")
        ), tstate
        events = _post(
            api,
            "/events/filter",
            {
                "filter": {
                    "event": {"prefix": ["dora.routing."]},
                    "any_resource": {"id": [f"prefect.flow-run.{run['id']}"]},
                }
            },
        )["events"]
        assert {e["event"] for e in events} >= {"dora.routing.escalate"}

        st = _cli(env, "status", *common)
        assert st.returncode == 0 and "healthy" in st.stdout

        server_pid = platform.read_pid(pdir, "server")
        worker_pid = platform.read_pid(pdir, "worker")
        again = _cli(env, "up", "--port", str(port), *common)
        assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
        assert "server already running" in again.stdout
        assert "worker already running" in again.stdout
        assert platform.read_pid(pdir, "server") == server_pid
        assert platform.read_pid(pdir, "worker") == worker_pid
        assert sorted(d["id"] for d in _deployments(api)) == sorted(d["id"] for d in deps)
        assert _dora_automations(api) == autos

        # a deployment of our flow that prefect.yaml no longer has is removed (issue #15332)
        flow_id = seed["flow_id"]
        _post(api, "/deployments/", {"name": "retired-local", "flow_id": flow_id, "tags": ["dora"]})
        assert len(_deployments(api)) == len(deps) + 1
        dep = _cli(env, "deploy", *common)  # finds the platform's API URL itself
        assert dep.returncode == 0, dep.stdout[-3000:] + dep.stderr[-3000:]
        assert "removed stale deployment dora-compliance-assessment/retired-local" in dep.stdout
        assert sorted(d["name"] for d in _deployments(api)) == expected
    finally:
        pids = {n: platform.read_pid(pdir, n) for n in platform.COMPONENTS}
        down = _cli(env, "down", *common, timeout=120)
    assert down.returncode == 0, down.stderr
    assert "stopped server" in down.stdout and "stopped worker" in down.stdout
    for name, pid in pids.items():
        assert not platform.alive(pid), f"{name} (pid {pid}) still runs"
        assert not (pdir / f"{name}.pid").exists()
    assert not platform.healthy(api)


def test_register_mounts_top_level_commands(tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from dora.platform_cli import register

    app = typer.Typer()

    @app.command()
    def other() -> None:  # a second command, so typer keeps subcommand names
        pass

    register(app)
    runner = CliRunner()
    res = runner.invoke(app, ["status", "--home", str(tmp_path)])
    assert res.exit_code == 1 and "server   stopped" in res.output
    res = runner.invoke(app, ["down", "--home", str(tmp_path)])
    assert res.exit_code == 0 and "nothing was running" in res.output
    assert runner.invoke(app, ["up", "--help"]).exit_code == 0
    assert "--port" in runner.invoke(app, ["up", "--help"]).output
