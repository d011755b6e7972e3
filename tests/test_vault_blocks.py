"""Vault blocks against a real OpenBao dev server (tests/services.py starts it).

Kubernetes auth: there is no cluster here. OpenBao's kubernetes auth needs exactly one
thing from a cluster, the TokenReview API, so ``token_review_api`` (tests/services.py)
serves that endpoint locally and the login runs for real inside OpenBao (JWT claims,
role bindings, review call, token issued). What this does *not* prove: that a real
kube-apiserver accepts OpenBao's reviewer credentials or TLS setup; that stays for a
cluster test. Unreachable Vault and a missing token file are tested too.
"""

from __future__ import annotations

import logging
import pickle
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import hvac
import pytest
from prefect.blocks.core import Block
from prefect.testing.standard_test_suites import BlockStandardTestSuite
from pydantic import SecretStr
from typer.testing import CliRunner

from blocks import VaultCredentials, VaultKVSecret, VaultSecret, clear_caches, register_blocks
from dora.blocks_cli import blocks_app
from dora.errors import SecretError
from tests.services import OpenBao, TokenReviewAPI, free_port, openbao, token_review_api

__all__ = ["openbao", "token_review_api"]  # fixtures are used by name

SECRET_VALUE = "sk-test-Q2hhbmdlTWVQbGVhc2U"


def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


#: a structurally valid service-account JWT (legacy claims); its signature is junk, which
#: is fine: OpenBao asks the Kubernetes TokenReview API, never verifies it locally here
SA_JWT = ".".join(
    [
        _b64(b'{"alg":"RS256","typ":"JWT"}'),
        _b64(
            b'{"iss":"kubernetes/serviceaccount",'
            b'"kubernetes.io/serviceaccount/namespace":"dora",'
            b'"kubernetes.io/serviceaccount/service-account.name":"dora-worker",'
            b'"kubernetes.io/serviceaccount/service-account.uid":"0b7c3a52-uid",'
            b'"sub":"system:serviceaccount:dora:dora-worker"}'
        ),
        _b64(b"not-a-real-signature"),
    ]
)


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    """Every test starts without cached secrets or shared logins."""
    clear_caches()
    yield
    clear_caches()


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def kv_path(openbao: OpenBao) -> str:
    """A fresh KV v2 secret with two keys, at a path no other test uses."""
    path = f"dora/{_unique('llm')}"
    openbao.client().secrets.kv.v2.create_or_update_secret(
        path=path,
        secret={"anthropic_api_key": SECRET_VALUE, "openai_api_key": "sk-other-value"},
        mount_point="secret",
    )
    return path


def _token_credentials(openbao: OpenBao) -> VaultCredentials:
    return VaultCredentials(vault_url=openbao.url, token=SecretStr(openbao.root_token))


@pytest.fixture
def approle(openbao: OpenBao) -> tuple[str, str, str]:
    """An AppRole allowed to read ``secret/data/dora/*`` only: (mount, role_id, secret_id)."""
    root = openbao.client()
    mount = _unique("approle")
    root.sys.enable_auth_method("approle", path=mount)
    policy = _unique("dora-read")
    root.sys.create_or_update_policy(
        name=policy, policy='path "secret/data/dora/*" { capabilities = ["read"] }'
    )
    root.auth.approle.create_or_update_approle(
        role_name="dora-worker", token_policies=[policy], token_ttl="5m", mount_point=mount
    )
    role_id = root.auth.approle.read_role_id("dora-worker", mount_point=mount)["data"]["role_id"]
    secret_id = root.auth.approle.generate_secret_id("dora-worker", mount_point=mount)["data"][
        "secret_id"
    ]
    return mount, role_id, secret_id


