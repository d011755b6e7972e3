"""dora.metrics (recording functions, multiprocess aggregation, run-state poller), the
webhook receiver's /metrics, and dora.logs (JSON lines with run and correlation ids)."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from prometheus_client import REGISTRY, CollectorRegistry
from pydantic import SecretStr
from starlette.testclient import TestClient

from dora import metrics
from dora.logs import JsonFormatter, correlation, prefect_logging_config
from tests.services import free_port

ROOT = Path(__file__).resolve().parent.parent


def _value(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


def test_recording_functions_move_their_series() -> None:
    before_run = _value("dora_flow_runs_finished_total", {"state": "COMPLETED"})
    metrics.count_run("Completed")
    metrics.count_run("COMPLETED")
    assert _value("dora_flow_runs_finished_total", {"state": "COMPLETED"}) == before_run + 2

    labels = {"task_id": "gap_analysis", "agent": "gap_assessment", "state": "FAILED"}
    n = _value("dora_task_duration_seconds_count", labels)
    total = _value("dora_task_duration_seconds_sum", labels)
    metrics.observe_task("gap_analysis", "gap_assessment", "failed", 2.5)
    assert _value("dora_task_duration_seconds_count", labels) == n + 1
    assert _value("dora_task_duration_seconds_sum", labels) == pytest.approx(total + 2.5)
    le5 = {**labels, "le": "5.0"}
    assert _value("dora_task_duration_seconds_bucket", le5) >= n + 1

    err = {"agent": "policy_analyzer", "error_type": "TimeoutError"}
    e = _value("dora_agent_errors_total", err)
    metrics.count_agent_error("policy_analyzer", "TimeoutError")
    assert _value("dora_agent_errors_total", err) == e + 1

    metrics.set_outbox_lag(12.5)
    assert _value("dora_outbox_lag_seconds") == 12.5
    metrics.set_outbox_lag(0)
    assert _value("dora_outbox_lag_seconds") == 0

    text = metrics.render()[0].decode()
    assert "# TYPE dora_task_duration_seconds histogram" in text
    assert 'dora_agent_errors_total{agent="policy_analyzer",error_type="TimeoutError"}' in text


@pytest.mark.parametrize(
    "call",
    [
        lambda: metrics.observe_task("t", "a", "COMPLETED", -1),
        lambda: metrics.set_outbox_lag(-0.5),
        lambda: metrics.count_run(" "),
    ],
)
def test_bad_values_are_refused(call: object) -> None:
    with pytest.raises(ValueError):
        call()  # type: ignore[operator]


def test_child_process_samples_are_aggregated(tmp_path: Path) -> None:
    """What a flow run on a process pool does: record in a child with
    PROMETHEUS_MULTIPROC_DIR set; the parent's exposition includes it."""
    code = (
        "from dora import metrics\n"
        "metrics.observe_task('risk_assessment', 'risk_calculator', 'COMPLETED', 0.3)\n"
        "metrics.count_run('COMPLETED')\n"
        "metrics.set_outbox_lag(4)\n"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=True, timeout=60)
    text = metrics.render(CollectorRegistry(), str(tmp_path))[0].decode()
    assert (
        'dora_task_duration_seconds_count{agent="risk_calculator",state="COMPLETED",'
        'task_id="risk_assessment"} 2.0'
    ) in text
    assert 'dora_flow_runs_finished_total{state="COMPLETED"} 2.0' in text
    assert "dora_outbox_lag_seconds 4.0" in text or "dora_outbox_lag_seconds{" in text


