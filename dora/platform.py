"""The local platform: a Prefect server, the work pool and worker, deployments and automations.

``deploy()`` works against any Prefect API (``PREFECT_API_URL``) and is idempotent: it
ensures the ``dora-local`` process work pool, runs ``prefect deploy --all`` on the
generated prefect.yaml, deletes deployments of our flows that prefect.yaml no longer has
(Prefect never does, issue #15332), registers the custom blocks and reconciles the
``dora:`` automations.

``up()`` starts ``prefect server start``, the worker and (when present) the webhook
receiver as background processes, each with a PID file and a log under
``<DORA_HOME>/platform/``; a second ``up()`` finds the running server (PID file + health)
and only repeats the idempotent registration. ``down()`` stops them (SIGTERM, then
SIGKILL) and removes the PID files.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dora.settings import PROJECT_ROOT, get_settings

POOL = "dora-local"
DEFAULT_PORT = 4200
DEFAULT_WEBHOOK_PORT = 8080
HOST = "127.0.0.1"
COMPONENTS = ("server", "worker", "webhook")
DB_URL_VARS = ("PREFECT_SERVER_DATABASE_CONNECTION_URL", "PREFECT_API_DATABASE_CONNECTION_URL")

Echo = Callable[[str], None]


def _print(msg: str) -> None:
    print(msg, flush=True)


def platform_dir(home: Path | None = None) -> Path:
    base = home if home is not None else get_settings().home
    return Path(base).resolve() / "platform"


def _bin(name: str) -> str:
    cand = Path(sys.executable).parent / name
    return str(cand) if cand.exists() else name


# ---------------------------------------------------------------- process bookkeeping
def _pid_file(d: Path, name: str) -> Path:
    return d / f"{name}.pid"


def read_pid(d: Path, name: str) -> int | None:
    try:
        return int(_pid_file(d, name).read_text().strip())
    except (OSError, ValueError):
        return None


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child still answers kill(0); treat it as gone
        status = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
        return status != "Z"
    except (OSError, IndexError):
        return True


def _state_file(d: Path) -> Path:
    return d / "platform.json"


def read_state(home: Path | None = None) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(_state_file(platform_dir(home)).read_text())
        return data
    except (OSError, ValueError):
        return {}


def api_url_for(port: int, host: str = HOST) -> str:
    return f"http://{host}:{port}/api"


def healthy(api_url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout) as r:
            return bool(r.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait_healthy(api_url: str, timeout: float = 180.0, pid: int | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if healthy(api_url):
            return
        if pid is not None and not alive(pid):
            raise RuntimeError(f"the Prefect server (pid {pid}) exited before becoming healthy")
        time.sleep(0.5)
    raise TimeoutError(f"{api_url}/health did not answer within {timeout:.0f} s")


def _spawn(d: Path, name: str, cmd: list[str], env: dict[str, str], cwd: Path) -> int:
    log = open(d / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child process
    try:
        proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,  # own process group: down() stops its children too
        )
    finally:
        log.close()
    _pid_file(d, name).write_text(f"{proc.pid}\n")
    return proc.pid


def stop_process(pid: int, timeout: float = 20.0) -> bool:
    """SIGTERM the process group, SIGKILL after ``timeout``; True when it is gone."""

    def _signal(sig: int) -> None:
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    _signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if not alive(pid):
            return True
        time.sleep(0.2)
    _signal(signal.SIGKILL)
    for _ in range(50):
        _reap(pid)
        if not alive(pid):
            return True
        time.sleep(0.1)
    return not alive(pid)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


# ---------------------------------------------------------------- deploy
@dataclass
class DeployResult:
    api_url: str
    deployments: list[str] = field(default_factory=list)
    removed_deployments: list[str] = field(default_factory=list)
    blocks: list[str] = field(default_factory=list)
    automations: dict[str, list[str]] = field(default_factory=dict)


def ensure_work_pool(name: str = POOL) -> bool:
    """Create the process work pool if missing; True when it was created."""
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(name)
            return False
        except ObjectNotFound:
            pass
        try:
            client.create_work_pool(WorkPoolCreate(name=name, type="process"))
        except ObjectAlreadyExists:
            return False
        return True


def ensure_k8s_work_pool(echo: Echo = _print) -> str:
    """The ``dora-k8s`` kubernetes pool with k8s/work-pool/base-job-template.json.

    Its ``-k8s`` deployments are deployed by ``python -m flows.k8s_pool deploy``, not by
    ``prefect deploy --all`` (see flows/deployments.py); no cluster is needed for the pool.
    """
    from flows import k8s_pool

    outcome = k8s_pool.ensure_pool()
    if outcome != "unchanged":
        echo(f"{outcome} work pool {k8s_pool.POOL} (kubernetes)")
    return outcome


def yaml_deployments(project_dir: Path) -> list[dict[str, Any]]:
    doc = yaml.safe_load((project_dir / "prefect.yaml").read_text(encoding="utf-8")) or {}
    deps: list[dict[str, Any]] = doc.get("deployments") or []
    return deps


def production_yaml_deployments(project_dir: Path) -> list[dict[str, Any]]:
    doc = yaml.safe_load((project_dir / "prefect.yaml").read_text(encoding="utf-8")) or {}
    deps: list[dict[str, Any]] = (doc.get("definitions") or {}).get("production_deployments") or []
    return deps


def _our_flow_names(project_dir: Path) -> set[str]:
    from dora.definition.loader import validate_paths

    good, _ = validate_paths([get_settings().definitions_dir])
    names = {d.workflow.id for d in good}
    for dep in yaml_deployments(project_dir):
        # entrypoint flows/catalog.py:<var>; the flow name is the workflow id
        var = str(dep.get("entrypoint", "")).rsplit(":", 1)[-1]
        names.add(var.replace("_", "-"))
    return names


def prune_deployments(project_dir: Path) -> list[str]:
    """Delete deployments of our flows (or tagged ``dora``) that prefect.yaml no longer lists."""
    from prefect import get_client

    keep = {d["name"] for d in yaml_deployments(project_dir)}
    keep |= {d["name"] for d in production_yaml_deployments(project_dir)}  # -k8s ones
    flows = _our_flow_names(project_dir)
    removed = []
    with get_client(sync_client=True) as client:
        flow_names = {f.id: f.name for f in client.read_flows()}
        for dep in client.read_deployments():
            flow_name = flow_names.get(dep.flow_id, "")
            ours = flow_name in flows or "dora" in (dep.tags or [])
            if ours and dep.name not in keep:
                client.delete_deployment(dep.id)
                removed.append(f"{flow_name}/{dep.name}")
    return removed


def run_prefect_deploy(project_dir: Path, api_url: str, echo: Echo = _print) -> None:
    env = {**os.environ, "PREFECT_API_URL": api_url}
    res = subprocess.run(
        [_bin("prefect"), "--no-prompt", "deploy", "--all"],
        capture_output=True,
        text=True,
        cwd=project_dir,
        env=env,
        timeout=600,
    )
    if res.returncode != 0:
        raise RuntimeError(
            "prefect deploy --all failed:\n" + res.stdout[-3000:] + "\n" + res.stderr[-3000:]
        )


def current_api_url() -> str:
    from prefect.settings import PREFECT_API_URL

    return str(PREFECT_API_URL.value() or "")


def deploy(project_dir: Path = PROJECT_ROOT, echo: Echo = _print) -> DeployResult:
    """Idempotently register everything with the Prefect API this process points at."""
    from blocks import register_blocks
    from dora.definition.loader import validate_paths
    from flows import automations

    api_url = current_api_url()
    if not api_url:
        raise RuntimeError("PREFECT_API_URL is not set (run `dora up` or point it at a server)")
    result = DeployResult(api_url=api_url)
    if ensure_work_pool():
        echo(f"created work pool {POOL} (process)")
    ensure_k8s_work_pool(echo)
    good, problems = validate_paths([get_settings().definitions_dir])
    if problems:
        raise RuntimeError("invalid definitions:\n" + "\n".join(map(str, problems)))
    run_prefect_deploy(project_dir, api_url, echo)
    result.deployments = [d["name"] for d in yaml_deployments(project_dir)]
    echo(f"deployed {len(result.deployments)}: {', '.join(result.deployments)}")
    result.removed_deployments = prune_deployments(project_dir)
    for name in result.removed_deployments:
        echo(f"removed stale deployment {name}")
    result.blocks = register_blocks()
    echo(f"registered block types: {', '.join(result.blocks)}")
    rec = automations.reconcile(good)
    result.automations = {
        "created": rec.created,
        "updated": rec.updated,
        "deleted": rec.deleted,
        "unchanged": rec.unchanged,
    }
    echo(
        f"automations: {len(rec.created)} created, {len(rec.updated)} updated, "
        f"{len(rec.deleted)} deleted, {len(rec.unchanged)} unchanged"
    )
    for line in automations.describe(good):
        echo(f"  {line}")
    return result


# ---------------------------------------------------------------- up / down / status
def _child_env(home: Path, api_url: str) -> dict[str, str]:
    d = platform_dir(home)
    env = dict(os.environ)
    env["PREFECT_API_URL"] = api_url
    env["PREFECT_HOME"] = str(d / "prefect-home")
    env["DORA_HOME"] = str(Path(home).resolve())
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    env.setdefault("PREFECT_WORKER_QUERY_SECONDS", "1")
    env.setdefault("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "30")  # see dora:crashed-run-detection
    if not any(env.get(v) for v in DB_URL_VARS):
        env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = f"sqlite+aiosqlite:///{d / 'prefect.db'}"
    return env


def _deploy_in_subprocess(env: dict[str, str], project_dir: Path, echo: Echo) -> None:
    """Run ``deploy`` in a fresh interpreter: Prefect reads PREFECT_API_URL at import."""
    res = subprocess.run(
        [sys.executable, "-m", "dora.platform_cli", "deploy", "--project-dir", str(project_dir)],
        capture_output=True,
        text=True,
        cwd=project_dir,
        env=env,
        timeout=900,
    )
    for line in res.stdout.splitlines():
        echo(line)
    if res.returncode != 0:
        raise RuntimeError("dora deploy failed:\n" + res.stdout[-2000:] + res.stderr[-3000:])


def webhook_available(project_dir: Path = PROJECT_ROOT) -> bool:
    return (project_dir / "dora" / "webhook" / "cli.py").exists()


def up(
    home: Path | None = None,
    port: int = DEFAULT_PORT,
    project_dir: Path = PROJECT_ROOT,
    echo: Echo = _print,
    health_timeout: float = 180.0,
    webhook_port: int = DEFAULT_WEBHOOK_PORT,
) -> dict[str, Any]:
    """Start (or find) the server, register everything, start worker and webhook receiver."""
    home = Path(home if home is not None else get_settings().home).resolve()
    d = platform_dir(home)
    d.mkdir(parents=True, exist_ok=True)
    state = read_state(home)
    server_pid = read_pid(d, "server")
    if alive(server_pid) and state.get("api_url") and not healthy(state["api_url"]):
        echo(f"server (pid {server_pid}) is starting; waiting for {state['api_url']}/health")
        try:
            wait_healthy(str(state["api_url"]), health_timeout, pid=server_pid)
        except (RuntimeError, TimeoutError) as exc:
            echo(f"{exc}; stopping it and starting a new server")
            stop_process(server_pid or 0)
    if alive(server_pid) and state.get("api_url") and healthy(state["api_url"]):
        api_url = str(state["api_url"])
        if state.get("port") != port:
            echo(f"server already running on port {state.get('port')}; using it")
        echo(f"server already running (pid {server_pid}) at {api_url}")
    else:
        api_url = api_url_for(port)
        if healthy(api_url):
            raise RuntimeError(f"another Prefect server already answers on {api_url}")
        env = _child_env(home, api_url)
        server_pid = _spawn(
            d,
            "server",
            [_bin("prefect"), "server", "start", "--host", HOST, "--port", str(port)],
            env,
            project_dir,
        )
        echo(f"started prefect server (pid {server_pid}) on {api_url}; log {d / 'server.log'}")
        wait_healthy(api_url, health_timeout, pid=server_pid)
        echo("server healthy")
    _state_file(d).write_text(
        json.dumps({"api_url": api_url, "port": int(api_url.rsplit(":", 1)[1].split("/")[0])})
    )
    env = _child_env(home, api_url)
    _deploy_in_subprocess(env, project_dir, echo)

    pids: dict[str, int | None] = {"server": server_pid}
    worker_pid = read_pid(d, "worker")
    if alive(worker_pid):
        echo(f"worker already running (pid {worker_pid})")
    else:
        worker_pid = _spawn(
            d,
            "worker",
            [_bin("prefect"), "worker", "start", "--pool", POOL, "--type", "process"],
            env,
            project_dir,
        )
        echo(f"started worker on pool {POOL} (pid {worker_pid}); log {d / 'worker.log'}")
    pids["worker"] = worker_pid

    if webhook_available(project_dir):
        hook_pid = read_pid(d, "webhook")
        if alive(hook_pid):
            echo(f"webhook receiver already running (pid {hook_pid})")
        else:
            hook_pid = _spawn(
                d,
                "webhook",
                [
                    sys.executable,
                    "-m",
                    "dora.webhook.cli",
                    "serve",
                    "--host",
                    HOST,
                    "--port",
                    str(webhook_port),
                ],
                env,
                project_dir,
            )
            time.sleep(1.0)
            if alive(hook_pid):
                echo(
                    f"started webhook receiver on {HOST}:{webhook_port} (pid {hook_pid}); "
                    f"log {d / 'webhook.log'}"
                )
            else:
                echo(f"webhook receiver exited at once; see {d / 'webhook.log'}")
                _pid_file(d, "webhook").unlink(missing_ok=True)
                hook_pid = None
        pids["webhook"] = hook_pid
    else:
        echo("webhook receiver not available (dora/webhook/cli.py missing); skipped")
    return {"api_url": api_url, "pids": pids, "dir": str(d)}


def down(home: Path | None = None, echo: Echo = _print, timeout: float = 20.0) -> list[str]:
    """Stop worker, webhook receiver and server; remove their PID files."""
    d = platform_dir(home)
    stopped = []
    for name in ("webhook", "worker", "server"):
        pid = read_pid(d, name)
        if pid is None:
            continue
        if alive(pid):
            ok = stop_process(pid, timeout)
            echo(f"stopped {name} (pid {pid})" if ok else f"could not stop {name} (pid {pid})")
            if not ok:
                continue
            stopped.append(name)
        else:
            echo(f"{name} (pid {pid}) was not running")
        _pid_file(d, name).unlink(missing_ok=True)
    if not stopped:
        echo("nothing was running")
    return stopped


def status(home: Path | None = None) -> dict[str, Any]:
    d = platform_dir(home)
    state = read_state(home)
    api_url = state.get("api_url")
    out: dict[str, Any] = {"dir": str(d), "api_url": api_url, "components": {}}
    for name in COMPONENTS:
        pid = read_pid(d, name)
        out["components"][name] = {"pid": pid, "running": alive(pid)}
    out["healthy"] = bool(api_url) and healthy(str(api_url))
    return out
