"""Prefect blocks that read secrets from HashiCorp Vault (or OpenBao) through hvac.

Why our own blocks: PrefectHQ ships no Vault integration and the third-party ones target
Prefect 2. The design stores *how to reach* a secret in Prefect (a block document) and the
secret itself only in Vault, so rotating a key never touches Prefect or a definition.

Three blocks, split so one set of credentials serves many secrets:

* :class:`VaultCredentials`: where Vault is and how to log in (``token``, ``approle`` or
  ``kubernetes``). Prefer ``kubernetes`` in production: the block then holds only a role
  name, and the pod's service-account JWT (mounted by Kubernetes, short-lived) proves who
  we are, so no static credential is stored in Prefect's database at all.
* :class:`VaultKVSecret`: one KV version 2 secret (mount point + path), with an optional
  default key so ``block.get()`` returns the value callers usually want, an optional
  ``version``, and an in-process cache (``cache_ttl_seconds``, default 60, 0 disables)
  keyed by Vault URL, namespace, mount, path, version and a digest of the credentials (so
  a value read with one login is never served to another).
* :class:`VaultSecret`: the same block under the name the platform uses (new documents
  should use it; ``VaultKVSecret`` stays for existing documents and callers).

Logins are shared per process and credentials: a renewable token is renewed
(``auth/token/renew-self``) once less than half its TTL is left; AppRole and Kubernetes
log in again when renewal is impossible, and once more after an HTTP 403 (a revoked or
expired token). A static token that is revoked or expired is a clear ``SecretError``.

Every failure leaves these blocks as :class:`dora.errors.SecretError`. Its message names
the Vault path (and key), which is what an operator needs to fix access, and never the
secret value, a token, a secret id or a JWT: exception text ends up in Prefect logs,
task-run states and the audit trail, all of which are far less protected than Vault.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, NoReturn

import hvac
import hvac.exceptions
import requests
from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from dora.errors import SecretError

AuthMethod = Literal["token", "approle", "kubernetes"]

#: where Kubernetes mounts the pod's service-account token
DEFAULT_K8S_TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount/token"

#: what is scrubbed from any text that may reach an exception message
_MIN_SCRUB_LENGTH = 4

#: a renewable token is renewed once less than this fraction of its TTL remains
RENEW_FRACTION = 0.5

#: logs name paths, auth methods and roles; never values, tokens, secret ids or JWTs
logger = logging.getLogger(__name__)

_DOCS_URL = "https://openbao.org/docs/secrets/kv/kv-v2/"
_LOGO_URL = "https://github.com/openbao.png?size=200"

_HTTP_STATUS: dict[type[hvac.exceptions.VaultError], int] = {
    hvac.exceptions.InvalidRequest: 400,
    hvac.exceptions.Unauthorized: 401,
    hvac.exceptions.Forbidden: 403,
    hvac.exceptions.InvalidPath: 404,
    hvac.exceptions.UnsupportedOperation: 405,
    hvac.exceptions.PreconditionFailed: 412,
    hvac.exceptions.RateLimitExceeded: 429,
    hvac.exceptions.InternalServerError: 500,
    hvac.exceptions.VaultNotInitialized: 501,
    hvac.exceptions.BadGateway: 502,
    hvac.exceptions.VaultDown: 503,
}


def _http_status(exc: BaseException) -> str:
    """``HTTP 403``-style text for an hvac error, for messages (empty when unknown)."""
    for cls, status in _HTTP_STATUS.items():
        if isinstance(exc, cls):
            return f"HTTP {status}"
    return ""


def _scrub(text: str, secrets: list[str]) -> str:
    """``text`` with every known secret replaced, for messages quoting Vault's answer.

    Vault's error strings do not normally echo credentials, but a proxy or a future
    server version might; scrubbing costs nothing and makes the guarantee unconditional.
    """
    for secret in secrets:
        if secret and len(secret) >= _MIN_SCRUB_LENGTH:
            text = text.replace(secret, "**********")
    return text


def _describe(exc: BaseException, secrets: list[str]) -> str:
    """A short, secret-free reason for an hvac/requests failure."""
    if isinstance(exc, hvac.exceptions.VaultError):
        errors = getattr(exc, "errors", None)
        detail = "; ".join(str(e) for e in errors) if isinstance(errors, list) else str(exc)
        detail = detail.strip() or "no detail"
        status = _http_status(exc)
        where = f" ({status})" if status else ""
        return f"{type(exc).__name__}{where}: {_scrub(detail, secrets)}"
    if isinstance(exc, requests.exceptions.RequestException):
        # requests' messages include the URL (no credentials: those travel in headers)
        return f"Vault is unreachable ({type(exc).__name__})"
    return type(exc).__name__


@dataclass
class _Session:
    """A logged-in client shared by reads with the same credentials (in-process only)."""

    client: hvac.Client
    #: monotonic deadline of the token, None when it never expires (or is unknown)
    expires_at: float | None
    #: the TTL granted by the last login or renewal, seconds
    ttl: float
    renewable: bool
    lock: threading.Lock = field(default_factory=threading.Lock)

    def needs_refresh(self) -> bool:
        if self.expires_at is None:
            return False
        return self.expires_at - time.monotonic() <= self.ttl * RENEW_FRACTION


def _session_from(client: hvac.Client, ttl: Any, renewable: Any) -> _Session:
    seconds = float(ttl or 0)
    return _Session(
        client=client,
        expires_at=time.monotonic() + seconds if seconds > 0 else None,
        ttl=seconds,
        renewable=bool(renewable),
    )


_SESSIONS: dict[str, _Session] = {}
_SESSIONS_LOCK = threading.Lock()

#: (vault url, namespace, mount, path, version, credentials fingerprint) -> (at, data)
_CACHE: dict[tuple[str, str, str, str, int | None, str], tuple[float, dict[str, Any]]] = {}
_CACHE_LOCK = threading.Lock()


def clear_caches() -> None:
    """Forget every cached secret and logged-in session of this process (tests, rotation)."""
    with _CACHE_LOCK:
        _CACHE.clear()
    with _SESSIONS_LOCK:
        _SESSIONS.clear()


class VaultCredentials(Block):
    """How to reach and log in to Vault; shared by every :class:`VaultSecret`.

    ``token`` and ``secret_id`` are ``SecretStr`` so Prefect encrypts them at rest and
    masks them in the UI and in ``repr``. For Kubernetes auth nothing secret is stored:
    the JWT is read from ``k8s_token_path`` at login time.

    Reads share one logged-in client per set of credentials in a process: a renewable
    token is renewed (``auth/token/renew-self``) once less than half its TTL is left, and
    AppRole/Kubernetes log in again when renewal is impossible or the token was revoked.

    Examples:
        Log in to Vault and use the hvac client:
        ```python
        from blocks import VaultCredentials

        vault_credentials = VaultCredentials.load("BLOCK_NAME")
        client = vault_credentials.client()
        ```
    """

    _block_type_name: ClassVar[str] = "DORA Vault Credentials"
    _block_type_slug: ClassVar[str] = "dora-vault-credentials"
    _logo_url: ClassVar[Any] = _LOGO_URL
    _documentation_url: ClassVar[Any] = "https://openbao.org/docs/auth/"
    _description: ClassVar[str] = (
        "Address and login (token, AppRole or Kubernetes) of a HashiCorp Vault / OpenBao "
        "server, used by DORA Vault Secret blocks."
    )

    vault_url: str = Field(description="Base URL, e.g. https://vault.internal:8200.")
    namespace: str | None = Field(default=None, description="Vault Enterprise namespace.")
    auth_method: AuthMethod = Field(
        default="token", description="How to log in: token, approle or kubernetes."
    )
    auth_mount_point: str | None = Field(
        default=None, description="Where the auth method is mounted; defaults to its name."
    )
    token: SecretStr | None = Field(default=None, description="For auth_method=token.")
    role_id: str | None = Field(default=None, description="For auth_method=approle.")
    secret_id: SecretStr | None = Field(default=None, description="For auth_method=approle.")
    k8s_role: str | None = Field(default=None, description="For auth_method=kubernetes.")
    k8s_token_path: str = Field(
        default=DEFAULT_K8S_TOKEN_PATH,
        description="Service-account JWT file, for auth_method=kubernetes.",
    )
    verify: bool | str = Field(
        default=True, description="Verify TLS (true), skip (false), or a CA bundle path."
    )
    timeout_seconds: float = Field(default=10.0, gt=0, description="HTTP timeout, seconds.")

    def _known_secrets(self) -> list[str]:
        return [s.get_secret_value() for s in (self.token, self.secret_id) if s is not None]

    @property
    def _mount(self) -> str:
        return self.auth_mount_point or self.auth_method

    @property
    def identity(self) -> str:
        """Who logs in, for messages and logs: method, mount and role (never a secret)."""
        if self.auth_method == "approle":
            return f"approle role_id {self.role_id!r} (mount {self._mount!r})"
        if self.auth_method == "kubernetes":
            return f"kubernetes role {self.k8s_role!r} (mount {self._mount!r})"
        return "token auth (static token)"

    def fingerprint(self) -> str:
        """A one-way digest of everything that decides the login (cache/session key)."""
        parts = [
            self.vault_url.rstrip("/"),
            self.namespace or "",
            self.auth_method,
            self._mount,
            self.role_id or "",
            self.k8s_role or "",
            self.k8s_token_path,
            *self._known_secrets(),
        ]
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]

    def _fail(
        self, what: str, exc: BaseException, extra_secrets: list[str] | None = None
    ) -> NoReturn:
        secrets = self._known_secrets() + (extra_secrets or [])
        raise SecretError(
            f"Vault {self.auth_method} login at {self.vault_url} failed for {what}: "
            f"{_describe(exc, secrets)}"
        ) from exc

    def _new_client(self) -> hvac.Client:
        return hvac.Client(
            url=self.vault_url,
            namespace=self.namespace,
            verify=self.verify,
            timeout=self.timeout_seconds,
        )

    def client(self) -> hvac.Client:
        """A freshly logged-in hvac client (reads use :meth:`session_client` instead)."""
        return self._login().client

    def _login(self) -> _Session:
        client = self._new_client()
        mount = self._mount
        if self.auth_method == "token":
            if self.token is None:
                raise SecretError(
                    f"Vault credentials for {self.vault_url}: auth_method=token needs a token"
                )
            client.token = self.token.get_secret_value()
            return _Session(client=client, expires_at=None, ttl=0.0, renewable=False)
        if self.auth_method == "approle":
            if not self.role_id or self.secret_id is None:
                raise SecretError(
                    f"Vault credentials for {self.vault_url}: auth_method=approle needs "
                    "role_id and secret_id"
                )
            try:
                answer = client.auth.approle.login(
                    role_id=self.role_id,
                    secret_id=self.secret_id.get_secret_value(),
                    mount_point=mount,
                )
            except (hvac.exceptions.VaultError, requests.exceptions.RequestException) as exc:
                self._fail(f"role_id {self.role_id!r} (mount {mount!r})", exc)
        else:  # kubernetes
            if not self.k8s_role:
                raise SecretError(
                    f"Vault credentials for {self.vault_url}: auth_method=kubernetes needs k8s_role"
                )
            try:
                jwt = Path(self.k8s_token_path).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise SecretError(
                    f"Vault kubernetes login: cannot read the service-account token at "
                    f"{self.k8s_token_path} ({type(exc).__name__})"
                ) from exc
            try:
                answer = client.auth.kubernetes.login(
                    role=self.k8s_role, jwt=jwt, mount_point=mount
                )
            except (hvac.exceptions.VaultError, requests.exceptions.RequestException) as exc:
                self._fail(f"role {self.k8s_role!r} (mount {mount!r})", exc, [jwt])
        auth = (answer or {}).get("auth") or {}
        logger.debug("Vault login at %s as %s", self.vault_url, self.identity)
        return _session_from(client, auth.get("lease_duration"), auth.get("renewable"))

    def _start_session(self) -> _Session:
        """Log in; for a static token, ask Vault its TTL so it can be renewed in time."""
        session = self._login()
        if self.auth_method == "token":
            try:
                data = session.client.auth.token.lookup_self()["data"]
            except hvac.exceptions.Forbidden as exc:
                raise SecretError(
                    f"Vault token auth at {self.vault_url}: the token is invalid, expired "
                    f"or revoked ({_http_status(exc)})"
                ) from exc
            except (hvac.exceptions.VaultError, requests.exceptions.RequestException) as exc:
                self._fail("the static token", exc)
            fresh = _session_from(session.client, data.get("ttl"), data.get("renewable"))
            session.expires_at, session.ttl = fresh.expires_at, fresh.ttl
            session.renewable = fresh.renewable
        return session

    def session_client(self) -> hvac.Client:
        """The shared logged-in client for these credentials, renewed or re-logged in."""
        key = self.fingerprint()
        with _SESSIONS_LOCK:
            session = _SESSIONS.get(key)
        if session is None:
            session = self._start_session()
            with _SESSIONS_LOCK:
                session = _SESSIONS.setdefault(key, session)
        if session.needs_refresh():
            with session.lock:
                if session.needs_refresh():
                    self._refresh(session)
        return session.client

    def _refresh(self, session: _Session) -> None:
        """Renew the token if Vault allows it, else log in again (AppRole/Kubernetes)."""
        if session.renewable:
            try:
                auth = session.client.auth.token.renew_self()["auth"]
            except (hvac.exceptions.VaultError, requests.exceptions.RequestException) as exc:
                logger.warning(
                    "Vault token renewal for %s at %s failed (%s)",
                    self.identity,
                    self.vault_url,
                    _describe(exc, self._known_secrets()),
                )
            else:
                fresh = _session_from(session.client, auth.get("lease_duration"), True)
                capped = fresh.ttl < session.ttl * RENEW_FRACTION
                if fresh.ttl > 0:
                    session.expires_at, session.ttl = fresh.expires_at, fresh.ttl
                    session.renewable = bool(auth.get("renewable"))
                    logger.info("Vault token of %s renewed for %.0f s", self.identity, fresh.ttl)
                # renewal capped by the max TTL: the token dies soon; log in again instead
                if fresh.ttl > 0 and (not capped or self.auth_method == "token"):
                    return
        if self.auth_method == "token":
            if session.expires_at is not None and session.expires_at <= time.monotonic():
                self.forget_session()
                raise SecretError(
                    f"Vault token auth at {self.vault_url}: the static token has expired "
                    "and cannot be renewed; issue a new token"
                )
            return  # still valid for a while; nothing else can be done with a static token
        logger.info("Vault token of %s is near expiry; logging in again", self.identity)
        fresh_session = self._login()
        session.client = fresh_session.client
        session.expires_at, session.ttl = fresh_session.expires_at, fresh_session.ttl
        session.renewable = fresh_session.renewable

    def forget_session(self) -> None:
        """Drop the shared client (after a 403: the token was revoked or expired)."""
        with _SESSIONS_LOCK:
            _SESSIONS.pop(self.fingerprint(), None)


class VaultKVSecret(Block):
    """One KV v2 secret: ``read()`` returns all its keys, ``get(key)`` one as ``SecretStr``.

    Agents and sources name the block, never the secret: ``VaultKVSecret.load("llm-keys")
    .get("anthropic_api_key")``. ``key`` is the default for ``get()`` so a block can stand
    for a single value (the shape Prefect's built-in ``Secret`` block has). ``version``
    pins a KV version (latest when empty). Values are cached in-process for
    ``cache_ttl_seconds`` (0 disables), per Vault, mount, path, version and credentials.

    Examples:
        Read one value of a KV v2 secret:
        ```python
        from blocks import VaultKVSecret

        vault_kv_secret = VaultKVSecret.load("BLOCK_NAME")
        api_key = vault_kv_secret.get("anthropic_api_key").get_secret_value()
        ```
    """

    _block_type_name: ClassVar[str] = "DORA Vault KV Secret"
    _block_type_slug: ClassVar[str] = "dora-vault-kv-secret"
    _logo_url: ClassVar[Any] = _LOGO_URL
    _documentation_url: ClassVar[Any] = _DOCS_URL
    _description: ClassVar[str] = "A key/value secret in a Vault KV version 2 secrets engine."

    credentials: VaultCredentials
    mount_point: str = Field(default="secret", description="Mount of the KV v2 engine.")
    path: str = Field(description="Secret path below the mount, e.g. dora/llm.")
    key: str | None = Field(default=None, description="Key get() returns when none is given.")
    version: int | None = Field(
        default=None, ge=1, description="KV version to read; the latest when empty."
    )
    cache_ttl_seconds: float = Field(
        default=60, ge=0, description="Seconds a read value is reused in-process; 0 disables."
    )

    @property
    def location(self) -> str:
        """``mount/path``: how messages name the secret (never its contents)."""
        return f"{self.mount_point.strip('/')}/{self.path.strip('/')}"

    def _where(self, version: int | None) -> str:
        return self.location if version is None else f"{self.location} (version {version})"

    def _cache_key(self, version: int | None) -> tuple[str, str, str, str, int | None, str]:
        creds = self.credentials
        return (
            creds.vault_url.rstrip("/"),
            creds.namespace or "",
            self.mount_point.strip("/"),
            self.path.strip("/"),
            version,
            creds.fingerprint(),
        )

    def read(self, version: int | None = None) -> dict[str, Any]:
        """All key/value pairs of the secret (``version``, else the block's, else latest)."""
        version = version if version is not None else self.version
        ttl = self.cache_ttl_seconds
        key = self._cache_key(version)
        if ttl > 0:
            with _CACHE_LOCK:
                hit = _CACHE.get(key)
            if hit is not None and time.monotonic() - hit[0] < ttl:
                return dict(hit[1])
        data = self._read_from_vault(version)
        if ttl > 0:
            with _CACHE_LOCK:
                _CACHE[key] = (time.monotonic(), dict(data))
        return data

    def _read_from_vault(self, version: int | None) -> dict[str, Any]:
        creds = self.credentials
        where = self._where(version)
        try:
            return self._read_once(version)
        except _Denied as denied:
            if creds.auth_method == "token":
                self._raise_for_token(where, denied.exc)
            # AppRole/Kubernetes: the token may have been revoked or expired; log in once
            logger.info(
                "Vault denied %s to %s (HTTP 403); logging in again once",
                where,
                creds.identity,
            )
            creds.forget_session()
            try:
                return self._read_once(version)
            except _Denied as again:
                raise SecretError(
                    f"Vault secret {where}: permission denied (HTTP 403) for "
                    f"{creds.identity}, also after a fresh login (check its policy)"
                ) from again.exc

    def _raise_for_token(self, where: str, exc: BaseException) -> NoReturn:
        creds = self.credentials
        creds.forget_session()
        client = creds._new_client()
        client.token = creds.token.get_secret_value() if creds.token else None
        try:
            client.auth.token.lookup_self()
        except hvac.exceptions.Forbidden:
            raise SecretError(
                f"Vault secret {where} cannot be read: the static token of token auth is "
                "invalid, expired or revoked (HTTP 403); issue a new token"
            ) from exc
        except (hvac.exceptions.VaultError, requests.exceptions.RequestException):
            pass
        raise SecretError(
            f"Vault secret {where}: permission denied (HTTP 403) (check the policy of the "
            "token auth login)"
        ) from exc

    def _read_once(self, version: int | None) -> dict[str, Any]:
        creds = self.credentials
        where = self._where(version)
        secrets = creds._known_secrets()
        try:
            client = creds.session_client()
        except SecretError as exc:
            raise SecretError(f"Vault secret {where} cannot be read: {exc}") from exc
        try:
            response = client.secrets.kv.v2.read_secret_version(
                path=self.path,
                version=version,
                mount_point=self.mount_point,
                raise_on_deleted_version=True,
            )
        except hvac.exceptions.InvalidPath as exc:
            raise SecretError(f"Vault secret {where} does not exist (HTTP 404)") from exc
        except hvac.exceptions.Forbidden as exc:
            raise _Denied(exc) from exc
        except (hvac.exceptions.VaultError, requests.exceptions.RequestException) as exc:
            raise SecretError(
                f"Vault secret {where} cannot be read ({creds.identity}): {_describe(exc, secrets)}"
            ) from exc
        try:
            data = response["data"]["data"]
        except (KeyError, TypeError) as exc:
            raise SecretError(
                f"Vault secret {where}: unexpected answer (is {self.mount_point!r} "
                "a KV version 2 mount?)"
            ) from exc
        if not isinstance(data, dict):
            raise SecretError(f"Vault secret {where} has no key/value data")
        return dict(data)

    def get(self, key: str | None = None, version: int | None = None) -> SecretStr:
        """One value, wrapped so it cannot be printed or logged by accident."""
        name = key or self.key
        if not name:
            raise SecretError(
                f"Vault secret {self.location}: no key given and the block has no default key"
            )
        data = self.read(version)
        if name not in data:
            available = ", ".join(sorted(data)) or "none"
            where = self._where(version if version is not None else self.version)
            raise SecretError(f"Vault secret {where} has no key {name!r} (keys: {available})")
        value = data[name]
        return SecretStr(value if isinstance(value, str) else str(value))


class _Denied(Exception):
    """Internal: a read got HTTP 403 (policy, or a revoked/expired token)."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__("permission denied")
        self.exc = exc


class VaultSecret(VaultKVSecret):
    """A secret in Vault KV v2, read by path, key and optional version (cached, renewed).

    Same fields and behaviour as :class:`VaultKVSecret` (which stays for existing block
    documents), under the name the platform uses. ``get()`` returns a ``SecretStr``;
    errors are :class:`dora.errors.SecretError` naming the path, auth method and HTTP
    status, never the value or a credential.

    Examples:
        Read the pinned version of one key:
        ```python
        from blocks import VaultSecret

        vault_secret = VaultSecret.load("BLOCK_NAME")
        password = vault_secret.get().get_secret_value()
        ```
    """

    _block_type_name: ClassVar[str] = "DORA Vault Secret"
    _block_type_slug: ClassVar[str] = "dora-vault-secret"
    _description: ClassVar[str] = (
        "A Vault / OpenBao KV version 2 secret read by path, key and optional version, "
        "with a short in-process cache and automatic token renewal."
    )


def register_blocks() -> list[str]:
    """Register the block types with the current Prefect API; returns their slugs.

    ``dora deploy`` calls this so the blocks appear in the UI's catalogue before anyone has
    saved one (``Block.save`` registers its own type, but only on first save).
    """
    from blocks.kafka import KafkaConnection

    slugs = []
    for block in (VaultCredentials, VaultKVSecret, VaultSecret, KafkaConnection):
        block.register_type_and_schema(_sync=True)  # type: ignore[call-arg]
        slugs.append(block.get_block_type_slug())
    return slugs
