"""The signed webhook receiver (dora/webhook): unit tests with TestClient, then the real
uvicorn process against the real Prefect API, the seed deployment's trigger, and a secret
read from OpenBao through a VaultKVSecret block."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from dora.errors import ConfigurationError
from dora.webhook.app import DeliveryLog, create_app
from dora.webhook.settings import WebhookSettings
from dora.webhook.signing import sign, signed_headers, verify
from tests.services import OpenBao, free_port, openbao  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parent.parent
SECRET = "whsec-test-3f9a1c7e5b2d4a6f"
PATH = "/hooks/policy-updated"
DEPLOYMENT = "dora-compliance-assessment/dora-compliance-assessment-local"


def _body(policy_id: str = "P-7", **extra: Any) -> bytes:
    data: dict[str, Any] = {
        "policy_id": policy_id,
        "documents": ["examples/policies/ict-risk.md"],
        "changed_by": "alice",
        "reason": "annual review",
    }
    data.update(extra)
    return json.dumps(data).encode()


class FakePrefect:
    """A stand-in Prefect API recording posted events (unit tests only)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.down = False

    def handler(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("down", request=request)
        if request.url.path == "/api/events" and request.method == "POST":
            self.events.extend(json.loads(request.content))
            return httpx.Response(204)
        if request.url.path == "/api/health":
            return httpx.Response(200, json=True)
        return httpx.Response(404)


@pytest.fixture
def fake() -> FakePrefect:
    return FakePrefect()


@pytest.fixture
def client(fake: FakePrefect) -> Iterator[TestClient]:
    settings = WebhookSettings(
        secret=SecretStr(SECRET), prefect_api_url="http://prefect.test/api", max_body_bytes=4096
    )
    http = httpx.AsyncClient(transport=httpx.MockTransport(fake.handler))
    with TestClient(create_app(settings, http_client=http)) as c:
        yield c


# ------------------------------------------------------------------ signing
def test_sign_and_verify_round_trip() -> None:
    sig = sign(SECRET, "1700000000", b"{}")
    assert sig.startswith("sha256=") and len(sig) == 7 + 64
    assert verify(SECRET, "1700000000", b"{}", sig)
    assert not verify(SECRET, "1700000001", b"{}", sig)  # timestamp is signed
    assert not verify("other", "1700000000", b"{}", sig)
    assert not verify(SECRET, "1700000000", b"{}", "sha256=é")


def test_delivery_log_is_bounded_and_expires() -> None:
    log = DeliveryLog(max_entries=2, ttl_s=0.05)
    assert log.reserve("a") and not log.reserve("a")
    assert log.reserve("b") and log.reserve("c")
    assert len(log) == 2 and log.reserve("a")  # "a" was evicted (LRU bound)
    time.sleep(0.06)
    assert log.reserve("b")  # expired
    log.release("b")
    assert log.reserve("b")


# ------------------------------------------------------------------ TestClient
def test_signed_request_emits_event_and_answers_202(client: TestClient, fake: FakePrefect) -> None:
    body = _body()
    res = client.post(PATH, content=body, headers=signed_headers(SECRET, body, delivery_id="d-1"))
    assert res.status_code == 202, res.text
    assert len(fake.events) == 1
    event = fake.events[0]
    assert res.json() == {"event_id": event["id"], "event": "policy.updated", "delivery_id": "d-1"}
    assert event["event"] == "policy.updated"
    assert event["resource"]["prefect.resource.id"] == "dora.policy.P-7"
    assert event["payload"]["documents"] == ["examples/policies/ict-risk.md"]
    assert event["payload"]["delivery_id"] == "d-1"
    assert event["payload"]["changed_by"] == "alice"


def test_replayed_delivery_is_409(client: TestClient, fake: FakePrefect) -> None:
    body = _body()
    headers = signed_headers(SECRET, body, delivery_id="d-replay")
    assert client.post(PATH, content=body, headers=headers).status_code == 202
    res = client.post(PATH, content=body, headers=headers)
    assert res.status_code == 409 and res.json()["error"] == "duplicate_delivery"
    assert len(fake.events) == 1


@pytest.mark.parametrize(
    ("mutate", "status", "error"),
    [
        (
            lambda h: h.update({"X-Dora-Signature": sign("wrong", h["X-Dora-Timestamp"], _body())}),
            401,
            "bad_signature",
        ),
        (
            lambda h: h.update({"X-Dora-Timestamp": str(int(h["X-Dora-Timestamp"]) + 1)}),
            401,
            "bad_signature",
        ),
        (lambda h: h.pop("X-Dora-Signature"), 400, "missing_headers"),
        (lambda h: h.pop("X-Dora-Delivery"), 400, "missing_headers"),
        (lambda h: h.update({"X-Dora-Timestamp": "yesterday"}), 400, "bad_timestamp"),
        (lambda h: h.update({"X-Dora-Signature": "md5=abc"}), 400, "bad_signature_format"),
        (lambda h: h.update({"X-Dora-Delivery": "bad id with spaces"}), 400, "bad_delivery_id"),
    ],
)
def test_bad_headers_or_signature_are_refused(
    client: TestClient,
    fake: FakePrefect,
    mutate: Callable[[dict[str, str]], object],
    status: int,
    error: str,
) -> None:
    body = _body()
    headers = signed_headers(SECRET, body)
    mutate(headers)
    res = client.post(PATH, content=body, headers=headers)
    assert res.status_code == status and res.json()["error"] == error
    assert fake.events == []


@pytest.mark.parametrize("age", [301, -301, 10_000])
def test_stale_or_future_timestamp_is_401(client: TestClient, fake: FakePrefect, age: int) -> None:
    body = _body()
    headers = signed_headers(SECRET, body, timestamp=int(time.time()) - age)
    res = client.post(PATH, content=body, headers=headers)
    assert res.status_code == 401 and res.json()["error"] == "stale"
    assert fake.events == []


def test_oversize_body_is_413_declared_and_streamed(client: TestClient, fake: FakePrefect) -> None:
    body = _body(reason="x" * 5000)
    res = client.post(PATH, content=body, headers=signed_headers(SECRET, body))
    assert res.status_code == 413 and res.json()["error"] == "too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer
        for _ in range(10):
            yield b"x" * 1000

    res = client.post(PATH, content=chunks(), headers=signed_headers(SECRET, b""))
    assert res.status_code == 413
    assert fake.events == []


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b"{not json", "body"),
        (json.dumps({"policy_id": "P-1", "documents": []}).encode(), "documents"),
        (json.dumps({"policy_id": "P-1"}).encode(), "documents"),
        (json.dumps({"policy_id": "P-1", "documents": ["a"], "admin": True}).encode(), "admin"),
        (json.dumps({"policy_id": "P 1/..", "documents": ["a"]}).encode(), "policy_id"),
        (json.dumps({"policy_id": "P-1", "documents": [""]}).encode(), "documents"),
        (json.dumps(["P-1"]).encode(), "body"),
    ],
)
def test_malformed_payload_is_422(
    client: TestClient, fake: FakePrefect, body: bytes, where: str
) -> None:
    res = client.post(PATH, content=body, headers=signed_headers(SECRET, body))
    assert res.status_code == 422, res.text
    assert res.json()["error"] == "invalid_payload" and where in res.json()["detail"]
    assert fake.events == []


