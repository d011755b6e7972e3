"""k8s/: the kustomize overlays render (our renderer, cross-checked with kubectl kustomize),
every object validates against the Kubernetes 1.30 schemas, our policy passes on the
overlays and fails on the deliberately bad fixture with one clear message per check; the
work-pool template lives in one place; the Dockerfile rules; the Helm values; the Vault
Kubernetes-auth setup against a real OpenBao."""

from __future__ import annotations

import base64
import functools
import json
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import hvac
import kubernetes_validate
import pytest
import yaml

from tests.services import OpenBao, TokenReviewAPI, openbao, token_review_api

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "k8s"
BAD = ROOT / "tests" / "fixtures" / "k8s" / "bad"
K8S_VERSION = "1.30.0"  # the cluster version we validate against (as the work-pool test)
OVERLAYS = ("dev", "prod")
IMAGE = "ghcr.io/dora-compliance/dora-workflows"

sys.path.insert(0, str(K8S / "tools"))
import dockerfile_policy  # noqa: E402
import kustomize_lite  # noqa: E402
import manifest_policy  # noqa: E402

__all__ = ["openbao", "token_review_api"]  # fixtures used by name

Obj = dict[str, Any]


@functools.cache
def _render(path: str) -> tuple[Obj, ...]:
    return tuple(kustomize_lite.render(ROOT / path))


def _overlay(name: str) -> list[Obj]:
    return list(_render(f"k8s/overlays/{name}"))


