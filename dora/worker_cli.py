"""``dora worker``: a Prefect worker for one pool, with /metrics, /health and /ready.

The container's worker entrypoint (``k8s/base/worker``). It

1. optionally creates or updates the work pool with a base job template file
   (``--base-job-template``; in Kubernetes the ConfigMap generated from
   ``k8s/work-pool/base-job-template.json``, the one copy of the template);
2. serves ``/metrics``, ``/health`` and ``/ready`` on ``--metrics-port`` from a thread;
3. runs ``prefect worker start --pool ... --type ...`` as a child process and exits with
   its exit code, forwarding SIGTERM/SIGINT so Kubernetes' graceful stop reaches it.

Why a child process and not the worker in-process: ``prefect worker start`` is the
supported entrypoint (type lookup, heartbeats, observer for Kubernetes), and the child
gets ``PROMETHEUS_MULTIPROC_DIR`` so flow runs it spawns on a process pool write their
samples where this process aggregates them (:mod:`dora.metrics`).

Probes: ``/health`` is 200 while the worker child runs; ``/ready`` is 200 when the worker
child runs and the Prefect API answered the last run-state poll (or ``/health`` now).

Mount in ``dora/cli/main.py`` with::

    from dora.worker_cli import worker_app
    app.add_typer(worker_app, name="worker")
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Annotated, Any

import typer

worker_app = typer.Typer(
    name="worker",
    help="Run a Prefect worker for a pool with a Prometheus /metrics and /health endpoint.",
    invoke_without_command=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_USAGE = 2


def _prefect_bin() -> str:
    cand = Path(sys.executable).parent / "prefect"
    return str(cand) if cand.exists() else "prefect"


def _api_url() -> str | None:
    url = os.environ.get("PREFECT_API_URL")
    if url:
        return url.rstrip("/")
    from prefect.settings import PREFECT_API_URL

    value = PREFECT_API_URL.value()
    return str(value).rstrip("/") if value else None


def _api_headers() -> dict[str, str]:
    from dora.webhook.app import _prefect_headers

    return _prefect_headers()


def _api_healthy(api_url: str, headers: dict[str, str], timeout: float = 3.0) -> bool:
    req = urllib.request.Request(f"{api_url}/health", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            return bool(res.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def ensure_pool_from_file(pool: str, template_file: Path) -> str:
    """Create/update ``pool`` (type kubernetes) with the template in ``template_file``."""
    from flows.k8s_pool import ensure_pool, load_template

    return ensure_pool(pool, load_template(template_file))


@worker_app.callback()
def worker(
    pool: Annotated[str, typer.Option("--pool", "-p", help="Work pool name.")] = "dora-k8s",
    worker_type: Annotated[
        str, typer.Option("--type", help="Worker type: kubernetes or process.")
    ] = "kubernetes",
    base_job_template: Annotated[
        Path | None,
        typer.Option(
            help="Create/update the (kubernetes) pool with this base job template first.",
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Interface of the metrics endpoint.")] = "127.0.0.1",
    metrics_port: Annotated[int, typer.Option(help="Port of /metrics, /health, /ready.")] = 9090,
    poll_interval: Annotated[
        float, typer.Option(help="Seconds between run-state polls of the Prefect API.")
    ] = 15.0,
    multiproc_dir: Annotated[
        Path | None,
        typer.Option(help="PROMETHEUS_MULTIPROC_DIR for flow runs (default: a temp dir)."),
    ] = None,
    worker_name: Annotated[
        str | None, typer.Option("--name", help="Worker name (default: Prefect's).")
    ] = None,
) -> None:
    """Start a Prefect worker for POOL and serve its metrics and probes."""
    # this process must not be in multiprocess mode itself (its gauges would be written to
    # files and then exported twice): take the inherited directory for the child only
    inherited = os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)

    from prometheus_client import CollectorRegistry, Gauge

    from dora import metrics
    from dora.logs import configure_logging, json_enabled, prefect_logging_config

    configure_logging()
    if base_job_template is not None and not base_job_template.is_file():
        typer.echo(f"error: base job template {base_job_template} is not a file", err=True)
        raise typer.Exit(EXIT_USAGE)
    if worker_type == "kubernetes" and base_job_template is not None:
        try:
            outcome = ensure_pool_from_file(pool, base_job_template)
        except Exception as exc:  # API down, bad template: say so, exit non-zero
            typer.echo(f"error: could not ensure work pool {pool}: {exc}", err=True)
            raise typer.Exit(1) from None
        typer.echo(f"work pool {pool}: {outcome}", err=True)
    elif base_job_template is not None:
        typer.echo("error: --base-job-template needs --type kubernetes", err=True)
        raise typer.Exit(EXIT_USAGE)

    api_url = _api_url()
    if not api_url:
        typer.echo("error: set PREFECT_API_URL", err=True)
        raise typer.Exit(EXIT_USAGE)
    headers = _api_headers()

    mp_dir = Path(
        multiproc_dir or inherited or tempfile.mkdtemp(prefix="dora-worker-metrics-")
    ).resolve()
    mp_dir.mkdir(parents=True, exist_ok=True)
    for stale in mp_dir.glob("*.db"):  # samples of a previous worker's children
        stale.unlink()

    registry = CollectorRegistry()
    up = Gauge(
        "dora_worker_up", "1 while the Prefect worker child runs.", ["pool"], registry=registry
    )
    poller = metrics.RunStatePoller(
        api_url, pool, registry, interval_s=poll_interval, headers=headers
    )

    env = dict(os.environ)
    env["PROMETHEUS_MULTIPROC_DIR"] = str(mp_dir)
    if json_enabled() and "PREFECT_LOGGING_SETTINGS_PATH" not in env:
        env["PREFECT_LOGGING_SETTINGS_PATH"] = str(
            prefect_logging_config(mp_dir.parent / f"{mp_dir.name}-logging.yml")
        )
    cmd = [_prefect_bin(), "worker", "start", "--pool", pool, "--type", worker_type]
    if worker_name:
        cmd += ["--name", worker_name]
    # own session: a signal to our process group (Ctrl-C, `timeout`) reaches the child only
    # through forward(), once; Prefect escalates a second SIGTERM to SIGKILL
    child = subprocess.Popen(cmd, env=env, start_new_session=True)
    up.labels(pool=pool).set(1)

    def live() -> tuple[bool, str]:
        code = child.poll()
        return (code is None, "" if code is None else f"worker exited with {code}")

    def ready() -> tuple[bool, str]:
        ok, detail = live()
        if not ok:
            return ok, detail
        recent = poller.last_ok is not None and (
            time.monotonic() - poller.last_ok < 3 * poll_interval
        )
        if recent or _api_healthy(api_url, headers):
            return True, ""
        return False, "Prefect API unreachable"

    server = metrics.serve_http(
        host,
        metrics_port,
        ready=ready,
        live=live,
        registries=[registry],
        multiproc_dir=str(mp_dir),
    )
    poller.start()
    typer.echo(
        f"worker for pool {pool} (pid {child.pid}); metrics on "
        f"http://{host}:{server.server_address[1]}/metrics",
        err=True,
    )

    stop_requested: list[float] = []

    def forward(signum: int, frame: Any) -> None:
        if child.poll() is None:
            child.send_signal(signum)
            stop_requested.append(time.monotonic())

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    try:
        code = _wait_for_child(child, stop_requested)
    finally:
        up.labels(pool=pool).set(0)
        poller.stop()
        server.shutdown()
    raise typer.Exit(code)


#: seconds the worker child gets to stop after a forwarded SIGTERM/SIGINT before it is sent
#: a second SIGTERM, under Kubernetes' default 30 s termination grace period
STOP_GRACE_SECONDS = 20.0


def _wait_for_child(child: subprocess.Popen[bytes], stop_requested: list[float]) -> int:
    """The child's exit code, escalating a stop that did not take.

    ``prefect worker start`` turns a first SIGTERM into a SIGINT to itself (a
    KeyboardInterrupt in its event loop) and a second into SIGKILL. The interrupt is
    sometimes lost and the worker keeps polling; the pod would then wait for the kubelet's
    SIGKILL. After ``STOP_GRACE_SECONDS`` the second SIGTERM makes the stop certain, and
    the wrapper reports what was asked of it: terminated by SIGTERM (143).
    """
    escalated = False
    while True:
        try:
            code = child.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            if (
                stop_requested
                and not escalated
                and time.monotonic() - stop_requested[0] > STOP_GRACE_SECONDS
            ):
                child.send_signal(signal.SIGTERM)
                escalated = True
            continue
        return 128 + signal.SIGTERM if escalated else code
