"""Prefect blocks that read secrets from HashiCorp Vault (or OpenBao) through hvac.

Why our own blocks: PrefectHQ ships no Vault integration and the third-party ones target
Prefect 2. The design stores *how to reach* a secret in Prefect (a block document) and the
secret itself only in Vault, so rotating a key never touches Prefect or a definition.

Two blocks, split so one set of credentials serves many secrets:

* :class:`VaultCredentials`: where Vault is and how to log in (``token``, ``approle`` or
  ``kubernetes``). Prefer ``kubernetes`` in production: the block then holds only a role
  name, and the pod's service-account JWT (mounted by Kubernetes, short-lived) proves who
  we are, so no static credential is stored in Prefect's database at all.
* :class:`VaultKVSecret`: one KV version 2 secret (mount point + path), with an optional
  default key so ``block.get()`` returns the value callers usually want.

Every failure leaves these blocks as :class:`dora.errors.SecretError`. Its message names
the Vault path (and key), which is what an operator needs to fix access, and never the
secret value, a token, a secret id or a JWT: exception text ends up in Prefect logs,
task-run states and the audit trail, all of which are far less protected than Vault.
"""

from __future__ import annotations

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
        return f"{type(exc).__name__}: {_scrub(detail, secrets)}"
    if isinstance(exc, requests.exceptions.RequestException):
        # requests' messages include the URL (no credentials: those travel in headers)
        return f"Vault is unreachable ({type(exc).__name__})"
    return type(exc).__name__


class VaultCredentials(Block):
    """How to reach and log in to Vault; shared by every :class:`VaultKVSecret`.

    ``token`` and ``secret_id`` are ``SecretStr`` so Prefect encrypts them at rest and
    masks them in the UI and in ``repr``. For Kubernetes auth nothing secret is stored:
    the JWT is read from ``k8s_token_path`` at login time.
    """

    _block_type_name: ClassVar[str] = "DORA Vault Credentials"
    _block_type_slug: ClassVar[str] = "dora-vault-credentials"
    _description: ClassVar[str] = (
        "Address and login (token, AppRole or Kubernetes) of a HashiCorp Vault / OpenBao "
        "server, used by DORA Vault KV Secret blocks."
    )

    vault_url: str = Field(description="Base URL, e.g. https://vault.internal:8200")
    namespace: str | None = Field(default=None, description="Vault Enterprise namespace.")
    auth_method: AuthMethod = Field(default="token")
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
    timeout_seconds: float = Field(default=10.0, gt=0)

    def _known_secrets(self) -> list[str]:
        return [s.get_secret_value() for s in (self.token, self.secret_id) if s is not None]

    def _fail(
        self, what: str, exc: BaseException, extra_secrets: list[str] | None = None
    ) -> NoReturn:
        secrets = self._known_secrets() + (extra_secrets or [])
        raise SecretError(
            f"Vault {self.auth_method} login at {self.vault_url} failed for {what}: "
            f"{_describe(exc, secrets)}"
        ) from exc

    def client(self) -> hvac.Client:
        """A logged-in hvac client.

        A new client per call, on purpose: AppRole and Kubernetes logins return
        short-lived tokens, and a fresh login is cheaper than tracking their expiry in a
        block that Prefect may cache and share across tasks.
        """
        client = hvac.Client(
            url=self.vault_url,
            namespace=self.namespace,
            verify=self.verify,
            timeout=self.timeout_seconds,
        )
        mount = self.auth_mount_point or self.auth_method
        if self.auth_method == "token":
            if self.token is None:
                raise SecretError(
                    f"Vault credentials for {self.vault_url}: auth_method=token needs a token"
                )
            client.token = self.token.get_secret_value()
            return client
        if self.auth_method == "approle":
            if not self.role_id or self.secret_id is None:
                raise SecretError(
                    f"Vault credentials for {self.vault_url}: auth_method=approle needs "
                    "role_id and secret_id"
                )
            try:
                client.auth.approle.login(
                    role_id=self.role_id,
                    secret_id=self.secret_id.get_secret_value(),
                    mount_point=mount,
                )
            except (hvac.exceptions.VaultError, requests.exceptions.RequestException) as exc:
                self._fail(f"role_id {self.role_id!r} (mount {mount!r})", exc)
            return client
        # kubernetes
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
            client.auth.kubernetes.login(role=self.k8s_role, jwt=jwt, mount_point=mount)
        except (hvac.exceptions.VaultError, requests.exceptions.RequestException) as exc:
            self._fail(f"role {self.k8s_role!r} (mount {mount!r})", exc, [jwt])
        return client