def _one(objs: list[Obj], kind: str, name: str) -> Obj:
    found = [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def _by_prefix(objs: list[Obj], kind: str, prefix: str) -> Obj:
    found = [o for o in objs if o["kind"] == kind and o["metadata"]["name"].startswith(prefix)]
    assert len(found) == 1, f"{kind}/{prefix}*: {len(found)} found"
    return found[0]


def _container(deployment: Obj) -> Obj:
    c: Obj = deployment["spec"]["template"]["spec"]["containers"][0]
    return c


# ---------------------------------------------------------------- render + schema + policy
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_the_whole_platform(overlay: str) -> None:
    kinds = defaultdict(set)
    for o in _overlay(overlay):
        kinds[o["kind"]].add(o["metadata"]["name"])
        if o["kind"] != "Namespace":
            assert o["metadata"]["namespace"] == "dora-workflows", o["metadata"]["name"]
    assert kinds["Namespace"] == {"dora-workflows"}
    assert kinds["Deployment"] == {"dora-worker", "dora-webhook", "dora-outbox-relay"}
    assert kinds["ServiceAccount"] == {
        "dora-worker",
        "dora-webhook",
        "dora-flow-runner",
        "dora-outbox-relay",
    }
    assert kinds["Role"] == kinds["RoleBinding"] == {"dora-worker"}
    assert kinds["Service"] == kinds["Ingress"] == {"dora-webhook"}
    assert kinds["HorizontalPodAutoscaler"] == kinds["PodDisruptionBudget"] == {"dora-webhook"}
    assert {"default-deny-all", "allow-dns", "dora-worker", "dora-webhook", "dora-flow-run"} <= (
        kinds["NetworkPolicy"]
    )
    assert {n.rsplit("-", 1)[0] for n in kinds["ConfigMap"]} == {"dora-work-pool", "dora-runtime"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_object_validates_against_the_kubernetes_schema(overlay: str) -> None:
    for obj in _overlay(overlay):
        assert kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_schema_validation_is_not_a_formality() -> None:
    deployment = json.loads(json.dumps(_one(_overlay("prod"), "Deployment", "dora-webhook")))
    _container(deployment)["livenessProbe"]["httpGet"]["paht"] = "/health"  # typo
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlays_pass_our_policy(overlay: str) -> None:
    problems = manifest_policy.violations(_overlay(overlay))
    assert problems == [], "\n".join(map(str, problems))


BAD_EXPECTATIONS = {
    "non-root": [
        "container app: runAsUser must be a non-zero uid (got 0)",
        "runAsNonRoot must be true",
    ],
    "hardening": [
        "container app: must not be privileged",
        "container app: allowPrivilegeEscalation must be false",
        "container app: capabilities must drop ALL",
        "container app: readOnlyRootFilesystem must be true",
        "seccompProfile must be RuntimeDefault",
    ],
    "resources": [
        "container sidecar: missing limits.memory",
        "container app: limits.cpu 500m < requests.cpu 2",
    ],
    "probes": ["container app serves ports but has no readinessProbe"],
    "image-pinned": ["'nginx:latest' uses the mutable 'latest' tag", "'busybox' has no tag"],
    "secrets": [
        "Secret with data in the manifests",
        "env API_TOKEN must come from a secretKeyRef",
        "env DB_PASSWORD must come from a secretKeyRef",
    ],
    "labels": [
        "Namespace/bad-ns: missing labels app.kubernetes.io/managed-by",
        "part-of is 'someone-else'",
        "does not match pod template labels",
        "Service/bad-ns/bad-service: selector",
    ],
    "rbac": [
        "ClusterRole grants cluster-wide access",
        "wildcards are not allowed",
        "access to secrets",
    ],
    "network": ["Namespace/bad-ns: no default-deny NetworkPolicy"],
    "pod-security": ["pod-security.kubernetes.io/enforce must be 'restricted' (got 'baseline')"],
}


def test_every_policy_check_has_an_expectation() -> None:
    assert set(BAD_EXPECTATIONS) == set(manifest_policy.CHECKS)


@pytest.mark.parametrize("check", sorted(BAD_EXPECTATIONS))
def test_bad_fixture_fails_each_policy_check_with_a_clear_message(check: str) -> None:
    objs = list(_render("tests/fixtures/k8s/bad"))
    messages = "\n".join(str(v) for v in manifest_policy.CHECKS[check](objs))
    assert messages, f"check {check} passed on the bad fixture"
    for expected in BAD_EXPECTATIONS[check]:
        assert expected in messages, f"{check}: {expected!r} not in\n{messages}"
    assert all(line.startswith(f"[{check}] ") for line in messages.splitlines())


def test_bad_fixture_is_schema_valid_so_only_our_policy_rejects_it() -> None:
    for obj in _render("tests/fixtures/k8s/bad"):
        assert kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_policy_accepts_digests_and_reference_env_names() -> None:
    assert manifest_policy.image_problem("r.example/x@sha256:" + "a" * 64) is None
    assert manifest_policy.image_problem("r.example:5000/x") is not None  # port is not a tag
    deployment = json.loads(json.dumps(_one(_overlay("dev"), "Deployment", "dora-webhook")))
    env = _container(deployment)["env"]
    assert any(e["name"] == "DORA_WEBHOOK_SECRET_BLOCK" and "value" in e for e in env)
    assert manifest_policy.check_secrets([deployment]) == []
    env.append({"name": "OPENAI_API_KEY", "value": "sk-x"})
    assert manifest_policy.check_secrets([deployment])


# ---------------------------------------------------------------- the renderer itself
def _kubectl() -> str:
    found = shutil.which("kubectl")
    assert found, "kubectl (with its built-in kustomize) is part of this machine image"
    return found


@pytest.mark.parametrize(
    "path", ["k8s/base", "k8s/overlays/dev", "k8s/overlays/prod", "k8s/work-pool"]
)
def test_renderer_output_equals_kubectl_kustomize(path: str) -> None:
    res = subprocess.run(
        [_kubectl(), "kustomize", str(ROOT / path)], capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr
    theirs = {str(kustomize_lite.obj_id(o)): o for o in yaml.safe_load_all(res.stdout) if o}
    ours = {str(kustomize_lite.obj_id(o)): o for o in _render(path)}
    assert sorted(ours) == sorted(theirs)
    for key, obj in ours.items():
        assert obj == theirs[key], key


def test_configmap_hash_matches_kustomize_test_vectors() -> None:
    # api/hasher/hasher_test.go: {"one": ""} -> 9g67k2htb6, empty data -> 6ct58987ht
    assert kustomize_lite.configmap_hash({"data": {"one": ""}}) == "9g67k2htb6"
    assert kustomize_lite.configmap_hash({"data": ""}) == "6ct58987ht"


def test_strategic_merge_follows_kubernetes_merge_keys() -> None:
    base = {
        "spec": {
            "replicas": 2,
            "template": {
                "spec": {
                    "containers": [
                        {"name": "a", "image": "x:1", "env": [{"name": "A", "value": "1"}]},
                        {"name": "b", "image": "y:1", "args": ["--one", "--two"]},
                    ]
                }
            },
        },
        "minAvailable": 1,
    }
    patch = {
        "spec": {
            "replicas": 3,
            "template": {
                "spec": {
                    "containers": [
                        {"name": "a", "env": [{"name": "B", "value": "2"}]},
                        {"name": "b", "args": ["--three"]},
                        {"name": "c", "image": "z:1"},
                    ]
                }
            },
        },
        "minAvailable": None,
    }
    out = kustomize_lite.strategic_merge(base, patch)
    a, b, c = out["spec"]["template"]["spec"]["containers"]
    assert out["spec"]["replicas"] == 3
    assert a == {
        "name": "a",
        "image": "x:1",
        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
    }
    assert b["args"] == ["--three"]  # no merge key: replaced
    assert c == {"name": "c", "image": "z:1"}
    assert "minAvailable" not in out
    assert base["minAvailable"] == 1  # inputs untouched


def _kustomization(tmp_path: Path, body: str, files: dict[str, str] | None = None) -> Path:
    (tmp_path / "kustomization.yaml").write_text(body)
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(text)
    return tmp_path


CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: b\n"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "namePrefix: x-\nresources: [cm.yaml]\n",
            "not supported by this renderer: ['namePrefix']",
        ),
        ("resources: [missing.yaml]\n", "resource missing.yaml not found"),
        ("resources: [cm.yaml]\npatches:\n  - path: p.yaml\n", "matches 0 objects"),
        ("resources: [cm.yaml]\npatches:\n  - patch: 'x'\n", "only `patches: - path: FILE`"),
        (
            "configMapGenerator:\n  - name: g\n    files: [../outside]\n",
            "outside the kustomization",
        ),
        ("resources: [cm.yaml, cm.yaml]\n", "duplicate objects"),
        (
            "resources: [cm.yaml]\nlabels:\n  - pairs: {a: b}\n    includeSelectors: true\n",
            "includeSelectors: true is not supported",
        ),
    ],
)
def test_renderer_refuses_what_it_does_not_implement(
    tmp_path: Path, body: str, message: str
) -> None:
    patch = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\ndata: {}\n"
    d = tmp_path / "k"
    d.mkdir()
    _kustomization(d, body, {"cm.yaml": CM, "p.yaml": patch})
    (tmp_path / "outside").write_text("x")
    with pytest.raises(kustomize_lite.KustomizeError) as err:
        kustomize_lite.render(d)
    assert message in str(err.value)


