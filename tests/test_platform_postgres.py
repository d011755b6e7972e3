"""`dora up` on PostgreSQL: registration is idempotent and the worker runs the seed deployment.

A fresh database on the machine's PostgreSQL (127.0.0.1:5432) is created and dropped by
the test; a missing PostgreSQL is a failure with instructions, never a skip.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from dora import platform
from tests.services import PG_HOST, PG_PORT
from tests.services import free_port as _free_port
from tests.services import pg_admin as _admin

ROOT = Path(__file__).resolve().parent.parent
DEPLOYMENT = "dora-compliance-assessment/dora-compliance-assessment-local"
TERMINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED", "PAUSED")


async def _query(db: str, sql: str, *args: Any) -> list[Any]:
    import asyncpg

    conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user="postgres", database=db)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


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


def _deployment_ids(api: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for d in _post(api, "/deployments/filter"):
        out.setdefault(d["name"], []).append(d["id"])
    return out


def _automation_ids(api: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for a in _post(api, "/automations/filter"):
        out.setdefault(a["name"], []).append(a["id"])
    return out


def _wait_for_terminal(api: str, run_id: str, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        r = httpx.get(f"{api}/flow_runs/{run_id}", timeout=10)
        r.raise_for_status()
        state = r.json()["state"] or {}
        if state.get("type") in TERMINAL:
            return state
        time.sleep(1)
    return state


@pytest.mark.timeout(900)
def test_up_on_postgres_is_idempotent_and_worker_runs_the_seed(tmp_path: Path) -> None:
    try:
        socket.create_connection((PG_HOST, PG_PORT), timeout=2).close()
    except OSError:
        pytest.fail(
            f"PostgreSQL is not answering on {PG_HOST}:{PG_PORT}; start it "
            "(pg_ctlcluster --skip-systemctl-redirect 15 main start) and rerun"
        )
    db = f"dora_platform_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{db}"'))
    port = _free_port()
    home = tmp_path / "dora-home"
    pdir = home / "platform"
    api = platform.api_url_for(port)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API_")}
    env.pop("DORA_WEBHOOK_SECRET", None)
    env.update(
        {
            "DORA_HOME": str(home),
            "DORA_REPORTS_DIR": str(tmp_path / "reports"),
            # the worker inherits the environment of `dora up`: record approvals, never pause
            "DORA_APPROVAL_MODE": "record",
            "DORA_ENTITY_PROFILE": str(ROOT / "examples" / "entity-profile.yaml"),
            "PREFECT_SERVER_DATABASE_CONNECTION_URL": (
                f"postgresql+asyncpg://postgres@{PG_HOST}:{PG_PORT}/{db}"
            ),
            "PREFECT_UI_ENABLED": "false",
        }
    )
    common = ["--home", str(home)]
    down: subprocess.CompletedProcess[str] | None = None
    pids: dict[str, int | None] = {}
    try:
        res = _cli(env, "up", "--port", str(port), "--webhook-port", str(_free_port()), *common)
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
        assert platform.healthy(api)
        assert not (pdir / "prefect.db").exists(), "PostgreSQL, not the SQLite default"

        deps = _deployment_ids(api)
        expected = sorted(
            d["name"] for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
        )
        assert sorted(deps) == expected  # one -local deployment per definition
        assert all(len(ids) == 1 for ids in deps.values()), deps
        autos = _automation_ids(api)
        dora_autos = {n for n in autos if n.startswith("dora:")}
        assert {
            "dora:dora-compliance-assessment:rule-0:escalate",
            "dora:dora-compliance-assessment:rule-2:alert",
            "dora:crashed-run-detection",
            "dora:crashed-run-notify",
        } <= dora_autos
        assert "dora-compliance-assessment-policy_update" in autos  # the event trigger
        assert all(len(ids) == 1 for ids in autos.values()), autos

        again = _cli(env, "up", "--port", str(port), *common)
        assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
        assert "server already running" in again.stdout
        assert _deployment_ids(api) == deps, "a second `dora up` keeps the same deployment"
        autos2 = _automation_ids(api)
        assert set(autos2) == set(autos)
        assert all(len(ids) == 1 for ids in autos2.values()), autos2
        # the dora: automations are reconciled in place; `prefect deploy` replaces the
        # deployment's event-trigger automation (one copy, new id)
        assert {n: autos2[n] for n in dora_autos} == {n: autos[n] for n in dora_autos}

        run_env = {**env, "PREFECT_API_URL": api}
        docs = json.dumps([str(ROOT / "examples" / "policies")])
        started = subprocess.run(
            [
                str(Path(sys.executable).parent / "prefect"),
                "--no-prompt",
                "deployment",
                "run",
                DEPLOYMENT,
                "--param",
                f"documents={docs}",
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=run_env,
            timeout=120,
        )
        assert started.returncode == 0, started.stdout[-3000:] + started.stderr[-3000:]
        match = re.search(r"UUID:\s*([0-9a-f-]{36})", started.stdout)
        assert match, started.stdout[-3000:]
        run = httpx.get(f"{api}/flow_runs/{match.group(1)}", timeout=10).json()
        assert run["deployment_id"] == deps["dora-compliance-assessment-local"][0]
        assert run["parameters"]["documents"] == [str(ROOT / "examples" / "policies")]

        state = _wait_for_terminal(api, run["id"])
        worker_log = (pdir / "worker.log").read_text(errors="replace")[-3000:]
        # FAILED is a valid outcome: the sample bank misses compliance_score >= 0.7
        assert state.get("type") in ("COMPLETED", "FAILED"), f"{state}\n{worker_log}"
        task_runs = _post(api, "/task_runs/filter", {"flow_runs": {"id": {"any_": [run["id"]]}}})
        assert len(task_runs) == 5, [t["name"] for t in task_runs]
        assert all(t["state"]["type"] == "COMPLETED" for t in task_runs), [
            (t["name"], t["state"]["type"]) for t in task_runs
        ]
        # ... and the rows are in the PostgreSQL database itself
        rows = asyncio.run(
            _query(
                db,
                "SELECT state_type::text FROM task_run WHERE flow_run_id = $1",
                uuid.UUID(run["id"]),
            )
        )
        assert sorted(r[0] for r in rows) == ["COMPLETED"] * 5, rows
        if state["type"] == "FAILED":  # by the success criteria, not by an error
            assert "success criteria not met" in (state.get("message") or ""), state
    finally:
        pids = {n: platform.read_pid(pdir, n) for n in platform.COMPONENTS}
        try:
            down = _cli(env, "down", *common, timeout=120)
        finally:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
    assert down is not None and down.returncode == 0, down.stderr if down else ""
    assert "stopped server" in down.stdout and "stopped worker" in down.stdout
    for name, pid in pids.items():
        assert not platform.alive(pid), f"{name} (pid {pid}) still runs"
    assert not platform.healthy(api)
