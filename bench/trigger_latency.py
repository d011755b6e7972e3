"""Latency from a signed webhook to the triggered flow run, against a direct event POST.

Path measured (both variants end in the seed deployment's ``policy.updated`` trigger):

* **webhook**: signed ``POST /hooks/policy-updated`` to the receiver (a real uvicorn
  process, ``python -m dora.webhook.cli serve``) → ``POST /api/events`` → automation →
  flow run of ``dora-compliance-assessment/dora-compliance-assessment-local``;
* **baseline**: the same event posted directly to ``POST {api}/events``.

Latency to creation = the flow run's server-side ``created`` minus the wall time just
before the request (same machine, same clock). With ``--worker``, a process worker
(``prefect worker start --pool dora-local``) runs the flows and the time to the first task
run's start is measured too, once at the default polling interval and once with
``PREFECT_WORKER_QUERY_SECONDS=1``. Variants are interleaved so machine noise hits both.
The last line is the ratio webhook / baseline of the median time to creation.

    python bench/trigger_latency.py [--requests 10] [--api URL] [--worker]

Without ``--api`` a throwaway Prefect server (SQLite, temporary PREFECT_HOME) is started.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="dora-bench-"))
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_UI_ENABLED", "false")

import httpx  # noqa: E402

from dora.webhook.app import PolicyUpdated, build_event  # noqa: E402
from dora.webhook.signing import signed_headers  # noqa: E402

DEPLOYMENT = "dora-compliance-assessment/dora-compliance-assessment-local"
SECRET = "bench-secret-" + uuid.uuid4().hex
DOCUMENT = "examples/policies/01-ict-security-policy.md"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def poll(fn: Callable[[], Any], timeout: float = 120.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing after {timeout} s")
        time.sleep(interval)


@contextlib.contextmanager
def prefect_server(api: str | None) -> Iterator[str]:
    if api:
        os.environ["PREFECT_API_URL"] = api
        yield api
        return
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        url = str(PREFECT_API_URL.value())
        os.environ["PREFECT_API_URL"] = url
        yield url


def deploy(api: str) -> uuid.UUID:
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists

    async def pool() -> None:
        async with get_client() as c:
            with contextlib.suppress(ObjectAlreadyExists):
                await c.create_work_pool(WorkPoolCreate(name="dora-local", type="process"))

    asyncio.run(pool())
    res = subprocess.run(
        [str(Path(sys.executable).parent / "prefect"), "--no-prompt", "deploy", "--all"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PREFECT_API_URL": api},
        timeout=300,
    )
    if res.returncode:
        raise SystemExit(f"prefect deploy failed:\n{res.stdout[-2000:]}{res.stderr[-2000:]}")

    async def read() -> uuid.UUID:
        async with get_client() as c:
            return (await c.read_deployment_by_name(DEPLOYMENT)).id

    return asyncio.run(read())


@contextlib.contextmanager
def process(cmd: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def flow_run_with(deployment_id: uuid.UUID, marker: str) -> Any:
    from prefect import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    async def read() -> Any:
        async with get_client() as c:
            runs = await c.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
            )
        for run in runs:
            if marker in (run.parameters.get("documents") or []):
                return run
        return None

    return asyncio.run(read())


def delete_runs(deployment_id: uuid.UUID) -> None:
    """Forget earlier runs, so a worker started next does not work off a backlog first."""
    from prefect import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    async def run() -> None:
        async with get_client() as c:
            runs = await c.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
            )
            for r in runs:
                await c.delete_flow_run(r.id)

    asyncio.run(run())


def first_task_start(flow_run_id: uuid.UUID) -> datetime | None:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    async def read() -> datetime | None:
        async with get_client() as c:
            tasks = await c.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
            )
        starts = [t.start_time for t in tasks if t.start_time is not None]
        return min(starts) if starts else None

    return asyncio.run(read())


def trigger(kind: str, api: str, hook: str, marker: str) -> float:
    """Send one event (webhook or direct); wall time (epoch s) just before the request."""
    payload = PolicyUpdated(policy_id="P-bench", documents=[DOCUMENT, marker])
    delivery = uuid.uuid4().hex
    t0 = time.time()
    if kind == "webhook":
        body = payload.model_dump_json().encode()
        res = httpx.post(
            f"{hook}/hooks/policy-updated",
            content=body,
            headers=signed_headers(SECRET, body, delivery_id=delivery),
            timeout=30,
        )
        if res.status_code != 202:
            raise SystemExit(f"webhook refused: {res.status_code} {res.text}")
    else:
        event = build_event(payload, delivery, "policy.updated")
        httpx.post(f"{api}/events", content=json.dumps([event]), timeout=30).raise_for_status()
    return t0


def measure(
    kinds: list[str], n: int, api: str, hook: str, dep: uuid.UUID, tasks: bool
) -> dict[str, dict[str, list[float]]]:
    out: dict[str, dict[str, list[float]]] = {k: {"created": [], "task": []} for k in kinds}
    for i in range(n):
        for kind in kinds if i % 2 == 0 else list(reversed(kinds)):
            marker = f"bench/{kind}-{uuid.uuid4().hex[:8]}.md"
            t0 = trigger(kind, api, hook, marker)
            run = poll(lambda m=marker: flow_run_with(dep, m))
            out[kind]["created"].append(run.created.timestamp() - t0)
            if tasks:
                start = poll(lambda r=run: first_task_start(r.id), timeout=300, interval=0.1)
                out[kind]["task"].append(start.timestamp() - t0)
    return out


def report(label: str, values: list[float]) -> str:
    if not values:
        return f"{label:<34} n/a"
    return (
        f"{label:<34} median {statistics.median(values):7.3f} s  "
        f"min {min(values):7.3f}  max {max(values):7.3f}  (n={len(values)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=10, help="requests per variant")
    parser.add_argument("--api", help="an existing Prefect API URL (default: start one)")
    parser.add_argument("--worker", action="store_true", help="also time the first task run")
    args = parser.parse_args()

    with prefect_server(args.api) as api:
        dep = deploy(api)
        port = free_port()
        hook = f"http://127.0.0.1:{port}"
        env = {**os.environ, "PREFECT_API_URL": api, "DORA_WEBHOOK_SECRET": SECRET}
        serve = [sys.executable, "-m", "dora.webhook.cli", "serve", "--port", str(port)]
        with process(serve, env):
            poll(lambda: _ok(f"{hook}/ready"), timeout=60, interval=0.1)
            trigger("direct", api, hook, "warm-up")  # the trigger service loads automations
            poll(lambda: flow_run_with(dep, "warm-up"))
            kinds = ["webhook", "direct"]
            results = measure(kinds, args.requests, api, hook, dep, tasks=False)
            print(f"trigger latency, {args.requests} requests per variant ({api})")
            for kind in kinds:
                print(report(f"{kind}: request -> flow run created", results[kind]["created"]))
            if args.worker:
                for label, extra in (
                    ("default polling", {}),
                    ("QUERY_SECONDS=1", {"PREFECT_WORKER_QUERY_SECONDS": "1"}),
                ):
                    worker = [
                        str(Path(sys.executable).parent / "prefect"),
                        "worker",
                        "start",
                        "--pool",
                        "dora-local",
                    ]
                    delete_runs(dep)
                    with process(worker, {**env, **extra}):
                        timed = measure(
                            kinds, max(1, args.requests // 3), api, hook, dep, tasks=True
                        )
                    for kind in kinds:
                        print(report(f"{kind}: -> first task ({label})", timed[kind]["task"]))
            ratio = statistics.median(results["webhook"]["created"]) / statistics.median(
                results["direct"]["created"]
            )
            print(f"ratio webhook/direct (median time to flow run creation): {ratio:.3f}")


def _ok(url: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(url, timeout=1).status_code == 200
    return False


if __name__ == "__main__":
    main()