def test_images_transformer_sets_tags_and_digests(tmp_path: Path) -> None:
    deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {
            "selector": {"matchLabels": {"a": "b"}},
            "template": {
                "metadata": {"labels": {"a": "b"}},
                "spec": {
                    "initContainers": [{"name": "i", "image": "r.example:5000/app:1"}],
                    "containers": [
                        {"name": "c", "image": "r.example:5000/app"},
                        {"name": "o", "image": "other:2"},
                    ],
                },
            },
        },
    }
    _kustomization(
        tmp_path,
        "resources: [d.yaml]\nimages:\n  - name: r.example:5000/app\n    newName: r2/app\n    newTag: '3'\n",
        {"d.yaml": yaml.safe_dump(deploy)},
    )
    (out,) = kustomize_lite.render(tmp_path)
    pod = out["spec"]["template"]["spec"]
    assert pod["initContainers"][0]["image"] == "r2/app:3"
    assert pod["containers"][0]["image"] == "r2/app:3"
    assert pod["containers"][1]["image"] == "other:2"
    digest = "sha256:" + "b" * 64
    _kustomization(
        tmp_path, f"resources: [d.yaml]\nimages:\n  - name: other\n    digest: {digest}\n"
    )
    (out,) = kustomize_lite.render(tmp_path)
    assert out["spec"]["template"]["spec"]["containers"][1]["image"] == f"other@{digest}"


