"""prefect.yaml is generated from the definitions and deploys on a real Prefect server."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_committed_prefect_yaml_matches_definitions() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "dora.cli.main", "deployments", "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert res.returncode == 0, res.stderr


def test_check_fails_when_stale(tmp_path: Path) -> None:
    stale = tmp_path / "prefect.yaml"
    stale.write_text((ROOT / "prefect.yaml").read_text().replace("0 0 1 */3 *", "0 0 1 * *"))
    res = subprocess.run(
        [sys.executable, "-m", "dora.cli.main", "deployments", "--check", "-o", str(stale)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert res.returncode == 1 and "does not match the definitions" in res.stderr


def test_schedule_and_event_trigger_come_from_the_definition() -> None:
    doc = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    dep = next(d for d in doc["deployments"] if d["name"] == "dora-compliance-assessment-local")
    assert dep["entrypoint"] == "flows/catalog.py:dora_compliance_assessment"
    assert dep["schedules"] == [{"cron": "0 0 1 */3 *", "timezone": "UTC", "active": True}]
    assert dep["triggers"][0]["expect"] == ["policy.updated"]
    assert "documents" in dep["triggers"][0]["parameters"]


@pytest.mark.usefixtures("prefect_api")
def test_prefect_deploy_registers_schedule_and_trigger(prefect_api: str) -> None:
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists

    async def setup() -> None:
        async with get_client() as client:
            with contextlib.suppress(ObjectAlreadyExists):  # from an earlier run of this session
                await client.create_work_pool(WorkPoolCreate(name="dora-local", type="process"))

    asyncio.run(setup())
    env = {**os.environ, "PREFECT_API_URL": prefect_api}
    res = subprocess.run(
        [str(Path(sys.executable).parent / "prefect"), "--no-prompt", "deploy", "--all"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]

    async def read() -> tuple[object, list[object]]:
        async with get_client() as client:
            dep = await client.read_deployment_by_name(
                "dora-compliance-assessment/dora-compliance-assessment-local"
            )
            autos = await client.read_automations_by_name(
                "dora-compliance-assessment-policy_update"
            )
            return dep, autos

    dep, autos = asyncio.run(read())
    assert dep.schedules[0].schedule.cron == "0 0 1 */3 *"
    assert dep.schedules[0].schedule.timezone == "UTC"
    assert dep.version.startswith("1.0.0+")
    assert dep.parameter_openapi_schema["required"] == ["documents"]
    assert autos, "the policy.updated event trigger became an automation"


def test_production_deployments_are_generated_but_not_deployed_by_deploy_all() -> None:
    """`prefect deploy --all` needs only dora-local; the -k8s twins live in definitions."""
    doc = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    local = {d["name"]: d for d in doc["deployments"]}
    assert {d["work_pool"]["name"] for d in local.values()} == {"dora-local"}
    prod = doc["definitions"]["production_deployments"]
    # one -k8s twin per -local deployment, same flow, on the kubernetes pool
    assert sorted(d["name"] for d in prod) == sorted(
        n.removesuffix("-local") + "-k8s" for n in local
    )
    for dep in prod:
        twin = local[dep["name"].removesuffix("-k8s") + "-local"]
        assert dep["work_pool"]["name"] == "dora-k8s"
        assert dep["entrypoint"] == twin["entrypoint"]
        assert dep["pull"], "the k8s deployment sets the image's working directory"
    assert "dora-compliance-assessment-k8s" in {d["name"] for d in prod}

    from dora import platform

    names = sorted(d["name"] for d in platform.production_yaml_deployments(ROOT))
    assert names == sorted(d["name"] for d in prod)  # kept by prune_deployments