class VaultKVSecret(Block):
    """One KV v2 secret: ``read()`` returns all its keys, ``get(key)`` one as ``SecretStr``.

    Agents and sources name the block, never the secret: ``VaultKVSecret.load("llm-keys")
    .get("anthropic_api_key")``. ``key`` is the default for ``get()`` so a block can stand
    for a single value (the shape Prefect's built-in ``Secret`` block has).
    """

    _block_type_name: ClassVar[str] = "DORA Vault KV Secret"
    _block_type_slug: ClassVar[str] = "dora-vault-kv-secret"
    _description: ClassVar[str] = "A key/value secret in a Vault KV version 2 secrets engine."

    credentials: VaultCredentials
    mount_point: str = Field(default="secret", description="Mount of the KV v2 engine.")
    path: str = Field(description="Secret path below the mount, e.g. dora/llm")
    key: str | None = Field(default=None, description="Key get() returns when none is given.")

    @property
    def location(self) -> str:
        """``mount/path``: how messages name the secret (never its contents)."""
        return f"{self.mount_point.strip('/')}/{self.path.strip('/')}"

    def read(self) -> dict[str, Any]:
        """All key/value pairs of the latest version of the secret."""
        client = self.credentials.client()
        secrets = self.credentials._known_secrets()
        try:
            response = client.secrets.kv.v2.read_secret_version(
                path=self.path, mount_point=self.mount_point, raise_on_deleted_version=True
            )
        except hvac.exceptions.InvalidPath as exc:
            raise SecretError(f"Vault secret {self.location} does not exist") from exc
        except hvac.exceptions.Forbidden as exc:
            raise SecretError(
                f"Vault secret {self.location}: permission denied (check the policy of the "
                f"{self.credentials.auth_method} login)"
            ) from exc
        except (hvac.exceptions.VaultError, requests.exceptions.RequestException) as exc:
            raise SecretError(
                f"Vault secret {self.location} cannot be read: {_describe(exc, secrets)}"
            ) from exc
        try:
            data = response["data"]["data"]
        except (KeyError, TypeError) as exc:
            raise SecretError(
                f"Vault secret {self.location}: unexpected answer (is {self.mount_point!r} "
                "a KV version 2 mount?)"
            ) from exc
        if not isinstance(data, dict):
            raise SecretError(f"Vault secret {self.location} has no key/value data")
        return dict(data)

    def get(self, key: str | None = None) -> SecretStr:
        """One value, wrapped so it cannot be printed or logged by accident."""
        name = key or self.key
        if not name:
            raise SecretError(
                f"Vault secret {self.location}: no key given and the block has no default key"
            )
        data = self.read()
        if name not in data:
            available = ", ".join(sorted(data)) or "none"
            raise SecretError(
                f"Vault secret {self.location} has no key {name!r} (keys: {available})"
            )
        value = data[name]
        return SecretStr(value if isinstance(value, str) else str(value))


def register_blocks() -> list[str]:
    """Register both block types with the current Prefect API; returns their slugs.

    ``dora deploy`` calls this so the blocks appear in the UI's catalogue before anyone has
    saved one (``Block.save`` registers its own type, but only on first save).
    """
    slugs = []
    for block in (VaultCredentials, VaultKVSecret):
        block.register_type_and_schema(_sync=True)  # type: ignore[call-arg]
        slugs.append(block.get_block_type_slug())
    return slugs