# ---------------------------------------------------------------- the platform's own rules
def test_work_pool_template_is_kept_in_one_place() -> None:
    template_file = K8S / "work-pool" / "base-job-template.json"
    copies = [
        p
        for p in ROOT.rglob("base-job-template.json")
        if ".venv" not in p.parts and ".git" not in p.parts
    ]
    assert copies == [template_file]
    for overlay in OVERLAYS:
        objs = _overlay(overlay)
        cm = _by_prefix(objs, "ConfigMap", "dora-work-pool-")
        assert cm["data"] == {"base-job-template.json": template_file.read_text(encoding="utf-8")}
        worker = _one(objs, "Deployment", "dora-worker")
        pod = worker["spec"]["template"]["spec"]
        args = _container(worker)["args"]
        path = Path(args[args.index("--base-job-template") + 1])
        mount = next(
            m for m in _container(worker)["volumeMounts"] if m["mountPath"] == str(path.parent)
        )
        volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
        assert volume["configMap"]["name"] == cm["metadata"]["name"]  # hashed: rolls the worker
        assert path.name in cm["data"]


def test_work_pool_template_agrees_with_the_manifests() -> None:
    template = json.loads((K8S / "work-pool" / "base-job-template.json").read_text())
    props = template["variables"]["properties"]
    pod_meta = template["job_configuration"]["job_manifest"]["spec"]["template"]["metadata"]
    base = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text())
    for overlay in OVERLAYS:
        objs = _overlay(overlay)
        assert (
            props["namespace"]["default"]
            == _one(objs, "Namespace", "dora-workflows")["metadata"]["name"]
        )
        _one(objs, "ServiceAccount", props["service_account_name"]["default"])
        np = _one(objs, "NetworkPolicy", "dora-flow-run")
        assert np["spec"]["podSelector"]["matchLabels"].items() <= pod_meta["labels"].items()
        worker = _one(objs, "Deployment", "dora-worker")
        assert "dora-k8s" in _container(worker)["args"]
        uid = worker["spec"]["template"]["spec"]["securityContext"]["runAsUser"]
        pod_sc = template["job_configuration"]["job_manifest"]["spec"]["template"]["spec"][
            "securityContext"
        ]
        assert uid == pod_sc["runAsUser"] == 10001
    default_image = props["image"]["default"]
    assert default_image.rsplit(":", 1)[0] == base["images"][0]["name"] == IMAGE


def test_image_is_pinned_per_overlay() -> None:
    expected = {"dev": "1.1.0-rc.1", "prod": "1.0.0"}
    for overlay, tag in expected.items():
        for name in ("dora-worker", "dora-webhook", "dora-outbox-relay"):
            image = _container(_one(_overlay(overlay), "Deployment", name))["image"]
            assert image == f"{IMAGE}:{tag}"


def test_overlays_differ_where_they_should() -> None:
    dev, prod = _overlay("dev"), _overlay("prod")
    # the HPA owns the webhook's replica count; the Deployment must not fight it
    assert "replicas" not in _one(dev, "Deployment", "dora-webhook")["spec"]
    assert "replicas" not in _one(prod, "Deployment", "dora-webhook")["spec"]
    assert (
        _container(_one(dev, "Deployment", "dora-webhook"))["resources"]["limits"]["cpu"] == "250m"
    )
    assert _one(prod, "Deployment", "dora-worker")["spec"]["replicas"] == 2
    hpa_dev, hpa_prod = (
        _one(o, "HorizontalPodAutoscaler", "dora-webhook")["spec"] for o in (dev, prod)
    )
    assert (hpa_dev["minReplicas"], hpa_dev["maxReplicas"]) == (1, 2)
    assert (hpa_prod["minReplicas"], hpa_prod["maxReplicas"]) == (3, 10)
    pdb_dev = _one(dev, "PodDisruptionBudget", "dora-webhook")["spec"]
    assert pdb_dev.get("maxUnavailable") == 1 and "minAvailable" not in pdb_dev
    assert _one(prod, "PodDisruptionBudget", "dora-webhook")["spec"]["minAvailable"] == 2
    # PDB leaves room for a voluntary eviction at the HPA's minimum
    assert (
        hpa_prod["minReplicas"]
        > _one(prod, "PodDisruptionBudget", "dora-webhook")["spec"]["minAvailable"]
    )
    llm = "dora-flow-run-llm-egress"
    assert not [o for o in dev if o["metadata"]["name"] == llm]
    egress = _one(prod, "NetworkPolicy", llm)["spec"]["egress"]
    assert egress[0]["ports"] == [{"protocol": "TCP", "port": 443}]
    assert "10.0.0.0/8" in egress[0]["to"][0]["ipBlock"]["except"]
    for objs, instance in ((dev, "dora-dev"), (prod, "dora-prod")):
        assert all(o["metadata"]["labels"]["app.kubernetes.io/instance"] == instance for o in objs)


