"""The webhook receiver (Starlette): ``POST /hooks/policy-updated`` → Prefect ``policy.updated``.

Checks, in order, each refusal answering JSON ``{"error": ..., "detail": ...}`` and
emitting nothing:

1. body size: ``Content-Length`` above the limit, or a streamed body growing past it → 413
   (the body is never read beyond the limit);
2. headers ``X-Dora-Timestamp`` / ``X-Dora-Signature`` / ``X-Dora-Delivery`` present and
   well formed → else 400;
3. HMAC-SHA256 signature over ``timestamp + "." + body``, constant-time compare → else 401;
4. timestamp inside the replay window (default ±300 s) → else 401;
5. delivery id not seen before → else 409;
6. payload valid (``policy_id``, non-empty ``documents``, optional ``changed_by`` and
   ``reason``; nothing else) → else 422.

An accepted request posts one event to ``{PREFECT_API_URL}/events`` and answers 202 with
the event id. If Prefect is unreachable the answer is 502 and the delivery id is released,
so the sender's retry (same delivery id) is accepted later.

De-duplication is a bounded in-memory LRU with a TTL (the replay window: older requests
are refused by their timestamp anyway). **Limitation:** it is per process. With several
replicas a replay may reach another replica; the event id is therefore derived from the
delivery id (UUIDv5), so Prefect stores the event once (insert on conflict do nothing) and
its trigger evaluation skips an event id it has recently seen. For strict cross-replica
de-duplication, put the LRU in Redis (``SET NX EX``).

Operations: ``GET /health`` (liveness), ``GET /ready`` (the Prefect API answers) and
``GET /metrics`` (Prometheus: ``dora_webhook_requests_total{status}`` and latency, see
:mod:`dora.metrics`); log records of a request carry its delivery id as correlation id.

Secrets (the shared secret, signatures) never appear in logs or responses.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, cast

import anyio.to_thread
import httpx
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dora import metrics
from dora.errors import ConfigurationError
from dora.logs import correlation
from dora.webhook.settings import WebhookSettings
from dora.webhook.signing import (
    HEADER_DELIVERY,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    SIGNATURE_PREFIX,
    verify,
)

logger = logging.getLogger("dora.webhook")

#: namespace of the event ids derived from delivery ids
EVENT_NAMESPACE = uuid.UUID("6f1b6a53-3c1e-4d5e-9a57-0d0a5d6c9e11")
_DELIVERY_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_SIGNATURE_RE = re.compile(r"^sha256=[0-9a-f]{64}$")

PolicyId = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9._:-]{1,128}$")
]
DocumentPath = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4096)
]


class PolicyUpdated(BaseModel):
    """The request body."""

    model_config = ConfigDict(extra="forbid")

    policy_id: PolicyId
    documents: list[DocumentPath] = Field(min_length=1, max_length=1000)
    changed_by: str | None = Field(None, max_length=256)
    reason: str | None = Field(None, max_length=4096)


class DeliveryLog:
    """Delivery ids seen recently: bounded LRU with a TTL, per process.

    ``reserve`` claims an id (False if already claimed), ``release`` forgets it again
    (used when the event could not be emitted, so the sender may retry).
    """

    def __init__(self, max_entries: int, ttl_s: float) -> None:
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self._seen: OrderedDict[str, float] = OrderedDict()

    def _expire(self, now: float) -> None:
        while self._seen:
            key, at = next(iter(self._seen.items()))
            if now - at < self.ttl_s:
                break
            del self._seen[key]

    def reserve(self, delivery_id: str) -> bool:
        now = time.monotonic()
        self._expire(now)
        if delivery_id in self._seen:
            return False
        self._seen[delivery_id] = now
        while len(self._seen) > self.max_entries:
            self._seen.popitem(last=False)
        return True

    def release(self, delivery_id: str) -> None:
        self._seen.pop(delivery_id, None)

    def __len__(self) -> int:
        return len(self._seen)


class _Refused(Exception):
    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail = status, error, detail

    def response(self) -> JSONResponse:
        return JSONResponse({"error": self.error, "detail": self.detail}, status_code=self.status)


SecretProvider = Callable[[], Awaitable[str]]


def _vault_secret_provider(block_name: str, cache_s: float) -> SecretProvider:
    """Reads the secret from a VaultKVSecret block (in a thread: hvac is synchronous)."""
    cached: dict[str, Any] = {}

    async def _load() -> str:
        from blocks.vault import VaultKVSecret

        block = cast(VaultKVSecret, await VaultKVSecret.aload(block_name))
        # hvac is synchronous: read in a worker thread
        return await anyio.to_thread.run_sync(lambda: block.get().get_secret_value())

    async def provider() -> str:
        now = time.monotonic()
        if "value" in cached and now - cached["at"] < cache_s:
            return str(cached["value"])
        value = await _load()
        cached.update(value=value, at=now)
        return value

    return provider


def secret_provider_from(settings: WebhookSettings) -> SecretProvider:
    if settings.secret is not None:
        value = settings.secret.get_secret_value()
        if not value:
            raise ConfigurationError("DORA_WEBHOOK_SECRET is empty")

        async def provider() -> str:
            return value

        return provider
    if settings.secret_block:
        return _vault_secret_provider(settings.secret_block, settings.secret_cache_s)
    raise ConfigurationError(
        "the webhook needs a shared secret: set DORA_WEBHOOK_SECRET or DORA_WEBHOOK_SECRET_BLOCK"
    )


def prefect_api_url(settings: WebhookSettings) -> str:
    if settings.prefect_api_url:
        return settings.prefect_api_url.rstrip("/")
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if not url:
        raise ConfigurationError("set PREFECT_API_URL (or DORA_WEBHOOK_PREFECT_API_URL)")
    return str(url).rstrip("/")


def _prefect_headers() -> dict[str, str]:
    """Authentication for the Prefect API, as Prefect's own client sends it."""
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_KEY

    key = PREFECT_API_KEY.value()
    if key:
        return {
            "Authorization": f"Bearer {key.get_secret_value() if hasattr(key, 'get_secret_value') else key}"
        }
    auth = PREFECT_API_AUTH_STRING.value()
    if auth:
        raw = auth.get_secret_value() if hasattr(auth, "get_secret_value") else str(auth)
        return {"Authorization": "Basic " + base64.b64encode(raw.encode()).decode()}
    return {}


