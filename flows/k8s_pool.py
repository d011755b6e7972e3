"""The ``dora-k8s`` kubernetes work pool: one base job template, rendered and checked here.

``k8s/work-pool/base-job-template.json`` is the single source. It is prefect-kubernetes
0.8's default template (``KubernetesWorker.get_default_base_job_template()``) plus:

* namespace ``dora-workflows`` and service account ``dora-flow-runner`` as defaults;
* a non-root pod (runAsUser/fsGroup 10001, seccomp RuntimeDefault) and a locked-down
  container (no privilege escalation, read-only root filesystem, all capabilities
  dropped) with an emptyDir at ``/tmp`` (``HOME=/tmp``) for scratch files;
* cpu/memory requests and limits wired to the ``cpu_request``/``cpu_limit``/
  ``memory_request``/``memory_limit`` variables (with small defaults);
* ``activeDeadlineSeconds`` from the ``active_deadline_seconds`` variable, so Kubernetes
  kills a hung run (Prefect issue #21616), and ``finished_job_ttl`` 3600 s by default;
* Vault Kubernetes auth: ``VAULT_ADDR`` and ``DORA_VAULT_K8S_ROLE`` in the container env
  and the ``vault.hashicorp.com/role`` pod annotation (variables ``vault_addr``,
  ``vault_k8s_role``); ``backoff_limit`` 0 (Prefect reschedules evicted runs).

Job-variable keys that are not template variables are silently ignored by Prefect (issue
#17588), so :func:`unknown_job_variables` is checked by the tests for every deployment
in prefect.yaml, and :func:`policy_violations` is our own check of a rendered Job.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dora.settings import PROJECT_ROOT

if TYPE_CHECKING:
    from dora.definition.loader import LoadedDefinition

POOL = "dora-k8s"
POOL_TYPE = "kubernetes"
NAMESPACE = "dora-workflows"
SERVICE_ACCOUNT = "dora-flow-runner"
# prefect.yaml pins this tag (never ``latest``); ``deploy_production`` replaces it with
# $DORA_IMAGE when that is set.
DEFAULT_IMAGE = "ghcr.io/dora-compliance/dora-workflows:1.0.0"
IMAGE_ENV = "DORA_IMAGE"
FINISHED_JOB_TTL = 3600
# Limits are this multiple of the requests (Guaranteed QoS is not needed; 2x leaves
# head-room for LLM response parsing spikes without letting a run take a whole node).
LIMIT_FACTOR = 2
# Kubernetes' deadline is the definition's timeout plus this grace period, so Prefect's
# own timeout fires first and Kubernetes only ends runs that hang beyond it.
DEADLINE_GRACE_SECONDS = 300
TEMPLATE_PATH = PROJECT_ROOT / "k8s" / "work-pool" / "base-job-template.json"


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def template_variables(template: dict[str, Any] | None = None) -> set[str]:
    tpl = template if template is not None else load_template()
    return set(tpl["variables"]["properties"])


def unknown_job_variables(
    job_variables: dict[str, Any], template: dict[str, Any] | None = None
) -> list[str]:
    """Keys Prefect would silently ignore (issue #17588)."""
    known = template_variables(template)
    return sorted(k for k in job_variables if k.split(".", 1)[0] not in known)


# ---------------------------------------------------------------- quantities
_SUFFIX = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$")


def parse_quantity(q: str | int | float) -> Decimal:
    """A Kubernetes resource quantity ("500m", "2", "4Gi", "1.5G") as a number."""
    m = _QUANTITY.match(str(q).strip())
    if not m:
        raise ValueError(f"not a Kubernetes quantity: {q!r}")
    return Decimal(m.group(1)) * _SUFFIX[m.group(2) or ""]


def max_quantity(values: list[str]) -> str | None:
    return max(values, key=parse_quantity) if values else None


def scale_quantity(q: str, factor: int) -> str:
    """``q`` times ``factor`` in q's own unit ("500m"*2 -> "1", "4Gi"*2 -> "8Gi")."""
    m = _QUANTITY.match(q.strip())
    if not m:
        raise ValueError(f"not a Kubernetes quantity: {q!r}")
    number = Decimal(m.group(1)) * factor
    suffix = m.group(2) or ""
    if suffix == "m" and number % 1000 == 0:
        number, suffix = number / 1000, ""
    return f"{number.normalize():f}{suffix}"


# ---------------------------------------------------------------- deployment job variables
def job_variables_for(defn: LoadedDefinition) -> dict[str, Any]:
    """Job variables of a definition's production deployment.

    Requests are the maximum over the tasks' ``config.resources`` (the flow runs its tasks
    in one pod, so the pod must fit the largest); limits are ``LIMIT_FACTOR`` x requests;
    the active deadline is the workflow timeout plus ``DEADLINE_GRACE_SECONDS``.
    """
    wf = defn.workflow
    cpus = [t.config.resources.cpu for t in wf.tasks]
    mems = [t.config.resources.memory for t in wf.tasks]
    out: dict[str, Any] = {
        "image": DEFAULT_IMAGE,
        "namespace": NAMESPACE,
        "service_account_name": SERVICE_ACCOUNT,
        "finished_job_ttl": FINISHED_JOB_TTL,
    }
    cpu, mem = max_quantity(cpus), max_quantity(mems)
    if cpu:
        out["cpu_request"] = cpu
        out["cpu_limit"] = scale_quantity(cpu, LIMIT_FACTOR)
    if mem:
        out["memory_request"] = mem
        out["memory_limit"] = scale_quantity(mem, LIMIT_FACTOR)
    out["active_deadline_seconds"] = int(wf.config.timeout) + DEADLINE_GRACE_SECONDS
    return out


# ---------------------------------------------------------------- rendering
class _OfflineClient:
    """Stands in for the Prefect client: our template references no blocks or variables,
    so rendering needs no API (and must not start a temporary server)."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"rendering the job template needed the Prefect API ({name})")


async def _render(template: dict[str, Any], values: dict[str, Any]) -> Any:
    from prefect_kubernetes.worker import KubernetesWorkerJobConfiguration

    return await KubernetesWorkerJobConfiguration.from_template_and_values(
        template,
        values,
        client=_OfflineClient(),
    )


def render_job(
    job_variables: dict[str, Any], template: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The Kubernetes Job manifest the worker would create for these job variables.

    Rendered with prefect-kubernetes' own ``from_template_and_values`` plus the env
    population the worker does, so Prefect's env is merged with the template's.
    """
    tpl = copy.deepcopy(template if template is not None else load_template())
    config = asyncio.run(_render(tpl, dict(job_variables)))
    config._populate_env_in_manifest()
    manifest: dict[str, Any] = copy.deepcopy(config.job_manifest)
    return manifest


# ---------------------------------------------------------------- policy
def policy_violations(manifest: dict[str, Any]) -> list[str]:
    """Our security/resource policy for a rendered Job; empty when it complies."""
    problems: list[str] = []
    spec = manifest.get("spec") or {}
    pod = (spec.get("template") or {}).get("spec") or {}
    psc = pod.get("securityContext") or {}
    if psc.get("runAsNonRoot") is not True:
        problems.append("pod securityContext.runAsNonRoot must be true")
    if psc.get("runAsUser") in (None, 0):
        problems.append("pod securityContext.runAsUser must be a non-zero uid")
    if (psc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        problems.append("pod seccompProfile must be RuntimeDefault")
    if not spec.get("activeDeadlineSeconds"):
        problems.append("spec.activeDeadlineSeconds must be set")
    if spec.get("backoffLimit") not in (0, None):
        problems.append("spec.backoffLimit must be 0")
    for c in pod.get("containers") or []:
        name = c.get("name", "?")
        csc = c.get("securityContext") or {}
        if csc.get("runAsUser") == 0:
            problems.append(f"container {name}: runs as root")
        if csc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"container {name}: allowPrivilegeEscalation must be false")
        if csc.get("privileged"):
            problems.append(f"container {name}: privileged")
        if csc.get("readOnlyRootFilesystem") is not True:
            problems.append(f"container {name}: readOnlyRootFilesystem must be true")
        if "ALL" not in ((csc.get("capabilities") or {}).get("drop") or []):
            problems.append(f"container {name}: capabilities must drop ALL")
        image = str(c.get("image") or "")
        if not image or image.endswith(":latest") or ":" not in image.rsplit("/", 1)[-1]:
            problems.append(f"container {name}: image must be pinned (got {image!r})")
        res = c.get("resources") or {}
        for kind in ("requests", "limits"):
            for r in ("cpu", "memory"):
                if not (res.get(kind) or {}).get(r):
                    problems.append(f"container {name}: missing {kind}.{r}")
        for r in ("cpu", "memory"):
            req = (res.get("requests") or {}).get(r)
            lim = (res.get("limits") or {}).get(r)
            if req and lim and parse_quantity(lim) < parse_quantity(req):
                problems.append(f"container {name}: limits.{r} {lim} < requests.{r} {req}")
    return problems


# ---------------------------------------------------------------- pool and deployments
def ensure_pool(name: str = POOL, template: dict[str, Any] | None = None) -> str:
    """Create the kubernetes work pool with our template, or update a drifted template.

    Returns "created", "updated" or "unchanged". Works against the API in
    ``PREFECT_API_URL``; no Kubernetes cluster is needed to create the pool.
    """
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate, WorkPoolUpdate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    tpl = template if template is not None else load_template()
    with get_client(sync_client=True) as client:
        try:
            pool = client.read_work_pool(name)
        except ObjectNotFound:
            try:
                client.create_work_pool(
                    WorkPoolCreate(name=name, type=POOL_TYPE, base_job_template=tpl)
                )
                return "created"
            except ObjectAlreadyExists:
                pool = client.read_work_pool(name)
        if pool.base_job_template == tpl:
            return "unchanged"
        client.update_work_pool(name, WorkPoolUpdate(base_job_template=tpl))
        return "updated"


def production_prefect_file(
    project_dir: Path = PROJECT_ROOT, image: str | None = None, schedules: bool = True
) -> dict[str, Any]:
    """A prefect.yaml document deploying only the ``-k8s`` deployments.

    ``image`` (default ``$DORA_IMAGE``) replaces the pinned tag; with ``schedules`` the
    ``-local`` deployment's schedules and triggers move onto its ``-k8s`` twin.
    """
    import os

    import yaml

    doc = yaml.safe_load((project_dir / "prefect.yaml").read_text(encoding="utf-8")) or {}
    prod = copy.deepcopy((doc.get("definitions") or {}).get("production_deployments") or [])
    local = {d["entrypoint"]: d for d in doc.get("deployments") or []}
    image = image or os.environ.get(IMAGE_ENV)
    for dep in prod:
        if image:
            dep["work_pool"]["job_variables"]["image"] = image
        twin = local.get(dep["entrypoint"], {})
        if schedules:
            dep["schedules"] = copy.deepcopy(twin.get("schedules") or [])
            dep["triggers"] = copy.deepcopy(twin.get("triggers") or [])
    return {
        "name": doc.get("name"),
        "prefect-version": doc.get("prefect-version"),
        "deployments": prod,
    }


def deploy_production(
    project_dir: Path = PROJECT_ROOT, image: str | None = None, schedules: bool = True
) -> list[str]:
    """Ensure the pool, then ``prefect deploy --all`` the ``-k8s`` deployments."""
    import os
    import subprocess
    import sys
    import tempfile

    import yaml

    ensure_pool()
    doc = production_prefect_file(project_dir, image, schedules)
    prefect_bin = Path(sys.executable).parent / "prefect"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "prefect.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        res = subprocess.run(
            [
                str(prefect_bin) if prefect_bin.exists() else "prefect",
                "--no-prompt",
                "deploy",
                "--all",
                "--prefect-file",
                str(path),
            ],
            capture_output=True,
            text=True,
            cwd=project_dir,
            env=dict(os.environ),
            timeout=600,
        )
    if res.returncode != 0:
        raise RuntimeError(
            "prefect deploy (production) failed:\n" + res.stdout[-3000:] + res.stderr[-3000:]
        )
    return [d["name"] for d in doc["deployments"]]


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m flows.k8s_pool")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("ensure-pool", help=f"create/update the {POOL} work pool")
    dep = sub.add_parser("deploy", help="deploy the -k8s deployments from prefect.yaml")
    dep.add_argument("--image", help=f"image (default ${IMAGE_ENV}, else the pinned tag)")
    dep.add_argument(
        "--no-schedules",
        action="store_true",
        help="leave schedules/triggers on the -local deployments",
    )
    args = parser.parse_args(argv)
    if args.cmd == "ensure-pool":
        print(f"{POOL}: {ensure_pool()}")
    else:
        names = deploy_production(image=args.image, schedules=not args.no_schedules)
        print(f"deployed {', '.join(names)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