def test_worker_role_is_limited_to_jobs_pods_logs_events() -> None:
    role = _one(_overlay("prod"), "Role", "dora-worker")
    granted = {
        (g, r) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]
    }
    assert granted == {("batch", "jobs"), ("", "pods"), ("", "pods/log"), ("", "events")}
    verbs = {r: set(rule["verbs"]) for rule in role["rules"] for r in rule["resources"]}
    assert verbs["pods"] == {"get", "list", "watch"} and verbs["pods/log"] == {"get"}
    binding = _one(_overlay("prod"), "RoleBinding", "dora-worker")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "dora-worker", "namespace": "dora-workflows"}
    ]


def _egress_targets(np: Obj) -> set[tuple[str, int]]:
    out = set()
    for rule in np["spec"].get("egress") or []:
        for peer in rule["to"]:
            ns = (
                (peer.get("namespaceSelector") or {})
                .get("matchLabels", {})
                .get("kubernetes.io/metadata.name")
            )
            target = ns or (peer.get("ipBlock") or {}).get("cidr")
            for port in rule["ports"]:
                out.add((target, port["port"]))
    return out


def test_network_policies_allow_only_the_needed_flows() -> None:
    objs = _overlay("prod")
    flow_run = _one(objs, "NetworkPolicy", "dora-flow-run")
    assert "ingress" not in flow_run["spec"] and "Ingress" in flow_run["spec"]["policyTypes"]
    assert _egress_targets(flow_run) == {
        ("prefect", 4200),
        ("kafka", 9092),
        ("kafka", 9093),
        ("vault", 8200),
        ("postgres", 5432),
    }
    assert _egress_targets(_one(objs, "NetworkPolicy", "dora-webhook")) == {
        ("prefect", 4200),
        ("vault", 8200),
    }
    worker_targets = _egress_targets(_one(objs, "NetworkPolicy", "dora-worker"))
    assert ("prefect", 4200) in worker_targets and ("10.20.0.0/28", 6443) in worker_targets
    assert _egress_targets(_one(objs, "NetworkPolicy", "dora-outbox-relay")) == {
        ("prefect", 4200),
        ("postgres", 5432),
        ("kafka", 9092),
        ("kafka", 9093),
    }
    assert _egress_targets(_one(objs, "NetworkPolicy", "allow-dns")) == {("kube-system", 53)}


