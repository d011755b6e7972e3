"""The engine on a Prefect server backed by PostgreSQL (the production database).

Starts `prefect server start` on a free port against a fresh database on the machine's
PostgreSQL (127.0.0.1:5432) and runs a compiled definition through it. A missing
PostgreSQL is a failure with instructions, never a skip.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.services import PG_HOST, PG_PORT
from tests.services import free_port as _free_port
from tests.services import pg_admin as _admin

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def pg_prefect(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    try:
        socket.create_connection((PG_HOST, PG_PORT), timeout=2).close()
    except OSError:
        pytest.fail(
            f"PostgreSQL is not answering on {PG_HOST}:{PG_PORT}; start it "
            "(pg_ctlcluster --skip-systemctl-redirect 15 main start) and rerun"
        )
    db = f"dora_test_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{db}"'))
    port = _free_port()
    home = tmp_path_factory.mktemp("pg-prefect-home")
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"postgresql+asyncpg://postgres@{PG_HOST}:{PG_PORT}/{db}",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
    }
    env.pop("PREFECT_API_URL", None)
    log = (home / "server.log").open("w")
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "prefect"),
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                pytest.fail(f"prefect server exited: {(home / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        else:
            pytest.fail("prefect server on PostgreSQL did not become healthy in 120 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))


def test_compiled_flow_runs_on_postgres_backed_server(pg_prefect: str, tmp_path: Path) -> None:
    script = tmp_path / "run.py"
    script.write_text(f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
from tests import engine_agents
engine_agents.register_all()
from dora.definition.loader import parse_definition
from flows.factory import compile_workflow
text = '''
workflow:
  id: "pg-check"
  name: "PostgreSQL check"
  version: "1.0.0"
  tasks:
    - id: a
      name: A
      agent: t_echo
      inputs: [{{name: score, type: numeric, default: 0.3}}]
      outputs: [{{name: score, type: numeric}}, {{name: data, type: structured_data}}]
    - id: b
      name: B
      agent: t_echo
      depends_on: [a]
      inputs: [{{name: upstream, from_task: a, field: data}}]
      outputs: [{{name: score, type: numeric}}]
  routing:
    - condition: "task.a.outputs.score < 0.5"
      action: escalate
      target: compliance_officer
  success_criteria:
    - condition: all_tasks_completed
'''
state = compile_workflow(parse_definition(text, "pg.yaml"))(return_state=True)
data = state.result(raise_on_failure=False)
print("STATE", state.type.value, data["decisions"][0]["fired"], data["flow_run_id"])
""")
    env = {
        **os.environ,
        "PREFECT_API_URL": pg_prefect,
        "DORA_REPORTS_DIR": str(tmp_path / "reports"),
    }
    res = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300
    )
    assert res.returncode == 0, res.stderr[-3000:]
    line = next(line for line in res.stdout.splitlines() if line.startswith("STATE"))
    _, state, fired, run_id = line.split()
    assert state == "COMPLETED" and fired == "True"
    # the run and its task runs are in PostgreSQL, read back through the API
    runs = httpx.post(
        f"{pg_prefect}/task_runs/filter", json={"flow_runs": {"id": {"any_": [run_id]}}}, timeout=10
    ).json()
    assert sorted(r["name"] for r in runs) == ["a [t_echo]", "b [t_echo]"]
