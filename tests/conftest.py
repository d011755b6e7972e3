"""Shared fixtures: a real Prefect API server for the session, isolated from the developer's.

Prefect reads settings at import, so the environment is pinned *before* anything imports
prefect: a temporary PREFECT_HOME (never the user's ~/.prefect database), no inherited
PREFECT_API_URL from a developer `.env`, reports in a temporary folder.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

_TMP = Path(tempfile.mkdtemp(prefix="dora-tests-"))
os.environ["PREFECT_HOME"] = str(_TMP / "prefect-home")
os.environ.pop("PREFECT_API_URL", None)
os.environ.pop("PREFECT_API_KEY", None)
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_UI_ENABLED"] = "false"
os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
os.environ["DORA_REPORTS_DIR"] = str(_TMP / "reports")
os.environ["DORA_HOME"] = str(_TMP / "dora-home")  # the default audit store lives here
os.environ["DORA_DURATION_CHECK_INTERVAL_S"] = "0.2"

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "definitions" / "dora-compliance-assessment.yaml"


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[str]:
    """A real Prefect API server (subprocess, SQLite in a temp dir) for the whole session."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield str(PREFECT_API_URL.value())


@pytest.fixture
def tmp_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from dora.settings import get_settings

    out = tmp_path / "reports"
    monkeypatch.setenv("DORA_REPORTS_DIR", str(out))
    get_settings.cache_clear()
    yield out
    get_settings.cache_clear()
