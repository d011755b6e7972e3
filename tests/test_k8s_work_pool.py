"""The dora-k8s kubernetes work pool: template keys, rendered Job, schema and policy checks."""

from __future__ import annotations

import asyncio
import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from flows import k8s_pool

ROOT = Path(__file__).resolve().parent.parent
K8S_VERSION = "1.30.0"  # the cluster version we validate the rendered Job against


def _prefect_yaml() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    return doc


def _production() -> list[dict[str, Any]]:
    deps: list[dict[str, Any]] = _prefect_yaml()["definitions"]["production_deployments"]
    return deps


def _seed_job_variables() -> dict[str, Any]:
    dep = next(d for d in _production() if d["name"] == "dora-compliance-assessment-k8s")
    jv: dict[str, Any] = dep["work_pool"]["job_variables"]
    return jv


def _render_seed() -> dict[str, Any]:
    return k8s_pool.render_job({**_seed_job_variables(), "name": "dora-compliance-assessment"})


def test_template_derives_from_the_prefect_kubernetes_default() -> None:
    from prefect_kubernetes.worker import KubernetesWorker

    default = KubernetesWorker.get_default_base_job_template()
    tpl = k8s_pool.load_template()
    assert set(default["variables"]["properties"]) <= k8s_pool.template_variables(tpl)
    assert {
        "active_deadline_seconds",
        "vault_addr",
        "vault_k8s_role",
    } <= k8s_pool.template_variables(tpl)
    props = tpl["variables"]["properties"]
    assert props["namespace"]["default"] == "dora-workflows"
    assert props["service_account_name"]["default"] == "dora-flow-runner"
    assert props["backoff_limit"]["default"] == 0
    assert props["finished_job_ttl"]["default"] == 3600


def test_every_job_variable_key_in_prefect_yaml_is_a_template_variable() -> None:
    """Prefect silently ignores unknown job-variable keys (issue #17588)."""
    doc = _prefect_yaml()
    deps = list(doc.get("deployments") or []) + _production()
    k8s_deps = [d for d in deps if d["work_pool"]["name"] == k8s_pool.POOL]
    assert k8s_deps, "prefect.yaml has deployments on the dora-k8s pool"
    for dep in k8s_deps:
        jv = dep["work_pool"].get("job_variables") or {}
        assert k8s_pool.unknown_job_variables(jv) == [], dep["name"]
    assert k8s_pool.unknown_job_variables({"cpu": "2", "memory_request": "1Gi"}) == ["cpu"]


def test_production_job_variables_come_from_the_definition() -> None:
    jv = _seed_job_variables()
    # document_analysis asks for cpu "2" / memory "4Gi": the largest task wins
    assert jv["cpu_request"] == "2" and jv["cpu_limit"] == "4"
    assert jv["memory_request"] == "4Gi" and jv["memory_limit"] == "8Gi"
    assert jv["active_deadline_seconds"] == 3600 + k8s_pool.DEADLINE_GRACE_SECONDS
    assert jv["namespace"] == "dora-workflows"
    assert ":" in jv["image"] and not jv["image"].endswith(":latest")
    local = next(d for d in _prefect_yaml()["deployments"] if d["name"].endswith("-local"))
    prod = _production()[0]
    assert local["schedules"] and local["triggers"]
    assert "schedules" not in prod and "triggers" not in prod, "scheduled only once"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["500m", "2", "1500m"], "2"),
        (["2", "2500m"], "2500m"),
        (["512Mi", "4Gi", "1G"], "4Gi"),
        (["1G", "1000Mi"], "1000Mi"),  # 1000Mi = 1.048576e9 > 1e9
        ([], None),
    ],
)
def test_quantities_compare_as_kubernetes_quantities(
    values: list[str], expected: str | None
) -> None:
    assert k8s_pool.max_quantity(values) == expected


def test_scale_quantity() -> None:
    assert k8s_pool.scale_quantity("500m", 2) == "1"
    assert k8s_pool.scale_quantity("750m", 2) == "1500m"
    assert k8s_pool.scale_quantity("4Gi", 2) == "8Gi"
    assert k8s_pool.scale_quantity("1.5", 2) == "3"
    with pytest.raises(ValueError):
        k8s_pool.parse_quantity("two")


def test_rendered_job_has_resources_security_and_deadline() -> None:
    job = _render_seed()
    spec = job["spec"]
    pod = spec["template"]["spec"]
    container = pod["containers"][0]
    assert container["resources"] == {
        "requests": {"cpu": "2", "memory": "4Gi"},
        "limits": {"cpu": "4", "memory": "8Gi"},
    }
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert spec["activeDeadlineSeconds"] == 3900
    assert spec["ttlSecondsAfterFinished"] == 3600
    assert spec["backoffLimit"] == 0
    assert job["metadata"]["namespace"] == "dora-workflows"
    assert pod["serviceAccountName"] == "dora-flow-runner"
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["VAULT_ADDR"] and env["DORA_VAULT_K8S_ROLE"] == "dora-flow-runner"
    assert spec["template"]["metadata"]["annotations"]["vault.hashicorp.com/role"]
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert k8s_pool.policy_violations(job) == []


