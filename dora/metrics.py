"""Prometheus metrics of the engine, and the functions the engine calls to record them.

Why a module of plain functions: the flow engine (``flows/``, ``tasks/``), the event outbox
and the webhook receiver each record a few numbers, and none of them should know about
registries, label order or multiprocess mode. They call:

* :func:`count_run` ``(state)`` when a flow run reaches a final state;
* :func:`observe_task` ``(task_id, agent, state, seconds)`` when a task run ends;
* :func:`count_agent_error` ``(agent, error_type)`` when an agent raises;
* :func:`set_outbox_lag` ``(seconds)``: age of the oldest event not yet published to Kafka;
* :func:`observe_webhook_request` ``(status, seconds)``: one call per webhook request.

Where the numbers are scraped:

* the webhook receiver serves ``/metrics`` itself (one process);
* ``dora worker`` serves ``/metrics`` on its metrics port. It sets
  ``PROMETHEUS_MULTIPROC_DIR`` for the Prefect worker it starts, so flow runs of a
  *process* pool (child processes) write their samples to files the worker aggregates
  (prometheus_client's multiprocess mode). Flow runs on the *kubernetes* pool are pods of
  their own and short-lived: they push once at the end with :func:`push_run_metrics` when
  ``DORA_METRICS_PUSHGATEWAY`` is set. Runs by state are also read from the Prefect API by
  the worker (:class:`RunStatePoller`), which is the number to alert on: it survives
  restarts and counts runs that crashed before they could record anything.

Label values are bounded: states are Prefect state types, agents are registry names,
error types are exception class names, and task ids come from definitions (not from
user input), so cardinality stays small.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    push_to_gateway,
)

logger = logging.getLogger("dora.metrics")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
PUSHGATEWAY_ENV = "DORA_METRICS_PUSHGATEWAY"

#: Prefect state types (``StateType``), the label values of run counts
STATE_TYPES = (
    "SCHEDULED",
    "PENDING",
    "RUNNING",
    "PAUSED",
    "CANCELLING",
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "CRASHED",
)
#: task durations span sub-second deterministic agents to long LLM calls
TASK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
WEBHOOK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

RUNS = Counter(
    "dora_flow_runs_finished",
    "Flow runs that reached a final state, by state type (recorded by the run itself).",
    ["state"],
)
TASK_DURATION = Histogram(
    "dora_task_duration_seconds",
    "Duration of task runs by task id, agent and final state.",
    ["task_id", "agent", "state"],
    buckets=TASK_BUCKETS,
)
AGENT_ERRORS = Counter(
    "dora_agent_errors",
    "Errors raised by agents, by agent and exception type.",
    ["agent", "error_type"],
)
OUTBOX_LAG = Gauge(
    "dora_outbox_lag_seconds",
    "Age of the oldest audit event not yet published to Kafka (0 when the outbox is empty).",
    multiprocess_mode="livemax",
)
WEBHOOK_REQUESTS = Counter(
    "dora_webhook_requests",
    "Webhook requests by HTTP status code.",
    ["status"],
)
WEBHOOK_LATENCY = Histogram(
    "dora_webhook_request_duration_seconds",
    "Time to answer a webhook request (includes posting the event to Prefect).",
    buckets=WEBHOOK_BUCKETS,
)


def _state(state: str) -> str:
    """Prefect state type of ``state`` ("Completed", "COMPLETED", StateType.COMPLETED)."""
    value = str(getattr(state, "value", state)).strip().upper()
    if not value:
        raise ValueError("state must not be empty")
    return value


def count_run(state: str) -> None:
    """A flow run reached final ``state`` (a Prefect state type or name)."""
    RUNS.labels(state=_state(state)).inc()


def observe_task(task_id: str, agent: str, state: str, seconds: float) -> None:
    """A task run of ``agent`` for definition task ``task_id`` ended in ``state``."""
    if seconds < 0:
        raise ValueError(f"task duration must be >= 0, got {seconds}")
    TASK_DURATION.labels(task_id=task_id, agent=agent, state=_state(state)).observe(seconds)


def count_agent_error(agent: str, error_type: str) -> None:
    """An agent raised ``error_type`` (pass ``type(exc).__name__``, never the message)."""
    AGENT_ERRORS.labels(agent=agent, error_type=error_type).inc()


def set_outbox_lag(seconds: float) -> None:
    """Hook for the event outbox: age in seconds of its oldest unpublished event."""
    if seconds < 0:
        raise ValueError(f"outbox lag must be >= 0, got {seconds}")
    OUTBOX_LAG.set(seconds)


def observe_webhook_request(status: int, seconds: float) -> None:
    WEBHOOK_REQUESTS.labels(status=str(status)).inc()
    WEBHOOK_LATENCY.observe(max(seconds, 0.0))


# ---------------------------------------------------------------- exposition
def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def render(
    registry: CollectorRegistry | None = None, multiproc_dir: str | None = None
) -> tuple[bytes, str]:
    """The text exposition of ``registry`` (default: this process's metrics), plus the
    samples child processes wrote to ``multiproc_dir`` (prometheus multiprocess mode)."""
    from prometheus_client import REGISTRY

    output = generate_latest(registry or REGISTRY)
    if multiproc_dir:
        from prometheus_client.multiprocess import MultiProcessCollector

        children = CollectorRegistry()
        MultiProcessCollector(children, path=multiproc_dir)
        output += generate_latest(children)
    return output, CONTENT_TYPE_LATEST


def push_run_metrics(job: str, grouping_key: dict[str, str] | None = None) -> bool:
    """Push this process's metrics to the Pushgateway in ``$DORA_METRICS_PUSHGATEWAY``.

    For flow runs in Kubernetes Job pods, which end before Prometheus would scrape them.
    Returns False (and logs) when no gateway is configured or it cannot be reached: losing
    a run's metrics must never fail the run.
    """
    from prometheus_client import REGISTRY

    gateway = os.environ.get(PUSHGATEWAY_ENV)
    if not gateway:
        return False
    try:
        push_to_gateway(gateway, job=job, registry=REGISTRY, grouping_key=grouping_key or {})
    except OSError as exc:
        logger.warning("metrics push to the Pushgateway failed: %s", type(exc).__name__)
        return False
    return True


# ---------------------------------------------------------------- runs by state, from the API
class RunStatePoller:
    """Keeps ``dora_flow_runs{state=...}`` (a gauge in ``registry``) equal to the number of
    flow runs of a work pool in each state type, as the Prefect API counts them.

    Polled in a daemon thread every ``interval_s``; ``last_ok`` tells readiness whether the
    API answered recently. Plain HTTP (``POST /flow_runs/count``, nine small calls) rather
    than Prefect's client, whose retries with backoff would hold a poll for many seconds
    when the API is down. Limitation: with the server's CSRF protection enabled
    (``PREFECT_SERVER_API_CSRF_PROTECTION_ENABLED``, off by default and in our Helm values)
    these POSTs are refused and the poll-error counter rises.
    """

    def __init__(
        self,
        api_url: str,
        pool: str,
        registry: CollectorRegistry,
        *,
        interval_s: float = 15.0,
        headers: dict[str, str] | None = None,
        timeout_s: float = 5.0,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.pool = pool
        self.interval_s = interval_s
        self.headers = dict(headers or {})
        self.timeout_s = timeout_s
        self.gauge = Gauge(
            "dora_flow_runs",
            "Flow runs of the worker's pool by Prefect state type (from the Prefect API).",
            ["pool", "state"],
            registry=registry,
        )
        self.errors = Counter(
            "dora_flow_runs_poll_errors",
            "Failed polls of the Prefect API for run counts.",
            registry=registry,
        )
        self.last_ok: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _count(self, state_type: str) -> int:
        body = json.dumps(
            {
                "flow_runs": {"state": {"type": {"any_": [state_type]}}},
                "work_pools": {"name": {"any_": [self.pool]}},
            }
        ).encode()
        req = urllib.request.Request(
            f"{self.api_url}/flow_runs/count",
            data=body,
            headers={"Content-Type": "application/json", **self.headers},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=self.timeout_s) as res:
            return int(json.loads(res.read()))

    def poll_once(self) -> bool:
        try:
            counts = {s: self._count(s) for s in STATE_TYPES}
        except (urllib.error.URLError, OSError, ValueError) as exc:
            self.errors.inc()
            logger.warning("run-state poll failed: %s", type(exc).__name__)
            return False
        for state, n in counts.items():
            self.gauge.labels(pool=self.pool, state=state).set(n)
        self.last_ok = time.monotonic()
        return True

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.poll_once()
            self._stop.wait(self.interval_s)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="run-state-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout_s + 1)


# ---------------------------------------------------------------- a tiny HTTP endpoint
Check = Callable[[], tuple[bool, str]]


def serve_http(
    host: str,
    port: int,
    *,
    ready: Check,
    live: Check | None = None,
    registries: Iterable[CollectorRegistry] = (),
    multiproc_dir: str | None = None,
) -> Any:
    """Serve ``/metrics``, ``/health`` (liveness) and ``/ready`` in a daemon thread.

    A ``ThreadingHTTPServer`` rather than an ASGI app: the worker has no event loop of its
    own to share, and probes must answer even while the main thread waits on a child.
    Returns the server (``shutdown()`` stops it; ``server_address`` has the bound port).
    """
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    extra = list(registries)

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _probe(self, check: Check, ok_word: str) -> None:
            ok, detail = check()
            payload = {"status": ok_word if ok else "unavailable"}
            if detail:
                payload["detail"] = detail
            self._send(200 if ok else 503, json.dumps(payload).encode(), "application/json")

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                body, ctype = render(None, multiproc_dir)
                for reg in extra:
                    body += generate_latest(reg)
                self._send(200, body, ctype)
            elif path == "/health":
                self._probe(live or (lambda: (True, "")), "ok")
            elif path == "/ready":
                self._probe(ready, "ready")
            else:
                self._send(404, b'{"error": "not_found"}', "application/json")

        def log_message(self, format: str, *args: Any) -> None:
            """Probes every few seconds would drown the log: stay quiet."""

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    return server
