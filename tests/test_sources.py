"""External sources for ``external_api`` inputs: files, a real local HTTP API, clear failures."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from dora.errors import ConfigurationError, ExternalSourceError
from tasks.sources import load_sources, read_source

ROOT = Path(__file__).resolve().parent.parent
FIGURES = {"currency": "EUR", "annual_revenue_eur": 412000000, "clients": 310000}


class _Finance(BaseHTTPRequestHandler):
    token = "s3cr3t-token"

    def do_GET(self) -> None:
        if self.headers.get("Authorization") != f"Bearer {self.token}":
            self.send_response(401)
            self.end_headers()
            return
        body = json.dumps(FIGURES).encode() if self.path == "/figures" else b"{not json"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture(scope="module")
def finance_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Finance)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_configured_file_source_resolves_relative_to_sources_file() -> None:
    data = read_source("financial_system", sources_file=ROOT / "sources.yaml")
    assert data["currency"] == "EUR" and data["annual_revenue_eur"] > 0


def test_csv_source_becomes_typed_record(tmp_path: Path) -> None:
    csv = tmp_path / "fin.csv"
    csv.write_text("currency,annual_revenue_eur,clients\nEUR,412000000.5,310000\n")
    assert read_source("x", override=str(csv)) == {
        "currency": "EUR",
        "annual_revenue_eur": 412000000.5,
        "clients": 310000,
    }


def test_unconfigured_source_names_file_and_alternatives(tmp_path: Path) -> None:
    cfg = tmp_path / "sources.yaml"
    cfg.write_text("sources:\n  finance: {kind: file, path: f.json}\n")
    with pytest.raises(
        ExternalSourceError,
        match=r"'market_data' is not configured in .*sources.yaml \(configured: finance\)",
    ):
        read_source("market_data", sources_file=cfg)


def test_malformed_json_and_missing_file_are_clear(tmp_path: Path) -> None:
    bad = tmp_path / "fin.json"
    bad.write_text('{"annual_revenue_eur": 1,,}')
    with pytest.raises(ExternalSourceError, match=r"not valid JSON \(line 1, column 26"):
        read_source("financial_system", override=str(bad))
    with pytest.raises(ExternalSourceError, match="does not exist"):
        read_source("financial_system", override=str(tmp_path / "nope.json"))


def test_bad_sources_file_is_a_configuration_error(tmp_path: Path) -> None:
    cfg = tmp_path / "sources.yaml"
    cfg.write_text("sources:\n  finance: {kind: ftp, path: x}\n")
    with pytest.raises(ConfigurationError, match="sources file"):
        load_sources(cfg)


@pytest.mark.usefixtures("prefect_api")
def test_http_source_with_token_from_secret_block(finance_api: str, tmp_path: Path) -> None:
    from prefect.blocks.system import Secret

    Secret(value=_Finance.token).save("finance-api-token-test", overwrite=True)
    cfg = tmp_path / "sources.yaml"
    cfg.write_text(
        f"sources:\n  finance:\n    kind: http\n    url: {finance_api}/figures\n"
        "    secret_block: secret/finance-api-token-test\n"
    )
    assert read_source("finance", sources_file=cfg) == FIGURES
    cfg.write_text(
        f"sources:\n  finance:\n    kind: http\n    url: {finance_api}/broken\n"
        "    secret_block: secret/finance-api-token-test\n"
    )
    with pytest.raises(ExternalSourceError, match="not valid JSON") as info:
        read_source("finance", sources_file=cfg)
    assert _Finance.token not in str(info.value)


def test_http_source_without_credentials_or_unreachable(finance_api: str) -> None:
    with pytest.raises(ExternalSourceError, match="answered HTTP 401"):
        read_source("finance", override=f"{finance_api}/figures")
    with pytest.raises(ExternalSourceError, match="unreachable"):
        read_source("finance", override="http://127.0.0.1:9/figures")