def test_push_without_gateway_or_unreachable_gateway_never_raises(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(metrics.PUSHGATEWAY_ENV, raising=False)
    assert metrics.push_run_metrics("dora-flow-run") is False
    monkeypatch.setenv(metrics.PUSHGATEWAY_ENV, f"http://127.0.0.1:{free_port()}")
    assert metrics.push_run_metrics("dora-flow-run", {"flow_run_id": "x"}) is False


def test_run_state_poller_reads_the_prefect_api(prefect_api: str) -> None:
    registry = CollectorRegistry()
    poller = metrics.RunStatePoller(prefect_api, "no-such-pool", registry, interval_s=60)
    assert poller.poll_once() is True
    assert poller.last_ok is not None
    for state in metrics.STATE_TYPES:
        value = registry.get_sample_value(
            "dora_flow_runs", {"pool": "no-such-pool", "state": state}
        )
        assert value == 0.0, state

    down = metrics.RunStatePoller(
        f"http://127.0.0.1:{free_port()}/api", "p", CollectorRegistry(), timeout_s=1
    )
    assert down.poll_once() is False
    assert down.errors._value.get() == 1
    assert down.last_ok is None


def test_http_endpoint_serves_metrics_and_probes() -> None:
    state = {"ready": False}
    extra = CollectorRegistry()
    from prometheus_client import Gauge

    Gauge("dora_test_extra", "x", registry=extra).set(7)
    server = metrics.serve_http(
        "127.0.0.1",
        0,
        ready=lambda: (state["ready"], "" if state["ready"] else "not yet"),
        registries=[extra],
    )
    port = server.server_address[1]
    base = f"http://127.0.0.1:{port}"
    try:
        with urllib.request.urlopen(f"{base}/health", timeout=5) as r:
            assert r.status == 200 and json.loads(r.read()) == {"status": "ok"}
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{base}/ready", timeout=5)
        assert err.value.code == 503
        assert json.loads(err.value.read())["detail"] == "not yet"
        state["ready"] = True
        with urllib.request.urlopen(f"{base}/ready", timeout=5) as r:
            assert r.status == 200
        with urllib.request.urlopen(f"{base}/metrics", timeout=5) as r:
            assert r.headers["Content-Type"].startswith("text/plain")
            text = r.read().decode()
        assert "dora_test_extra 7.0" in text and "dora_outbox_lag_seconds" in text
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{base}/nope", timeout=5)
        assert err.value.code == 404
    finally:
        server.shutdown()


def test_webhook_counts_requests_by_status_and_serves_metrics() -> None:
    import httpx

    from dora.webhook.app import create_app
    from dora.webhook.settings import WebhookSettings
    from dora.webhook.signing import signed_headers

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(204 if request.url.path == "/api/events" else 200, json=True)

    secret = "whsec-metrics-test"
    settings = WebhookSettings(secret=SecretStr(secret), prefect_api_url="http://prefect.test/api")
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    body = json.dumps({"policy_id": "P-9", "documents": ["a.md"]}).encode()
    accepted = _value("dora_webhook_requests_total", {"status": "202"})
    refused = _value("dora_webhook_requests_total", {"status": "401"})
    with TestClient(create_app(settings, http_client=http)) as client:
        headers = signed_headers(secret, body, delivery_id="metrics-1")
        assert (
            client.post("/hooks/policy-updated", content=body, headers=headers).status_code == 202
        )
        bad = {**signed_headers("wrong", body, delivery_id="metrics-2")}
        assert client.post("/hooks/policy-updated", content=body, headers=bad).status_code == 401
        res = client.get("/metrics")
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/plain")
    assert 'dora_webhook_requests_total{status="202"}' in res.text
    assert "dora_webhook_request_duration_seconds_bucket" in res.text
    assert secret not in res.text
    assert _value("dora_webhook_requests_total", {"status": "202"}) == accepted + 1
    assert _value("dora_webhook_requests_total", {"status": "401"}) == refused + 1


# ---------------------------------------------------------------- logs
def _format(record_logger: logging.Logger, fn: object) -> list[dict[str, object]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    record_logger.addHandler(handler)
    record_logger.setLevel(logging.INFO)
    try:
        fn()  # type: ignore[operator]
    finally:
        record_logger.removeHandler(handler)
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_formatter_has_correlation_extras_and_exceptions() -> None:
    log = logging.getLogger("dora.test.json")

    def emit() -> None:
        with correlation("delivery-42"):
            log.info("accepted %s", "P-1", extra={"policy_id": "P-1", "count": 3})
        log.warning("no correlation", extra={"correlation_id": "evt-7"})
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            log.exception("failed")

    first, second, third = _format(log, emit)
    assert first["message"] == "accepted P-1"
    assert first["correlation_id"] == "delivery-42"
    assert first["policy_id"] == "P-1" and first["count"] == 3
    assert first["level"] == "INFO" and first["logger"] == "dora.test.json"
    assert first["run_id"] is None
    assert str(first["ts"]).endswith("+00:00")
    assert second["correlation_id"] == "evt-7"
    assert third["correlation_id"] is None
    assert "RuntimeError: boom" in str(third["exception"])


def test_json_formatter_takes_the_run_id_from_the_prefect_run(prefect_api: str) -> None:
    from prefect import flow
    from prefect.runtime import flow_run

    log = logging.getLogger("dora.test.inflow")
    seen: dict[str, str] = {}

    @flow(name="dora-logs-run-id")
    def run() -> None:
        seen["id"] = flow_run.get_id() or ""
        with correlation("corr-1"):
            log.info("inside the run")

    (line,) = _format(log, run)
    assert seen["id"]
    assert line["run_id"] == seen["id"]
    assert line["correlation_id"] == "corr-1"


def test_prefect_logging_config_makes_flow_run_logs_json(tmp_path: Path, prefect_api: str) -> None:
    """A flow run in a fresh process with PREFECT_LOGGING_SETTINGS_PATH from
    prefect_logging_config: its Prefect log lines on stderr are JSON with the run id."""
    config = prefect_logging_config(tmp_path / "logging.yml")
    code = (
        "from prefect import flow, get_run_logger\n"
        "from prefect.runtime import flow_run\n"
        "@flow(name='dora-json-logs')\n"
        "def f():\n"
        "    get_run_logger().info('hello from %s', flow_run.get_id())\n"
        "f()\n"
    )
    env = {
        **os.environ,
        "PREFECT_API_URL": prefect_api,
        "PREFECT_LOGGING_SETTINGS_PATH": str(config),
        "PREFECT_LOGGING_LEVEL": "INFO",
    }
    res = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr[-3000:]
    lines = [json.loads(line) for line in res.stderr.splitlines() if line.startswith("{")]
    hello = [rec for rec in lines if str(rec["message"]).startswith("hello from ")]
    assert hello, res.stderr[-3000:]
    run_id = str(hello[0]["message"]).removeprefix("hello from ")
    assert hello[0]["run_id"] == run_id
    assert hello[0]["logger"] == "prefect.flow_runs"
    assert all(rec["level"] for rec in lines)