# ------------------------------------------------------------------ token auth
def test_token_auth_reads_kv_v2_secret(openbao: OpenBao, kv_path: str) -> None:
    block = VaultKVSecret(
        credentials=_token_credentials(openbao), path=kv_path, key="anthropic_api_key"
    )
    assert block.read() == {
        "anthropic_api_key": SECRET_VALUE,
        "openai_api_key": "sk-other-value",
    }
    value = block.get()
    assert isinstance(value, SecretStr)
    assert value.get_secret_value() == SECRET_VALUE
    assert block.get("openai_api_key").get_secret_value() == "sk-other-value"
    # the value never shows in repr/str, which is what logs and tracebacks print
    assert SECRET_VALUE not in repr(value) and SECRET_VALUE not in str(value)
    assert openbao.root_token not in repr(block)


def test_reads_latest_version(openbao: OpenBao, kv_path: str) -> None:
    openbao.client().secrets.kv.v2.create_or_update_secret(
        path=kv_path, secret={"anthropic_api_key": "rotated-value"}, mount_point="secret"
    )
    block = VaultKVSecret(credentials=_token_credentials(openbao), path=kv_path)
    assert block.get("anthropic_api_key").get_secret_value() == "rotated-value"


# ------------------------------------------------------------------ AppRole
def test_approle_login_then_read(
    openbao: OpenBao, kv_path: str, approle: tuple[str, str, str]
) -> None:
    mount, role_id, secret_id = approle
    credentials = VaultCredentials(
        vault_url=openbao.url,
        auth_method="approle",
        auth_mount_point=mount,
        role_id=role_id,
        secret_id=SecretStr(secret_id),
    )
    client = credentials.client()
    assert client.is_authenticated()
    assert client.token != openbao.root_token  # a token of its own, from the login
    block = VaultKVSecret(credentials=credentials, path=kv_path)
    assert block.get("anthropic_api_key").get_secret_value() == SECRET_VALUE


def test_approle_policy_forbids_other_paths(
    openbao: OpenBao, approle: tuple[str, str, str]
) -> None:
    mount, role_id, secret_id = approle
    openbao.client().secrets.kv.v2.create_or_update_secret(
        path="payments/db", secret={"password": SECRET_VALUE}, mount_point="secret"
    )
    block = VaultKVSecret(
        credentials=VaultCredentials(
            vault_url=openbao.url,
            auth_method="approle",
            auth_mount_point=mount,
            role_id=role_id,
            secret_id=SecretStr(secret_id),
        ),
        path="payments/db",
    )
    with pytest.raises(SecretError) as info:
        block.read()
    message = str(info.value)
    assert "secret/payments/db" in message and "permission denied" in message
    assert secret_id not in message and SECRET_VALUE not in message


def test_approle_wrong_secret_id_is_secret_error_without_the_secret_id(
    openbao: OpenBao, approle: tuple[str, str, str]
) -> None:
    mount, role_id, _ = approle
    wrong = str(uuid.uuid4())
    credentials = VaultCredentials(
        vault_url=openbao.url,
        auth_method="approle",
        auth_mount_point=mount,
        role_id=role_id,
        secret_id=SecretStr(wrong),
    )
    with pytest.raises(SecretError) as info:
        credentials.client()
    message = str(info.value)
    assert "approle login" in message and role_id in message
    assert wrong not in message
    assert isinstance(info.value.__cause__, hvac.exceptions.VaultError)


def test_approle_without_secret_id_is_rejected_before_any_request() -> None:
    credentials = VaultCredentials(
        vault_url=f"http://127.0.0.1:{free_port()}", auth_method="approle", role_id="r"
    )
    with pytest.raises(SecretError, match="needs role_id and secret_id"):
        credentials.client()


# ------------------------------------------------------------------ failures name the path only
def test_missing_path_names_the_path_not_the_token(openbao: OpenBao) -> None:
    block = VaultKVSecret(credentials=_token_credentials(openbao), path="dora/does-not-exist")
    with pytest.raises(SecretError) as info:
        block.read()
    message = str(info.value)
    assert "secret/dora/does-not-exist" in message and "does not exist" in message
    assert openbao.root_token not in message
    assert isinstance(info.value.__cause__, hvac.exceptions.InvalidPath)
    # picklable, because Prefect ships task exceptions across processes
    assert str(pickle.loads(pickle.dumps(info.value))) == message