def test_probe_paths_and_container_args_match_the_real_commands() -> None:
    """The manifests' args parse with the real CLI, and the probed paths are real routes."""
    from pydantic import SecretStr
    from typer.main import get_command

    from dora.webhook.app import create_app
    from dora.webhook.cli import app as webhook_app
    from dora.webhook.settings import WebhookSettings
    from dora.worker_cli import worker_app

    objs = _overlay("prod")
    webhook = _container(_one(objs, "Deployment", "dora-webhook"))
    worker = _container(_one(objs, "Deployment", "dora-worker"))
    assert webhook["args"][:2] == ["webhook", "serve"] and worker["args"][0] == "worker"
    serve = get_command(webhook_app).commands["serve"]  # type: ignore[attr-defined]
    params = serve.make_context("serve", list(webhook["args"][2:])).params
    assert params["port"] == webhook["ports"][0]["containerPort"] and params["host"] == "0.0.0.0"
    params = get_command(worker_app).make_context("worker", list(worker["args"][1:])).params
    relay = _container(_one(objs, "Deployment", "dora-outbox-relay"))
    from dora.events_cli import events_app

    assert relay["args"][0] == "events"
    relay_cmd = get_command(events_app).commands[relay["args"][1]]  # type: ignore[attr-defined]
    relay_params = relay_cmd.make_context(relay["args"][1], list(relay["args"][2:])).params
    assert relay_params["metrics_port"] == relay["ports"][0]["containerPort"]
    for probe in ("livenessProbe", "readinessProbe"):
        assert relay[probe]["httpGet"]["path"] in {"/health", "/ready"}  # dora.metrics.serve_http
    assert params["metrics_port"] == worker["ports"][0]["containerPort"]
    assert params["worker_type"] == "kubernetes" and params["host"] == "0.0.0.0"

    app = create_app(WebhookSettings(secret=SecretStr("x"), prefect_api_url="http://p.test/api"))
    routes = {getattr(r, "path", "") for r in app.routes}
    for probe in ("livenessProbe", "readinessProbe"):
        assert webhook[probe]["httpGet"]["path"] in routes
        assert worker[probe]["httpGet"]["path"] in {"/health", "/ready"}  # dora.metrics.serve_http
    assert "/metrics" in routes
    ingress = _one(objs, "Ingress", "dora-webhook")
    paths = [p["path"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
    assert paths == ["/hooks/policy-updated"] and paths[0] in routes


# ---------------------------------------------------------------- Dockerfile
def test_dockerfile_follows_the_image_rules() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert dockerfile_policy.check(text) == []
    args, stages = dockerfile_policy.parse(text)
    assert [s.name for s in stages] == ["builder", "runtime"]
    assert stages[-1].image == args["PYTHON_IMAGE"] and "3.11" in args["PYTHON_IMAGE"]
    user = stages[-1].ops("USER")[-1].args
    # JSON logs in every container: the logging config the image points Prefect at is the
    # one the builder generates (and the final stage copies /opt/dora from the builder)
    env = " ".join(i.args for i in stages[-1].ops("ENV"))
    logging_path = env.split("PREFECT_LOGGING_SETTINGS_PATH=", 1)[1].split()[0]
    assert any(logging_path in r.args for r in stages[0].ops("RUN"))
    assert logging_path.startswith("/opt/dora/")
    for overlay in OVERLAYS:
        for name in ("dora-worker", "dora-webhook", "dora-outbox-relay"):
            sc = _one(_overlay(overlay), "Deployment", name)["spec"]["template"]["spec"][
                "securityContext"
            ]
            assert user == f"{sc['runAsUser']}:{sc['runAsGroup']}"


def test_dockerfile_copies_only_existing_paths_the_context_does_not_ignore() -> None:
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for src in dockerfile_policy.copy_sources((ROOT / "Dockerfile").read_text()):
        path = src.rstrip("/")
        assert (ROOT / path).exists(), src
        assert not any(path == i or path.startswith(i + "/") for i in ignored), (src, "ignored")
    assert {".git", ".venv", "tests", ".env"} <= set(ignored)


def test_bad_dockerfile_fails_every_rule() -> None:
    problems = dockerfile_policy.check((ROOT / "tests/fixtures/k8s/Dockerfile.bad").read_text())
    checks = {p.check for p in problems}
    assert checks == {
        "multi-stage",
        "base-pinned",
        "slim",
        "non-root",
        "no-build-tools",
        "healthcheck",
        "writable-dirs",
        "entrypoint",
    }
    text = "\n".join(map(str, problems))
    assert "[non-root] line 6: USER 'root' must be a fixed numeric uid" in text
    assert "[no-build-tools] line 3: final stage installs build tool 'build-essential'" in text


# ---------------------------------------------------------------- Helm values
def _walk(node: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(node, dict):
        return [item for k, v in node.items() for item in _walk(v, f"{path}.{k}")]
    if isinstance(node, list):
        return [item for i, v in enumerate(node) for item in _walk(v, f"{path}[{i}]")]
    return [(path, node)]


def test_helm_values_run_prefect_on_external_postgresql_without_secrets() -> None:
    import prefect

    values = yaml.safe_load((K8S / "helm" / "prefect-server-values.yaml").read_text())
    assert values["postgresql"]["enabled"] is False and values["sqlite"]["enabled"] is False
    assert values["secret"] == {"create": False, "name": "prefect-server-postgresql-connection"}
    # the server runs the same Prefect as the workers and flow runs (client/server skew)
    assert values["global"]["prefect"]["image"]["prefectTag"].startswith(prefect.__version__ + "-")
    server = values["server"]
    assert server["basicAuth"] == {"enabled": True, "existingSecret": "prefect-server-basic-auth"}
    assert (
        server["replicaCount"] == 1
        or values["redis"]["enabled"]
        or values["backgroundServices"]["runAsSeparateDeployment"]
    )
    for r in ("cpu", "memory"):
        assert server["resources"]["requests"][r] and server["resources"]["limits"][r]
    assert server["containerSecurityContext"]["readOnlyRootFilesystem"] is True
    assert server["containerSecurityContext"]["capabilities"]["drop"] == ["ALL"]
    assert server["podSecurityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    env = {e["name"]: e for e in server["env"]}
    assert "secretKeyRef" in env["PREFECT_SERVER_ENCRYPTION_KEY"]["valueFrom"]
    for path, value in _walk(values):
        leaf = path.rsplit(".", 1)[-1].lower()
        if any(w in leaf for w in ("password", "authstring", "token")):
            assert value in ("", None), f"{path} holds a literal secret"


# ---------------------------------------------------------------- Vault Kubernetes auth
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _sa_jwt(namespace: str, name: str) -> str:
    claims = {
        "iss": "kubernetes/serviceaccount",
        "kubernetes.io/serviceaccount/namespace": namespace,
        "kubernetes.io/serviceaccount/service-account.name": name,
        "kubernetes.io/serviceaccount/service-account.uid": f"{name}-uid",
        "sub": f"system:serviceaccount:{namespace}:{name}",
    }
    header = _b64(b'{"alg":"RS256","typ":"JWT"}')
    return f"{header}.{_b64(json.dumps(claims).encode())}.{_b64(b'signature')}"


def _ca_pem() -> str:
    """A throwaway CA: OpenBao requires one when it does not run inside the cluster."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "k8s-manifests-test-ca")])
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


def test_vault_setup_lets_only_the_flow_runner_read_agent_secrets(
    openbao: OpenBao, token_review_api: TokenReviewAPI, tmp_path: Path
) -> None:
    """k8s/vault/setup.sh against a real OpenBao (its `bao` CLI speaks Vault's), then a real
    Kubernetes-auth login with the service accounts of k8s/base."""
    from tests.services import _bao_binary

    root = openbao.client()
    if "kubernetes/" in root.sys.list_auth_methods():
        root.sys.disable_auth_method("kubernetes")
    ca = tmp_path / "ca.pem"
    ca.write_text(_ca_pem())
    env = {
        **os.environ,
        "VAULT": _bao_binary(),
        "VAULT_ADDR": openbao.url,
        "VAULT_TOKEN": openbao.root_token,
        "BAO_ADDR": openbao.url,
        "BAO_TOKEN": openbao.root_token,
        "K8S_HOST": token_review_api.url,
        "K8S_CA_CERT_FILE": str(ca),
        "TOKEN_REVIEWER_JWT": "reviewer-jwt",
        "HOME": str(tmp_path),
    }
    for _ in range(2):  # idempotent
        res = subprocess.run(
            ["sh", str(K8S / "vault" / "setup.sh")],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert res.returncode == 0, res.stdout + res.stderr

    namespace = _one(_overlay("prod"), "Namespace", "dora-workflows")["metadata"]["name"]
    runner_sa = json.loads((K8S / "work-pool" / "base-job-template.json").read_text())["variables"][
        "properties"
    ]["service_account_name"]["default"]
    root.secrets.kv.v2.create_or_update_secret(path="dora/agents/llm", secret={"api_key": "k-1"})
    root.secrets.kv.v2.create_or_update_secret(path="dora/webhook", secret={"hmac": "h-1"})

    def login(sa: str, role: str) -> hvac.Client:
        jwt = _sa_jwt(namespace, sa)
        token_review_api.accounts[jwt] = (namespace, sa, f"{sa}-uid")
        client = hvac.Client(url=openbao.url)
        client.auth.kubernetes.login(role=role, jwt=jwt)
        return client

    runner = login(runner_sa, "dora-flow-runner")
    read = runner.secrets.kv.v2.read_secret_version(
        path="dora/agents/llm", raise_on_deleted_version=True
    )
    assert read["data"]["data"] == {"api_key": "k-1"}
    with pytest.raises(hvac.exceptions.Forbidden):
        runner.secrets.kv.v2.read_secret_version(path="dora/webhook", raise_on_deleted_version=True)
    lookup = runner.auth.token.lookup_self()["data"]
    assert "dora-flow-runner" in lookup["policies"] and lookup["ttl"] <= 15 * 60

    hook = login("dora-webhook", "dora-webhook")
    assert hook.secrets.kv.v2.read_secret_version(
        path="dora/webhook", raise_on_deleted_version=True
    )["data"]["data"] == {"hmac": "h-1"}
    # the worker's service account is bound to neither role
    with pytest.raises(hvac.exceptions.Forbidden, match="service account name not authorized"):
        login("dora-worker", "dora-flow-runner")