def test_prefect_down_is_502_and_the_sender_may_retry(
    client: TestClient, fake: FakePrefect
) -> None:
    body = _body()
    headers = signed_headers(SECRET, body, delivery_id="d-retry")
    fake.down = True
    res = client.post(PATH, content=body, headers=headers)
    assert res.status_code == 502 and res.json()["error"] == "prefect_unavailable"
    assert client.get("/ready").status_code == 503
    fake.down = False
    assert client.post(PATH, content=body, headers=headers).status_code == 202
    assert client.get("/ready").json() == {"status": "ready"}
    assert client.get("/health").json() == {"status": "ok"}


def test_secret_never_in_responses_or_logs(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = _body()
    good = signed_headers(SECRET, body)
    bad = signed_headers("wrong", body)
    texts = [client.post(PATH, content=body, headers=h).text for h in (good, bad, good)]
    everything = "\n".join(texts) + caplog.text
    assert SECRET not in everything
    assert good["X-Dora-Signature"].removeprefix("sha256=") not in everything
    assert "refused: 401 bad_signature" in caplog.text


def test_no_secret_configured_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="DORA_WEBHOOK_SECRET"):
        create_app(WebhookSettings(prefect_api_url="http://x/api"))


def test_cli_serve_help() -> None:
    from typer.testing import CliRunner

    from dora.webhook.cli import app

    res = CliRunner().invoke(app, ["serve", "--help"])
    assert res.exit_code == 0 and "--port" in res.output and "--host" in res.output