def test_missing_key_lists_keys_but_never_values(openbao: OpenBao, kv_path: str) -> None:
    block = VaultKVSecret(credentials=_token_credentials(openbao), path=kv_path)
    with pytest.raises(SecretError) as info:
        block.get("mistral_api_key")
    message = str(info.value)
    assert "'mistral_api_key'" in message and "anthropic_api_key" in message
    assert SECRET_VALUE not in message and "sk-other-value" not in message
    with pytest.raises(SecretError, match="no default key"):
        block.get()


def test_bad_token_is_secret_error_without_the_token(openbao: OpenBao, kv_path: str) -> None:
    bad = "s.not-a-real-token-" + uuid.uuid4().hex
    block = VaultKVSecret(
        credentials=VaultCredentials(vault_url=openbao.url, token=SecretStr(bad)), path=kv_path
    )
    with pytest.raises(SecretError) as info:
        block.read()
    message = str(info.value)
    assert kv_path in message
    assert bad not in message and SECRET_VALUE not in message


def test_unreachable_vault_is_secret_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    block = VaultKVSecret(
        credentials=VaultCredentials(
            vault_url=url, token=SecretStr("tok-abcdef"), timeout_seconds=2
        ),
        path="dora/llm",
    )
    with pytest.raises(SecretError) as info:
        block.read()
    message = str(info.value)
    assert "secret/dora/llm" in message and "unreachable" in message
    assert "tok-abcdef" not in message


def test_not_a_kv_v2_mount(openbao: OpenBao) -> None:
    block = VaultKVSecret(
        credentials=_token_credentials(openbao), mount_point="no-such-mount", path="x"
    )
    with pytest.raises(SecretError) as info:
        block.read()
    assert "no-such-mount/x" in str(info.value)
    assert openbao.root_token not in str(info.value)


# ------------------------------------------------------------------ Kubernetes (unit level)
def test_kubernetes_login_reads_the_jwt_and_maps_failures(tmp_path: Path) -> None:
    jwt = SA_JWT
    token_file = tmp_path / "token"
    token_file.write_text(jwt + "\n", encoding="utf-8")
    credentials = VaultCredentials(
        vault_url=f"http://127.0.0.1:{free_port()}",
        auth_method="kubernetes",
        auth_mount_point="kubernetes-prod",
        k8s_role="dora-worker",
        k8s_token_path=str(token_file),
        timeout_seconds=2,
    )
    with pytest.raises(SecretError) as info:
        credentials.client()
    message = str(info.value)
    assert "kubernetes login" in message and "'dora-worker'" in message
    assert "kubernetes-prod" in message and "unreachable" in message
    assert jwt not in message


