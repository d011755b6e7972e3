"""``dora worker`` and ``dora webhook serve`` as real processes against the session Prefect
API: their probes and /metrics answer, child flow-run samples are aggregated, JSON logs,
SIGTERM stops the worker, and the kubernetes pool is created from the one template file."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.services import free_port

ROOT = Path(__file__).resolve().parent.parent
DORA = str(Path(sys.executable).parent / "dora")
TEMPLATE = ROOT / "k8s" / "work-pool" / "base-job-template.json"


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as res:
            return res.status, res.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def _wait(
    check: Callable[[], bool], proc: subprocess.Popen[str], what: str, timeout: float = 120
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(
                f"{what}: process exited {proc.returncode}\n{(out or '')[-2000:]}{(err or '')[-3000:]}"
            )
        with contextlib.suppress(OSError):
            if check():
                return
        time.sleep(0.3)
    raise AssertionError(f"{what} not reached within {timeout} s")


def _stop(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return proc.returncode, out or "", err or ""


@pytest.fixture
def worker(prefect_api: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    port = free_port()
    pool = f"dora-test-{uuid.uuid4().hex[:8]}"
    mp_dir = tmp_path / "metrics"
    env = {
        **os.environ,
        "PREFECT_API_URL": prefect_api,
        "DORA_LOG_FORMAT": "json",
        "PREFECT_LOGGING_LEVEL": "DEBUG",  # the worker's poll loop logs at DEBUG
    }
    env.pop("PREFECT_LOGGING_SETTINGS_PATH", None)
    proc = subprocess.Popen(
        [
            DORA,
            "worker",
            "--pool",
            pool,
            "--type",
            "process",
            "--metrics-port",
            str(port),
            "--poll-interval",
            "1",
            "--multiproc-dir",
            str(mp_dir),
        ],
        cwd=ROOT,
        env=env,
        stdout=(tmp_path / "worker.out").open("w"),
        stderr=(tmp_path / "worker.err").open("w"),
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    info: dict[str, Any] = {
        "proc": proc,
        "base": base,
        "pool": pool,
        "mp_dir": mp_dir,
        "err": tmp_path / "worker.err",
    }
    try:
        _wait(lambda: _get(f"{base}/ready")[0] == 200, proc, "worker /ready")
        yield info
    finally:
        if proc.poll() is None:
            _stop(proc)


def test_dora_worker_answers_probes_and_metrics_then_stops_on_sigterm(
    worker: dict[str, Any], prefect_api: str
) -> None:
    base, pool, proc = worker["base"], worker["pool"], worker["proc"]
    status, body = _get(f"{base}/health")
    assert status == 200 and json.loads(body) == {"status": "ok"}
    assert json.loads(_get(f"{base}/ready")[1]) == {"status": "ready"}

    def polled() -> bool:
        text = _get(f"{base}/metrics")[1]
        return f'dora_flow_runs{{pool="{pool}",state="COMPLETED"}} 0.0' in text

    _wait(polled, proc, "run-state gauges in /metrics")
    text = _get(f"{base}/metrics")[1]
    assert f'dora_worker_up{{pool="{pool}"}} 1.0' in text
    assert "dora_flow_runs_poll_errors_total 0.0" in text

    # the Prefect worker child created the process pool on the API
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    async def read() -> Any:
        async with get_client() as client:
            return await client.read_work_pool(pool)

    def pool_created() -> bool:
        try:
            return bool(asyncio.run(read()).type == "process")
        except ObjectNotFound:
            return False

    _wait(pool_created, proc, "the worker created its process pool")

    # a flow run of a process pool is a child with PROMETHEUS_MULTIPROC_DIR: its samples
    # show up in the worker's /metrics
    code = (
        "from dora import metrics; metrics.observe_task('t1', 'gap_assessment', 'COMPLETED', 1.5)"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(worker["mp_dir"])}
    subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=True, timeout=60)
    text = _get(f"{base}/metrics")[1]
    assert (
        'dora_task_duration_seconds_count{agent="gap_assessment",state="COMPLETED",task_id="t1"} 1.0'
        in text
    )

    code, _out, _err = _stop(proc)
    err = Path(worker["err"]).read_text()
    assert code in (0, 130, 143, -signal.SIGTERM), err[-3000:]
    # DORA_LOG_FORMAT=json: the Prefect worker's own log lines are JSON objects
    records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert any(r["logger"].startswith("prefect.workers") for r in records), err[-3000:]
    assert all({"ts", "level", "message", "run_id", "correlation_id"} <= set(r) for r in records)


def test_dora_worker_without_api_is_alive_but_not_ready(tmp_path: Path) -> None:
    """API unreachable: the Prefect worker keeps retrying (alive), but the pod must not
    count as ready: /health 200, /ready 503 naming the cause."""
    port = free_port()
    env = {**os.environ, "PREFECT_API_URL": f"http://127.0.0.1:{free_port()}/api"}
    proc = subprocess.Popen(
        [DORA, "worker", "--pool", "nowhere", "--type", "process", "--metrics-port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=(tmp_path / "out").open("w"),
        stderr=(tmp_path / "err").open("w"),
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: _get(f"{base}/health")[0] == 200, proc, "worker /health")
        status, body = _get(f"{base}/ready")
        assert status == 503
        assert json.loads(body) == {"status": "unavailable", "detail": "Prefect API unreachable"}
        assert 'dora_worker_up{pool="nowhere"} 1.0' in _get(f"{base}/metrics")[1]
    finally:
        _stop(proc)


def test_kubernetes_worker_creates_its_pool_from_the_one_template_file(
    prefect_api: str, tmp_path: Path
) -> None:
    """The worker container's command (k8s/base/worker/deployment.yaml) without a cluster:
    the pool is created from k8s/work-pool/base-job-template.json, the Prefect kubernetes
    worker runs (its observer logs that it has no cluster credentials) and the probes
    answer."""
    from prefect import get_client

    from flows.k8s_pool import load_template

    port = free_port()
    pool = f"dora-k8s-{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "PREFECT_API_URL": prefect_api, "DORA_LOG_FORMAT": "json"}
    cmd = [DORA, "worker", "--pool", pool, "--type", "kubernetes"]
    cmd += ["--base-job-template", str(TEMPLATE), "--metrics-port", str(port)]
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=(tmp_path / "out").open("w"),
        stderr=(tmp_path / "err").open("w"),
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: _get(f"{base}/ready")[0] == 200, proc, "kubernetes worker /ready")
        assert f'dora_worker_up{{pool="{pool}"}} 1.0' in _get(f"{base}/metrics")[1]
    finally:
        _stop(proc)
    assert f"work pool {pool}: created" in (tmp_path / "err").read_text()

    async def read() -> Any:
        async with get_client() as client:
            return await client.read_work_pool(pool)

    created = asyncio.run(read())
    assert created.type == "kubernetes"
    assert created.base_job_template == load_template(TEMPLATE)

    from dora.worker_cli import ensure_pool_from_file

    assert ensure_pool_from_file(pool, TEMPLATE) == "unchanged"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--type", "process", "--base-job-template", str(TEMPLATE)], "needs --type kubernetes"),
        (["--base-job-template", "/nonexistent/template.json"], "is not a file"),
    ],
)
def test_worker_usage_errors_exit_2(args: list[str], message: str) -> None:
    from typer.testing import CliRunner

    from dora.worker_cli import worker_app

    result = CliRunner().invoke(worker_app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_dora_webhook_serve_answers_probes_and_metrics(prefect_api: str) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PREFECT_API_URL": prefect_api,
        "DORA_WEBHOOK_SECRET": "whsec-worker-cli-test",
        "DORA_LOG_FORMAT": "json",
    }
    proc = subprocess.Popen(
        [DORA, "webhook", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: _get(f"{base}/health")[0] == 200, proc, "webhook /health")
        status, body = _get(f"{base}/ready")
        assert status == 200 and json.loads(body) == {"status": "ready"}
        import httpx

        from dora.webhook.signing import signed_headers

        payload = json.dumps({"policy_id": "P-ops", "documents": ["x.md"]}).encode()
        headers = signed_headers("whsec-worker-cli-test", payload, delivery_id="ops-probe-1")
        res = httpx.post(f"{base}/hooks/policy-updated", content=payload, headers=headers)
        assert res.status_code == 202, res.text
        status, text = _get(f"{base}/metrics")
        assert status == 200
        assert 'dora_webhook_requests_total{status="202"} 1.0' in text
    finally:
        _code, _out, err = _stop(proc)
    records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    accepted = [r for r in records if "accepted" in r["message"]]
    assert accepted and accepted[0]["correlation_id"] == "ops-probe-1", err[-2000:]
    assert "whsec-worker-cli-test" not in err


def test_a_stop_the_worker_child_does_not_act_on_is_escalated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A child that lets the first SIGTERM pass (as ``prefect worker start`` sometimes
    does) gets a second one after the grace period; the wrapper reports 143. A child that
    exits by itself gives its own exit code."""
    from dora import worker_cli

    monkeypatch.setattr(worker_cli, "STOP_GRACE_SECONDS", 0.5)
    stubborn = (
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, lambda *a: signal.signal(signal.SIGTERM, signal.SIG_DFL))\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", stubborn], stdout=subprocess.PIPE)
    assert child.stdout is not None and child.stdout.readline().strip() == b"ready"
    child.send_signal(signal.SIGTERM)
    assert worker_cli._wait_for_child(child, [time.monotonic()]) == 143
    assert child.returncode == -signal.SIGTERM  # it took the second SIGTERM

    done = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    assert worker_cli._wait_for_child(done, []) == 3