# ------------------------------------------------------------------ real Prefect API
def _events(api: str, resource_prefix: str) -> list[dict[str, Any]]:
    res = httpx.post(
        f"{api}/events/filter",
        json={
            "filter": {
                "event": {"name": ["policy.updated"]},
                "resource": {"id_prefix": [resource_prefix]},
                "occurred": {"since": "2000-01-01T00:00:00Z"},
            },
            "limit": 50,
        },
        timeout=10,
    )
    res.raise_for_status()
    return list(res.json()["events"])


def _poll(fn: Callable[[], Any], timeout: float = 60.0, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


@pytest.fixture(scope="module")
def webhook_server(prefect_api: str) -> Iterator[str]:
    """The receiver as a real process: ``python -m dora.webhook.cli serve`` (uvicorn)."""
    port = free_port()
    env = {
        **os.environ,
        "PREFECT_API_URL": prefect_api,
        "DORA_WEBHOOK_SECRET": SECRET,
        "DORA_WEBHOOK_MAX_BODY_BYTES": "4096",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "dora.webhook.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            if proc.poll() is not None:
                out = proc.stdout.read().decode() if proc.stdout else ""
                raise RuntimeError(f"webhook server exited: {out[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                return httpx.get(f"{url}/ready", timeout=1).status_code == 200
            return False

        _poll(up, timeout=60)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_real_server_emits_only_for_valid_requests(webhook_server: str, prefect_api: str) -> None:
    run = uuid.uuid4().hex[:8]
    prefix = f"dora.policy.T{run}"

    def post(body: bytes, headers: dict[str, str]) -> httpx.Response:
        return httpx.post(f"{webhook_server}{PATH}", content=body, headers=headers, timeout=10)

    # refused first: bad signature, stale, oversize, malformed
    b = _body(f"T{run}-badsig")
    assert post(b, signed_headers("wrong-secret", b)).status_code == 401
    b = _body(f"T{run}-stale")
    assert post(b, signed_headers(SECRET, b, timestamp=int(time.time()) - 3600)).status_code == 401
    b = _body(f"T{run}-big", reason="x" * 5000)
    assert post(b, signed_headers(SECRET, b)).status_code == 413
    b = json.dumps({"policy_id": f"T{run}-bad", "documents": [], "extra": 1}).encode()
    assert post(b, signed_headers(SECRET, b)).status_code == 422

    # then a good one, and its replay
    good = _body(f"T{run}-ok")
    headers = signed_headers(SECRET, good)
    res = post(good, headers)
    assert res.status_code == 202, res.text
    event_id = res.json()["event_id"]
    replay = post(good, headers)
    assert replay.status_code == 409, replay.text

    events = _poll(lambda: _events(prefect_api, prefix))
    assert [e["id"] for e in events] == [event_id]
    (event,) = events
    assert event["resource"]["prefect.resource.id"] == f"dora.policy.T{run}-ok"
    assert event["payload"]["documents"] == ["examples/policies/ict-risk.md"]
    assert event["payload"]["delivery_id"] == headers["X-Dora-Delivery"]
    # the refused requests left nothing, even after the accepted one was stored
    assert _events(prefect_api, prefix) == events


def _ensure_seed_deployment(prefect_api: str) -> Any:
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    async def existing() -> Any:
        async with get_client() as c:
            with contextlib.suppress(ObjectAlreadyExists):
                await c.create_work_pool(WorkPoolCreate(name="dora-local", type="process"))
            try:
                return await c.read_deployment_by_name(DEPLOYMENT)
            except ObjectNotFound:
                return None

    dep = asyncio.run(existing())
    if dep is None:
        env = {**os.environ, "PREFECT_API_URL": prefect_api}
        res = subprocess.run(
            [str(Path(sys.executable).parent / "prefect"), "--no-prompt", "deploy", "--all"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=300,
        )
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
        dep = asyncio.run(existing())
    assert dep is not None
    return dep


def _runs_with_documents(deployment_id: uuid.UUID, documents: list[str]) -> list[Any]:
    from prefect import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    async def read() -> list[Any]:
        async with get_client() as c:
            runs = await c.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
            )
        return [r for r in runs if r.parameters.get("documents") == documents]

    return asyncio.run(read())


@pytest.mark.slow
def test_signed_webhook_creates_a_flow_run_of_the_seed_deployment(
    webhook_server: str, prefect_api: str
) -> None:
    dep = _ensure_seed_deployment(prefect_api)
    documents = [f"examples/policies/{uuid.uuid4().hex[:8]}.md", "examples/policies/b.md"]
    body = json.dumps({"policy_id": "P-e2e", "documents": documents}).encode()
    res = httpx.post(
        f"{webhook_server}{PATH}", content=body, headers=signed_headers(SECRET, body), timeout=10
    )
    assert res.status_code == 202, res.text
    runs = _poll(lambda: _runs_with_documents(dep.id, documents), timeout=90, interval=0.5)
    assert len(runs) == 1
    assert runs[0].parameters["documents"] == documents


# ------------------------------------------------------------------ secret from OpenBao
@pytest.mark.usefixtures("prefect_api")
def test_secret_from_a_vault_block(openbao: OpenBao, prefect_api: str) -> None:  # noqa: F811
    from blocks.vault import VaultCredentials, VaultKVSecret

    vault_secret = f"whsec-vault-{uuid.uuid4().hex}"
    path = f"dora/webhook-{uuid.uuid4().hex[:8]}"
    openbao.client().secrets.kv.v2.create_or_update_secret(
        path=path, secret={"hmac": vault_secret}, mount_point="secret"
    )
    block_name = f"webhook-{uuid.uuid4().hex[:8]}"
    VaultKVSecret(
        credentials=VaultCredentials(vault_url=openbao.url, token=SecretStr(openbao.root_token)),
        path=path,
        key="hmac",
    ).save(block_name)

    settings = WebhookSettings(secret_block=block_name, prefect_api_url=prefect_api)
    with TestClient(create_app(settings)) as c:
        body = _body(f"V{uuid.uuid4().hex[:8]}")
        assert c.post(PATH, content=body, headers=signed_headers(SECRET, body)).status_code == 401
        res = c.post(PATH, content=body, headers=signed_headers(vault_secret, body))
        assert res.status_code == 202, res.text
        assert vault_secret not in res.text

    missing = WebhookSettings(secret_block="no-such-block", prefect_api_url=prefect_api)
    with TestClient(create_app(missing)) as c:
        body = _body()
        res = c.post(PATH, content=body, headers=signed_headers(vault_secret, body))
        assert res.status_code == 503 and res.json()["error"] == "secret_unavailable"