def _self_signed_ca_pem() -> str:
    """A throwaway CA certificate: OpenBao insists on one when the local CA is disabled."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-k8s-ca")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture
def k8s_mount(openbao: OpenBao, token_review_api: TokenReviewAPI) -> str:
    """A kubernetes auth mount whose cluster is the local TokenReview stand-in."""
    root = openbao.client()
    mount = _unique("k8s")
    root.sys.enable_auth_method("kubernetes", path=mount)
    root.auth.kubernetes.configure(
        kubernetes_host=token_review_api.url,
        kubernetes_ca_cert=_self_signed_ca_pem(),
        token_reviewer_jwt="reviewer-jwt",
        disable_local_ca_jwt=True,
        mount_point=mount,
    )
    policy = _unique("dora-read")
    root.sys.create_or_update_policy(
        name=policy, policy='path "secret/data/dora/*" { capabilities = ["read"] }'
    )
    root.auth.kubernetes.create_role(
        "dora-worker",
        bound_service_account_names=["dora-worker"],
        bound_service_account_namespaces=["dora"],
        policies=[policy],
        mount_point=mount,
    )
    return mount


def _k8s_credentials(openbao: OpenBao, mount: str, token_file: Path) -> VaultCredentials:
    return VaultCredentials(
        vault_url=openbao.url,
        auth_method="kubernetes",
        auth_mount_point=mount,
        k8s_role="dora-worker",
        k8s_token_path=str(token_file),
    )


def test_kubernetes_login_then_read(
    openbao: OpenBao,
    token_review_api: TokenReviewAPI,
    k8s_mount: str,
    kv_path: str,
    tmp_path: Path,
) -> None:
    token_review_api.accounts[SA_JWT] = ("dora", "dora-worker", "0b7c3a52-uid")
    (tmp_path / "token").write_text(SA_JWT + "\n", encoding="utf-8")
    credentials = _k8s_credentials(openbao, k8s_mount, tmp_path / "token")
    client = credentials.client()
    meta = client.auth.token.lookup_self()["data"]["meta"]
    assert meta["role"] == "dora-worker" and meta["service_account_namespace"] == "dora"
    # OpenBao really asked the (stand-in) cluster, with the reviewer's credentials
    assert token_review_api.reviews == [
        ("/apis/authentication.k8s.io/v1/tokenreviews", "Bearer reviewer-jwt")
    ]
    block = VaultKVSecret(credentials=credentials, path=kv_path, key="anthropic_api_key")
    assert block.get().get_secret_value() == SECRET_VALUE


def test_kubernetes_rejected_jwt_is_secret_error_without_the_jwt(
    openbao: OpenBao, token_review_api: TokenReviewAPI, k8s_mount: str, tmp_path: Path
) -> None:
    # the cluster does not know this token (e.g. the pod was deleted)
    (tmp_path / "token").write_text(SA_JWT, encoding="utf-8")
    credentials = _k8s_credentials(openbao, k8s_mount, tmp_path / "token")
    with pytest.raises(SecretError) as info:
        credentials.client()
    message = str(info.value)
    assert "kubernetes login" in message and "'dora-worker'" in message and k8s_mount in message
    assert SA_JWT not in message
    assert isinstance(info.value.__cause__, hvac.exceptions.VaultError)
    assert len(token_review_api.reviews) == 1
    # a role the mount does not know is refused before any review
    token_review_api.accounts[SA_JWT] = ("dora", "dora-worker", "0b7c3a52-uid")
    with pytest.raises(SecretError, match="'nobody'"):
        credentials.model_copy(update={"k8s_role": "nobody"}).client()
    assert len(token_review_api.reviews) == 1


def test_kubernetes_missing_token_file(tmp_path: Path) -> None:
    credentials = VaultCredentials(
        vault_url="http://127.0.0.1:1",
        auth_method="kubernetes",
        k8s_role="dora-worker",
        k8s_token_path=str(tmp_path / "absent"),
    )
    with pytest.raises(SecretError, match="cannot read the service-account token"):
        credentials.client()
    with pytest.raises(SecretError, match="needs k8s_role"):
        VaultCredentials(vault_url="http://127.0.0.1:1", auth_method="kubernetes").client()


# ------------------------------------------------------------------ Prefect API round trip
@pytest.mark.usefixtures("prefect_api")
def test_blocks_save_and_load_through_prefect_api(openbao: OpenBao, kv_path: str) -> None:
    assert register_blocks() == [
        "dora-vault-credentials",
        "dora-vault-kv-secret",
        "dora-vault-secret",
        "dora-kafka-connection",
    ]
    creds_name = _unique("vault")
    secret_name = _unique("llm-keys")
    credentials = _token_credentials(openbao)
    credentials.save(creds_name)
    VaultKVSecret(credentials=credentials, path=kv_path, key="anthropic_api_key").save(secret_name)

    loaded = VaultKVSecret.load(secret_name)
    assert isinstance(loaded, VaultKVSecret)
    assert loaded.location == f"secret/{kv_path}"
    assert loaded.get().get_secret_value() == SECRET_VALUE
    # the credentials came back as the saved block, token intact but masked
    again = VaultCredentials.load(creds_name)
    assert isinstance(again, VaultCredentials)
    assert again.token is not None and again.token.get_secret_value() == openbao.root_token
    assert openbao.root_token not in repr(again)


def test_vault_error_text_is_scrubbed_of_known_secrets() -> None:
    """Defence in depth: if a server or proxy ever echoes a credential, it is masked."""
    from blocks.vault import _describe

    exc = hvac.exceptions.InvalidRequest(
        "invalid secret id 5ecret-id-value", errors=["invalid secret id 5ecret-id-value"]
    )
    text = _describe(exc, ["5ecret-id-value"])
    assert text == "InvalidRequest (HTTP 400): invalid secret id **********"


# ------------------------------------------------------------------ Prefect's block standard suite
class _OfflineImageCheck(BlockStandardTestSuite):
    def test_has_a_valid_image(self, block: type[Block]) -> None:
        """The suite downloads the logo; no network here, so check the URL itself instead.

        A real check that can fail offline: an https URL on a known image host with an
        image path or a size parameter (what the Prefect UI loads).
        """
        from urllib.parse import urlparse

        url = str(block._logo_url)
        parsed = urlparse(url)
        assert parsed.scheme == "https" and parsed.netloc, url
        assert parsed.path.endswith((".png", ".svg", ".jpg")) or "size=" in parsed.query, url


class TestVaultCredentialsStandard(_OfflineImageCheck):
    @pytest.fixture
    def block(self) -> type[Block]:
        return VaultCredentials


class TestVaultKVSecretStandard(_OfflineImageCheck):
    @pytest.fixture
    def block(self) -> type[Block]:
        return VaultKVSecret


class TestVaultSecretStandard(_OfflineImageCheck):
    @pytest.fixture
    def block(self) -> type[Block]:
        return VaultSecret


# ------------------------------------------------------------------ VaultSecret: versions, auth
CANARY = "canary-" + uuid.uuid4().hex  # a secret value that must never show anywhere

READ_POLICY = 'path "secret/data/dora/*" { capabilities = ["read"] }'


def _versioned_path(openbao: OpenBao) -> str:
    """A secret with version 1 (``v1-`` + canary) and version 2 (``v2-`` + canary)."""
    path = f"dora/{_unique('versioned')}"
    root = openbao.client()
    for n in (1, 2):
        root.secrets.kv.v2.create_or_update_secret(
            path=path, secret={"password": f"v{n}-{CANARY}"}, mount_point="secret"
        )
    return path


def _approle_credentials(openbao: OpenBao, approle: tuple[str, str, str]) -> VaultCredentials:
    mount, role_id, secret_id = approle
    return VaultCredentials(
        vault_url=openbao.url,
        auth_method="approle",
        auth_mount_point=mount,
        role_id=role_id,
        secret_id=SecretStr(secret_id),
    )


@pytest.fixture(params=["token", "approle", "kubernetes"])
def any_credentials(
    request: pytest.FixtureRequest, openbao: OpenBao, tmp_path: Path
) -> VaultCredentials:
    """Credentials for each auth method, all able to read ``secret/data/dora/*``."""
    if request.param == "token":
        return _token_credentials(openbao)
    if request.param == "approle":
        return _approle_credentials(openbao, request.getfixturevalue("approle"))
    review: TokenReviewAPI = request.getfixturevalue("token_review_api")
    mount = request.getfixturevalue("k8s_mount")
    review.accounts[SA_JWT] = ("dora", "dora-worker", "0b7c3a52-uid")
    (tmp_path / "token").write_text(SA_JWT, encoding="utf-8")
    return _k8s_credentials(openbao, mount, tmp_path / "token")


def test_vault_secret_reads_versions_with_each_auth_method(
    openbao: OpenBao, any_credentials: VaultCredentials, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    path = _versioned_path(openbao)
    latest = VaultSecret(credentials=any_credentials, path=path, key="password")
    assert latest.get().get_secret_value() == f"v2-{CANARY}"
    assert latest.get(version=1).get_secret_value() == f"v1-{CANARY}"
    pinned = VaultSecret(credentials=any_credentials, path=path, key="password", version=1)
    assert pinned.get().get_secret_value() == f"v1-{CANARY}"
    assert pinned.read(version=2) == {"password": f"v2-{CANARY}"}
    with pytest.raises(SecretError) as info:
        pinned.read(version=9)
    assert f"secret/{path} (version 9)" in str(info.value)
    for text in (str(info.value), repr(latest), repr(pinned), caplog.text):
        assert CANARY not in text


def test_vault_secret_is_a_kv_secret_for_existing_callers() -> None:
    assert issubclass(VaultSecret, VaultKVSecret)
    assert VaultSecret.get_block_type_slug() == "dora-vault-secret"
    assert VaultKVSecret.get_block_type_slug() == "dora-vault-kv-secret"


def test_wrong_secret_id_on_read_names_the_role_not_the_secret_id(
    openbao: OpenBao, approle: tuple[str, str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    mount, role_id, _ = approle
    wrong = "wrong-" + uuid.uuid4().hex
    credentials = VaultCredentials(
        vault_url=openbao.url,
        auth_method="approle",
        auth_mount_point=mount,
        role_id=role_id,
        secret_id=SecretStr(wrong),
    )
    block = VaultSecret(credentials=credentials, path="dora/anything", key="k")
    with pytest.raises(SecretError) as info:
        block.get()
    message = str(info.value)
    assert "secret/dora/anything" in message and "approle login" in message
    assert role_id in message and mount in message and "HTTP 400" in message
    assert wrong not in message and wrong not in repr(block) and wrong not in caplog.text


def _child_token(openbao: OpenBao, **kwargs: object) -> str:
    root = openbao.client()
    policy = _unique("dora-read")
    root.sys.create_or_update_policy(name=policy, policy=READ_POLICY)
    answer = root.auth.token.create(policies=[policy], **kwargs)
    return str(answer["auth"]["client_token"])


def test_revoked_static_token_is_a_clear_secret_error(
    openbao: OpenBao, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    path = _versioned_path(openbao)
    token = _child_token(openbao, ttl="10m")
    block = VaultSecret(
        credentials=VaultCredentials(vault_url=openbao.url, token=SecretStr(token)),
        path=path,
        key="password",
        cache_ttl_seconds=0,
    )
    assert block.get().get_secret_value() == f"v2-{CANARY}"
    hvac.Client(url=openbao.url, token=token).auth.token.revoke_self()
    with pytest.raises(SecretError) as info:
        block.get()
    message = str(info.value)
    assert f"secret/{path}" in message and "token" in message
    assert "revoked" in message and "HTTP 403" in message
    for text in (message, repr(block), caplog.text):
        assert token not in text and CANARY not in text


def test_revoked_approle_token_logs_in_again(
    openbao: OpenBao, approle: tuple[str, str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    path = _versioned_path(openbao)
    credentials = _approle_credentials(openbao, approle)
    block = VaultSecret(credentials=credentials, path=path, key="password", cache_ttl_seconds=0)
    assert block.get().get_secret_value() == f"v2-{CANARY}"
    first = credentials.session_client().token
    hvac.Client(url=openbao.url, token=first).auth.token.revoke_self()
    assert block.get().get_secret_value() == f"v2-{CANARY}"  # transparent re-login
    second = credentials.session_client().token
    assert second != first
    assert "logging in again" in caplog.text
    for text in (caplog.text, repr(block)):
        assert CANARY not in text and first not in text and approle[2] not in text


def test_revoked_kubernetes_token_logs_in_again(
    openbao: OpenBao,
    token_review_api: TokenReviewAPI,
    k8s_mount: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    token_review_api.accounts[SA_JWT] = ("dora", "dora-worker", "0b7c3a52-uid")
    (tmp_path / "token").write_text(SA_JWT, encoding="utf-8")
    credentials = _k8s_credentials(openbao, k8s_mount, tmp_path / "token")
    path = _versioned_path(openbao)
    block = VaultSecret(credentials=credentials, path=path, key="password", cache_ttl_seconds=0)
    assert block.get().get_secret_value() == f"v2-{CANARY}"
    first = credentials.session_client().token
    hvac.Client(url=openbao.url, token=first).auth.token.revoke_self()
    assert block.get().get_secret_value() == f"v2-{CANARY}"
    assert credentials.session_client().token != first
    assert len(token_review_api.reviews) == 2  # one review per login
    for text in (caplog.text, repr(block)):
        assert CANARY not in text and SA_JWT not in text and first not in text


def test_approle_token_at_max_ttl_is_replaced_by_a_new_login(
    openbao: OpenBao, caplog: pytest.LogCaptureFixture
) -> None:
    """Renewal cannot outlive token_max_ttl: the block logs in again before expiry."""
    caplog.set_level(logging.INFO, logger="blocks.vault")
    root = openbao.client()
    mount = _unique("approle")
    root.sys.enable_auth_method("approle", path=mount)
    policy = _unique("dora-read")
    root.sys.create_or_update_policy(name=policy, policy=READ_POLICY)
    root.auth.approle.create_or_update_approle(
        role_name="short",
        token_policies=[policy],
        token_ttl="4s",
        token_max_ttl="4s",
        mount_point=mount,
    )
    role_id = root.auth.approle.read_role_id("short", mount_point=mount)["data"]["role_id"]
    secret_id = root.auth.approle.generate_secret_id("short", mount_point=mount)["data"][
        "secret_id"
    ]
    credentials = _approle_credentials(openbao, (mount, role_id, secret_id))
    path = _versioned_path(openbao)
    block = VaultSecret(credentials=credentials, path=path, key="password", cache_ttl_seconds=0)
    first = None
    started = time.monotonic()
    while time.monotonic() - started < 6:  # past the 4 s max TTL of the first token
        assert block.get().get_secret_value() == f"v2-{CANARY}"
        first = first or credentials.session_client().token
        time.sleep(0.3)
    assert credentials.session_client().token != first
    assert "logging in again" in caplog.text
    assert secret_id not in caplog.text and CANARY not in caplog.text


def test_cache_serves_reads_within_ttl(openbao: OpenBao, monkeypatch: pytest.MonkeyPatch) -> None:
    from hvac.api.secrets_engines.kv_v2 import KvV2

    calls: list[str] = []
    original = KvV2.read_secret_version

    def counting(self: KvV2, path: str, *args: object, **kwargs: object) -> object:
        calls.append(path)
        return original(self, path, *args, **kwargs)

    monkeypatch.setattr(KvV2, "read_secret_version", counting)
    path = _versioned_path(openbao)
    block = VaultSecret(
        credentials=_token_credentials(openbao), path=path, key="password", cache_ttl_seconds=1
    )
    started = time.monotonic()
    assert block.get().get_secret_value() == f"v2-{CANARY}"
    openbao.client().secrets.kv.v2.create_or_update_secret(
        path=path, secret={"password": "v3"}, mount_point="secret"
    )
    # a second block with the same Vault, credentials, mount and path shares the cache
    same = VaultSecret(credentials=_token_credentials(openbao), path=path, key="password")
    assert same.get().get_secret_value() == f"v2-{CANARY}"
    assert calls == [path]
    # another version is another cache entry
    assert block.get(version=1).get_secret_value() == f"v1-{CANARY}"
    assert len(calls) == 2
    # after the TTL the new value shows (poll; never a long fixed sleep)
    while (value := block.get().get_secret_value()) != "v3":
        assert time.monotonic() - started < 5, "cache never expired"
        time.sleep(0.05)
    assert time.monotonic() - started >= 1
    assert value == "v3" and len(calls) == 3
    # 0 disables the cache: every read goes to Vault
    uncached = block.model_copy(update={"cache_ttl_seconds": 0})
    uncached.get()
    uncached.get()
    assert len(calls) == 5


def test_cache_is_per_credentials(openbao: OpenBao, kv_path: str) -> None:
    """A cached value is never served to other credentials (e.g. a revoked or bad token)."""
    good = VaultSecret(credentials=_token_credentials(openbao), path=kv_path)
    assert good.get("anthropic_api_key").get_secret_value() == SECRET_VALUE
    bad = VaultSecret(
        credentials=VaultCredentials(vault_url=openbao.url, token=SecretStr("s.bad-token")),
        path=kv_path,
    )
    with pytest.raises(SecretError, match="invalid, expired or revoked"):
        bad.get("anthropic_api_key")


def test_short_ttl_renewable_token_is_renewed_across_reads(
    openbao: OpenBao, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="blocks.vault")
    path = _versioned_path(openbao)
    token = _child_token(openbao, ttl="5s", renewable=True, explicit_max_ttl="10m")
    block = VaultSecret(
        credentials=VaultCredentials(vault_url=openbao.url, token=SecretStr(token)),
        path=path,
        key="password",
        cache_ttl_seconds=0,
    )
    started = time.monotonic()
    while time.monotonic() - started < 8:  # well past the token's original 5 s TTL
        assert block.get().get_secret_value() == f"v2-{CANARY}"
        time.sleep(0.5)
    assert "renewed" in caplog.text
    looked_up = openbao.client().auth.token.lookup(token)["data"]
    assert looked_up["ttl"] > 0
    assert token not in caplog.text and CANARY not in caplog.text


def test_expired_static_token_is_a_clear_secret_error(openbao: OpenBao) -> None:
    path = _versioned_path(openbao)
    token = _child_token(openbao, ttl="2s", renewable=False)
    block = VaultSecret(
        credentials=VaultCredentials(vault_url=openbao.url, token=SecretStr(token)),
        path=path,
        key="password",
        cache_ttl_seconds=0,
    )
    assert block.get().get_secret_value() == f"v2-{CANARY}"
    deadline = time.monotonic() + 10
    with pytest.raises(SecretError) as info:  # poll until the token dies
        while time.monotonic() < deadline:
            block.get()
            time.sleep(0.2)
    message = str(info.value)
    assert f"secret/{path}" in message and "token" in message and "expired" in message
    assert token not in message and CANARY not in message


# ------------------------------------------------------------------ dora blocks register
def test_cli_register_unreachable_api_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: f"http://127.0.0.1:{free_port()}/api"}):
        result = CliRunner().invoke(blocks_app, ["register"])
    assert result.exit_code == 1
    assert "cannot reach the Prefect API" in result.output


@pytest.mark.usefixtures("prefect_api")
def test_cli_register_lists_block_types() -> None:
    result = CliRunner().invoke(blocks_app, ["register"])
    assert result.exit_code == 0, result.output
    for slug in ("dora-vault-credentials", "dora-vault-kv-secret", "dora-vault-secret"):
        assert f"registered block type {slug}" in result.output


def test_concurrent_reads_share_cache_and_login(openbao: OpenBao) -> None:
    from concurrent.futures import ThreadPoolExecutor

    path = _versioned_path(openbao)
    block = VaultSecret(credentials=_token_credentials(openbao), path=path, key="password")
    with ThreadPoolExecutor(max_workers=8) as pool:
        values = list(pool.map(lambda _: block.get().get_secret_value(), range(64)))
    assert values == [f"v2-{CANARY}"] * 64
