"""Deployment schedules generated from the definitions produce scheduled runs.

A real `prefect server start` (SQLite in a temp dir, the scheduler looping every second)
gets the deployments `flows.deployments.render()` writes to prefect.yaml; the scheduler
must create the next runs at the cron's times, read in the definition's time zone.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml
from croniter import croniter

from dora.definition.loader import LoadedDefinition, parse_definition
from flows.deployments import render
from tests.services import free_port as _free_port

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "definitions" / "dora-compliance-assessment.yaml"
N = 3  # the scheduler keeps at least this many future runs (min_runs)


@pytest.fixture(scope="module")
def scheduler_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("sched-prefect-home")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        {
            "PREFECT_HOME": str(home),
            "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home / 'p.db'}",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_UI_ENABLED": "false",
            "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "true",
            "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "1",
            "PREFECT_SERVER_SERVICES_SCHEDULER_MIN_RUNS": str(N),
            "PREFECT_SERVER_SERVICES_SCHEDULER_MAX_RUNS": "5",
            # runs are never created beyond this horizon (default 100 days): room for the
            # quarterly cron's next N runs
            "PREFECT_SERVER_SERVICES_SCHEDULER_MAX_SCHEDULED_TIME": "P400D",
        }
    )
    log = (home / "server.log").open("w")
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "prefect"),
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                pytest.fail(f"prefect server exited: {(home / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        else:
            pytest.fail("prefect server did not become healthy in 120 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def _post(api: str, path: str, body: dict[str, Any]) -> Any:
    # SQLite is busy while the scheduler loops every second: the server answers 503
    # ("database is locked") and, like Prefect's own client, we retry
    for attempt in range(10):
        r = httpx.post(f"{api}{path}", json=body, timeout=30)
        if r.status_code != 503:
            break
        time.sleep(0.5 * (attempt + 1))
    assert r.status_code < 300, f"POST {path}: {r.status_code} {r.text[:2000]}"
    return r.json()


def _definition(workflow_id: str, cron: str, timezone: str | None) -> LoadedDefinition:
    text = SEED.read_text(encoding="utf-8")
    text = text.replace('id: "dora-compliance-assessment"', f'id: "{workflow_id}"', 1)
    tz = f'\n      timezone: "{timezone}"' if timezone else ""
    text = text.replace('schedule: "0 0 1 */3 *"', f'schedule: "{cron}"{tz}', 1)
    return parse_definition(text, f"{workflow_id}.yaml")


def _deploy(api: str, defn: LoadedDefinition) -> tuple[str, dict[str, Any]]:
    """Register the deployment render() generates, schedules as `prefect deploy` sends them."""
    dep = yaml.safe_load(render([defn]))["deployments"][0]
    flow = _post(api, "/flows/", {"name": defn.workflow.id})
    body = {
        "name": dep["name"],
        "flow_id": flow["id"],
        "entrypoint": dep["entrypoint"],
        "tags": dep["tags"],
        "schedules": [
            {"schedule": {"cron": s["cron"], "timezone": s["timezone"]}, "active": s["active"]}
            for s in dep["schedules"]
        ],
    }
    return str(_post(api, "/deployments/", body)["id"]), dep


def _scheduled_starts(api: str, deployment_id: str, timeout: float = 60) -> list[datetime]:
    deadline = time.monotonic() + timeout
    runs: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        runs = _post(
            api,
            "/flow_runs/filter",
            {
                "deployments": {"id": {"any_": [deployment_id]}},
                "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}},
                "sort": "EXPECTED_START_TIME_ASC",
            },
        )
        if len(runs) >= N:
            break
        time.sleep(0.5)
    assert len(runs) >= N, f"the scheduler created {len(runs)} runs, expected at least {N}"
    assert all(r["auto_scheduled"] for r in runs)
    assert all(r["state"]["name"] == "Scheduled" for r in runs)
    return [datetime.fromisoformat(r["expected_start_time"]) for r in runs]


def _expected(cron: str, tz: str, start: datetime, n: int) -> list[datetime]:
    it = croniter(cron, start.astimezone(ZoneInfo(tz)))
    return [it.get_next(datetime) for _ in range(n)]


def _assert_matches(got: list[datetime], cron: str, tz: str, before: datetime) -> None:
    # the scheduler starts from its own "now", a moment after `before`: a cron time in
    # between may or may not be included
    expected = _expected(cron, tz, before, N + 1)
    first = got[:N]
    assert first in (expected[:N], expected[1:]), (first, expected)


@pytest.mark.timeout(300)
def test_seed_quarterly_schedule_creates_the_next_runs(scheduler_api: str) -> None:
    seed = _definition("dora-compliance-assessment", "0 0 1 */3 *", None)
    before = datetime.now(ZoneInfo("UTC"))
    dep_id, dep = _deploy(scheduler_api, seed)
    assert dep["schedules"] == [{"cron": "0 0 1 */3 *", "timezone": "UTC", "active": True}]
    got = _scheduled_starts(scheduler_api, dep_id)
    for t in got:
        utc = t.astimezone(ZoneInfo("UTC"))
        assert (utc.day, utc.hour, utc.minute, utc.month % 3) == (1, 0, 0, 1), utc
    _assert_matches(got, "0 0 1 */3 *", "UTC", before)


@pytest.mark.timeout(300)
def test_schedule_time_zone_is_honoured(scheduler_api: str) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    defn = _definition("dora-berlin-morning", "0 6 * * *", "Europe/Berlin")
    before = datetime.now(berlin)
    dep_id, dep = _deploy(scheduler_api, defn)
    assert dep["schedules"] == [{"cron": "0 6 * * *", "timezone": "Europe/Berlin", "active": True}]
    got = _scheduled_starts(scheduler_api, dep_id)
    for t in got:
        local = t.astimezone(berlin)
        assert (local.hour, local.minute) == (6, 0), local
        # 06:00 Berlin is 04:00 or 05:00 UTC (summer/winter time), never 06:00 UTC
        assert t.astimezone(ZoneInfo("UTC")).hour in (4, 5)
    _assert_matches(got, "0 6 * * *", "Europe/Berlin", before)
