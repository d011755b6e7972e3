"""External data sources for ``type: external_api`` inputs.

A definition names a source (``source: financial_system``); *where* it lives is
deployment configuration in ``sources.yaml`` (``DORA_SOURCES_FILE``), so the same
definition runs against a test file locally and the finance system's API in production::

    sources:
      financial_system:
        kind: file                      # JSON or CSV
        path: examples/financial_data.json
      market_data:
        kind: http
        url: https://finance.internal/api/v1/figures
        secret_block: finance-api-token # Prefect Secret (or Vault) block holding a bearer token

A run may override a source with a path or URL passed as the input's parameter.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Annotated, Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError

from dora.definition.yamlsafe import YamlProblems, load_located
from dora.errors import ConfigurationError, ExternalSourceError

MAX_SOURCE_BYTES = 20_000_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FileSource(_Strict):
    kind: Literal["file"]
    path: Path


class HttpSource(_Strict):
    kind: Literal["http"]
    url: str
    secret_block: str | None = Field(None, description="Block whose value is a bearer token.")
    timeout_seconds: float = Field(30, gt=0)


Source = Annotated[
    Annotated[FileSource, Tag("file")] | Annotated[HttpSource, Tag("http")], Discriminator("kind")
]


class SourcesFile(_Strict):
    sources: dict[str, Source] = Field(default_factory=dict)


def load_sources(path: Path) -> dict[str, FileSource | HttpSource]:
    if not path.is_file():
        return {}
    try:
        located = load_located(path.read_text(encoding="utf-8"), str(path))
        parsed = SourcesFile.model_validate(located.data)
    except YamlProblems as exc:
        raise ConfigurationError(f"sources file {path}: {exc}") from None
    except ValidationError as exc:
        lines = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigurationError(f"sources file {path}: {lines}") from None
    base = path.parent
    out: dict[str, FileSource | HttpSource] = {}
    for name, src in parsed.sources.items():
        if isinstance(src, FileSource) and not src.path.is_absolute():
            out[name] = FileSource(kind="file", path=base / src.path)
        else:
            out[name] = src
    return out


def read_source(name: str, override: str | None = None, sources_file: Path | None = None) -> Any:
    """Read source ``name`` (or the override path/URL) as JSON-compatible data."""
    if override:
        spec: FileSource | HttpSource = (
            HttpSource(kind="http", url=override)
            if override.startswith(("http://", "https://"))
            else FileSource(kind="file", path=Path(override))
        )
    else:
        if sources_file is None:
            from dora.settings import get_settings

            sources_file = get_settings().sources_file
        known = load_sources(sources_file)
        if name not in known:
            listed = ", ".join(sorted(known)) or "none"
            raise ExternalSourceError(
                f"external source {name!r} is not configured in {sources_file} (configured: {listed}); "
                f"add it there or pass a file path or URL for this input"
            )
        spec = known[name]
    if isinstance(spec, FileSource):
        return _read_file(name, spec.path)
    return _read_http(name, spec)


def _read_file(name: str, path: Path) -> Any:
    try:
        if path.stat().st_size > MAX_SOURCE_BYTES:
            raise ExternalSourceError(
                f"source {name!r}: {path} is larger than {MAX_SOURCE_BYTES} bytes"
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ExternalSourceError(f"source {name!r}: file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ExternalSourceError(f"source {name!r}: cannot read {path}: {exc}") from None
    return _parse(name, str(path), text, "csv" if path.suffix.lower() == ".csv" else "json")


def _read_http(name: str, spec: HttpSource) -> Any:
    headers = {"Accept": "application/json"}
    if spec.secret_block:
        headers["Authorization"] = f"Bearer {_secret(spec.secret_block)}"
    try:
        response = httpx.get(
            spec.url, headers=headers, timeout=spec.timeout_seconds, follow_redirects=False
        )
    except httpx.HTTPError as exc:
        raise ExternalSourceError(
            f"source {name!r}: {spec.url} is unreachable ({type(exc).__name__})"
        ) from None
    if response.status_code != 200:
        raise ExternalSourceError(
            f"source {name!r}: {spec.url} answered HTTP {response.status_code}"
        )
    kind = "csv" if "csv" in response.headers.get("content-type", "") else "json"
    return _parse(name, spec.url, response.text, kind)


def _secret(block_name: str) -> str:
    from prefect.blocks.core import Block

    try:
        block = Block.load(block_name)
    except Exception as exc:
        raise ExternalSourceError(
            f"secret block {block_name!r} cannot be loaded: {type(exc).__name__}"
        ) from None
    getter = getattr(block, "get", None)
    value: Any = getter() if callable(getter) else getattr(block, "value", None)
    secret = getattr(value, "get_secret_value", None)
    if callable(secret):
        value = secret()
    if not isinstance(value, str) or not value:
        raise ExternalSourceError(f"secret block {block_name!r} holds no token")
    return value


def _parse(name: str, where: str, text: str, kind: str) -> Any:
    if kind == "csv":
        rows = list(csv.DictReader(io.StringIO(text)))
        if not rows:
            raise ExternalSourceError(f"source {name!r}: {where} has no data rows")
        converted = [{k: _number(v) for k, v in row.items() if k} for row in rows]
        return converted[0] if len(converted) == 1 else converted
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ExternalSourceError(
            f"source {name!r}: {where} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None


def _number(value: str | None) -> Any:
    if value is None:
        return None
    text = value.strip()
    if text == "":
        return None
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            continue
    return text
