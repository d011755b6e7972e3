"""HMAC-SHA256 request signing: ``sha256=hex(HMAC(secret, timestamp + "." + body))``.

The timestamp is part of the signed message, so an attacker cannot refresh an old request's
timestamp to get it past the replay window. Senders use :func:`signed_headers`.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid

SIGNATURE_PREFIX = "sha256="
HEADER_TIMESTAMP = "X-Dora-Timestamp"
HEADER_SIGNATURE = "X-Dora-Signature"
HEADER_DELIVERY = "X-Dora-Delivery"


def _key(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def sign(secret: str | bytes, timestamp: str, body: bytes) -> str:
    """The ``X-Dora-Signature`` value for ``body`` sent at ``timestamp`` (unix seconds)."""
    mac = hmac.new(_key(secret), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return SIGNATURE_PREFIX + mac.hexdigest()


def verify(secret: str | bytes, timestamp: str, body: bytes, signature: str) -> bool:
    """Whether ``signature`` is valid, compared in constant time."""
    try:
        expected = sign(secret, timestamp, body)
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", "replace"))


def signed_headers(
    secret: str | bytes,
    body: bytes,
    *,
    delivery_id: str | None = None,
    timestamp: int | None = None,
) -> dict[str, str]:
    """Headers a sender attaches to ``body`` (a fresh delivery id unless one is given)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        HEADER_TIMESTAMP: ts,
        HEADER_SIGNATURE: sign(secret, ts, body),
        HEADER_DELIVERY: delivery_id or str(uuid.uuid4()),
        "Content-Type": "application/json",
    }