def test_rendered_job_validates_against_the_kubernetes_schema() -> None:
    import kubernetes_validate  # dev dependency (pyproject [dev]); never skipped

    job = _render_seed()
    assert kubernetes_validate.validate(job, K8S_VERSION, strict=True)
    # with the template defaults only (no deployment job variables) as well
    assert kubernetes_validate.validate(
        k8s_pool.render_job({"name": "defaults"}), K8S_VERSION, strict=True
    )
    bad = copy.deepcopy(job)
    bad["spec"]["template"]["spec"]["completions"] = 1  # the upstream default's mistake
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)


def _bad_template() -> dict[str, Any]:
    """Runs as root and has no limits: what our policy check must reject."""
    tpl = k8s_pool.load_template()
    pod = tpl["job_configuration"]["job_manifest"]["spec"]["template"]["spec"]
    pod["securityContext"] = {"runAsUser": 0}
    c = pod["containers"][0]
    c["securityContext"] = {"privileged": True}
    del c["resources"]["limits"]
    del tpl["job_configuration"]["job_manifest"]["spec"]["activeDeadlineSeconds"]
    return tpl


def test_policy_check_catches_a_bad_template() -> None:
    job = k8s_pool.render_job({**_seed_job_variables(), "name": "bad"}, _bad_template())
    problems = "\n".join(k8s_pool.policy_violations(job))
    assert "runAsNonRoot" in problems
    assert "non-zero uid" in problems
    assert "missing limits.cpu" in problems and "missing limits.memory" in problems
    assert "privileged" in problems
    assert "activeDeadlineSeconds" in problems


def test_policy_check_catches_unset_limits_and_latest_images() -> None:
    jv = {**_seed_job_variables(), "name": "x", "image": "registry/dora:latest"}
    jv.pop("memory_limit")
    jv["cpu_limit"] = "1"  # below the request of 2
    problems = "\n".join(k8s_pool.policy_violations(k8s_pool.render_job(jv)))
    assert "limits.cpu 1 < requests.cpu 2" in problems
    assert "image must be pinned" in problems
    # the template default limit applies when a deployment does not set one
    assert "missing limits.memory" not in problems


def test_production_prefect_file_moves_schedules_and_uses_dora_image(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DORA_IMAGE", "registry.example/dora:2.0.1")
    doc = k8s_pool.production_prefect_file(ROOT)
    assert all(
        d["work_pool"]["job_variables"]["image"] == "registry.example/dora:2.0.1"
        for d in doc["deployments"]
    )
    dep = next(d for d in doc["deployments"] if d["name"] == "dora-compliance-assessment-k8s")
    assert dep["schedules"][0]["cron"] == "0 0 1 */3 *"
    assert dep["triggers"][0]["expect"] == ["policy.updated"]
    doc = k8s_pool.production_prefect_file(ROOT, image="r/d:1", schedules=False)
    assert all("schedules" not in d for d in doc["deployments"])


@pytest.mark.usefixtures("prefect_api")
def test_pool_is_created_with_the_template_and_reads_back_the_same(prefect_api: str) -> None:
    from prefect import get_client

    tpl = k8s_pool.load_template()
    name = "dora-k8s-roundtrip"
    assert k8s_pool.ensure_pool(name) == "created"
    assert k8s_pool.ensure_pool(name) == "unchanged"

    async def read() -> Any:
        async with get_client() as client:
            return await client.read_work_pool(name)

    pool = asyncio.run(read())
    assert pool.type == "kubernetes"
    assert pool.base_job_template == tpl
    drifted = copy.deepcopy(tpl)
    drifted["variables"]["properties"]["namespace"]["default"] = "elsewhere"
    assert k8s_pool.ensure_pool(name, drifted) == "updated"
    assert k8s_pool.ensure_pool(name) == "updated"
    assert asyncio.run(read()).base_job_template == tpl


@pytest.mark.usefixtures("prefect_api")
def test_production_deployment_deploys_on_the_k8s_pool(prefect_api: str) -> None:
    from prefect import get_client

    env = {**os.environ, "PREFECT_API_URL": prefect_api, "DORA_IMAGE": "r.example/dora:9.9.9"}
    res = subprocess.run(
        [sys.executable, "-m", "flows.k8s_pool", "deploy", "--no-schedules"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]

    async def read() -> Any:
        async with get_client() as client:
            return await client.read_deployment_by_name(
                "dora-compliance-assessment/dora-compliance-assessment-k8s"
            )

    dep = asyncio.run(read())
    assert dep.work_pool_name == "dora-k8s"
    assert dep.job_variables["image"] == "r.example/dora:9.9.9"
    assert dep.job_variables["cpu_request"] == "2"
    assert dep.job_variables["active_deadline_seconds"] == 3900
    assert not dep.schedules
