"""Signed webhook receiver that turns ``policy.updated`` notifications into Prefect events.

Prefect OSS has no inbound webhooks (``/hooks/...`` is Cloud-only), so this small ASGI
service verifies an HMAC-signed request and posts the event to ``{PREFECT_API_URL}/events``;
the deployment's event trigger does the rest. See :mod:`dora.webhook.app`.
"""

from dora.webhook.signing import SIGNATURE_PREFIX, sign, signed_headers, verify

__all__ = ["SIGNATURE_PREFIX", "sign", "signed_headers", "verify"]