def build_event(payload: PolicyUpdated, delivery_id: str, event_name: str) -> dict[str, Any]:
    """The Prefect event for an accepted request (id derived from the delivery id)."""
    event_id = uuid.uuid5(EVENT_NAMESPACE, delivery_id)
    return {
        "id": str(event_id),
        "occurred": datetime.now(UTC).isoformat(),
        "event": event_name,
        "resource": {
            "prefect.resource.id": f"dora.policy.{payload.policy_id}",
            "prefect.resource.name": payload.policy_id,
            "dora.policy.id": payload.policy_id,
            "dora.webhook.delivery": delivery_id,
        },
        "related": [],
        "payload": {
            "policy_id": payload.policy_id,
            "documents": payload.documents,
            "changed_by": payload.changed_by,
            "reason": payload.reason,
            "delivery_id": delivery_id,
        },
    }


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise _Refused(400, "bad_request", "Content-Length is not a number") from None
        if size > limit:
            raise _Refused(413, "too_large", f"body larger than {limit} bytes")
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise _Refused(413, "too_large", f"body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(
    settings: WebhookSettings | None = None,
    *,
    secret_provider: SecretProvider | None = None,
    http_client: httpx.AsyncClient | None = None,
) -> Starlette:
    """The ASGI app. Fails fast (ConfigurationError) when no secret is configured."""
    settings = settings or WebhookSettings()
    get_secret = secret_provider or secret_provider_from(settings)
    api_url = prefect_api_url(settings)
    deliveries = DeliveryLog(settings.dedup_max_entries, float(settings.replay_window_s))
    owns_client = http_client is None
    http = http_client or httpx.AsyncClient(
        timeout=settings.prefect_timeout_s, headers=_prefect_headers()
    )

    async def policy_updated(request: Request) -> JSONResponse:
        delivery_id = request.headers.get(HEADER_DELIVERY, "")
        try:
            body = await _read_body(request, settings.max_body_bytes)
            timestamp = request.headers.get(HEADER_TIMESTAMP, "")
            signature = request.headers.get(HEADER_SIGNATURE, "")
            if not timestamp or not signature or not delivery_id:
                raise _Refused(
                    400,
                    "missing_headers",
                    f"{HEADER_TIMESTAMP}, {HEADER_SIGNATURE} and {HEADER_DELIVERY} are required",
                )
            if not timestamp.isdigit() or len(timestamp) > 12:
                raise _Refused(400, "bad_timestamp", f"{HEADER_TIMESTAMP} must be unix seconds")
            if not _SIGNATURE_RE.match(signature):
                raise _Refused(
                    400,
                    "bad_signature_format",
                    f"{HEADER_SIGNATURE} must be {SIGNATURE_PREFIX}<hex>",
                )
            if not _DELIVERY_RE.match(delivery_id):
                raise _Refused(
                    400, "bad_delivery_id", f"{HEADER_DELIVERY} must be 1-128 of [A-Za-z0-9._:-]"
                )
            try:
                secret = await get_secret()
            except Exception as exc:  # SecretError, unknown block, Prefect unreachable
                logger.error("webhook secret unavailable: %s", type(exc).__name__)
                raise _Refused(
                    503, "secret_unavailable", "the shared secret cannot be read"
                ) from None
            if not verify(secret, timestamp, body, signature):
                raise _Refused(401, "bad_signature", "signature does not match")
            if abs(time.time() - int(timestamp)) > settings.replay_window_s:
                raise _Refused(
                    401,
                    "stale",
                    f"timestamp outside the {settings.replay_window_s} s replay window",
                )
            try:
                payload = PolicyUpdated.model_validate_json(body)
            except ValidationError as exc:
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
                    for e in exc.errors(include_input=False)
                )
                raise _Refused(422, "invalid_payload", problems) from None
            if not deliveries.reserve(delivery_id):
                raise _Refused(
                    409, "duplicate_delivery", f"delivery {delivery_id} was already received"
                )
            event = build_event(payload, delivery_id, settings.event_name)
            try:
                res = await http.post(f"{api_url}/events", json=[event])
                res.raise_for_status()
            except httpx.HTTPError as exc:
                deliveries.release(delivery_id)
                logger.error(
                    "delivery %s: Prefect API refused or unreachable (%s)",
                    delivery_id,
                    type(exc).__name__,
                )
                raise _Refused(
                    502, "prefect_unavailable", "the event could not be emitted"
                ) from None
        except _Refused as refused:
            logger.warning(
                "delivery %r refused: %s %s", delivery_id[:128], refused.status, refused.error
            )
            return refused.response()
        logger.info(
            "delivery %s accepted: %s for %s (%d documents)",
            delivery_id,
            settings.event_name,
            payload.policy_id,
            len(payload.documents),
        )
        return JSONResponse(
            {"event_id": event["id"], "event": settings.event_name, "delivery_id": delivery_id},
            status_code=202,
        )

    async def instrumented_policy_updated(request: Request) -> JSONResponse:
        """Counts every answer by status; log lines carry the delivery id as correlation id."""
        started = time.perf_counter()
        status = 500
        try:
            with correlation(request.headers.get(HEADER_DELIVERY, "")[:128] or None):
                response = await policy_updated(request)
            status = response.status_code
            return response
        finally:
            metrics.observe_webhook_request(status, time.perf_counter() - started)

    async def metrics_endpoint(request: Request) -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def ready(request: Request) -> JSONResponse:
        try:
            res = await http.get(f"{api_url}/health")
            res.raise_for_status()
        except httpx.HTTPError as exc:
            return JSONResponse(
                {"status": "unavailable", "detail": f"Prefect API: {type(exc).__name__}"},
                status_code=503,
            )
        return JSONResponse({"status": "ready"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if owns_client:
            await http.aclose()

    app = Starlette(
        routes=[
            Route("/hooks/policy-updated", instrumented_policy_updated, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/ready", ready, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.deliveries = deliveries
    return app
