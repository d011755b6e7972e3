"""Our own policy for rendered manifests, on top of the Kubernetes schema validation.

Why our own: the schema says whether an object is well-formed, not whether a regulated
bank would run it. Each check has a name (used in messages and by the tests, which make
every check fail on tests/fixtures/k8s/bad/) and returns human-readable violations
naming the object, the container and the field:

* ``non-root``: pods run as a non-zero uid with runAsNonRoot; no container overrides it;
* ``hardening``: no privilege escalation, not privileged, capabilities drop ALL,
  read-only root filesystem, seccomp RuntimeDefault (Pod Security "restricted");
* ``resources``: cpu and memory requests and limits on every container, limits >= requests;
* ``probes``: liveness and readiness probes on every container that exposes a port;
* ``image-pinned``: every image has a tag (not ``latest``) or a digest;
* ``secrets``: no Secret objects with data in the manifests (they come from Vault or are
  created by the secret operator), and environment variables that look like credentials
  come from ``secretKeyRef`` (never a literal value or a ConfigMap);
* ``labels``: every object carries app.kubernetes.io/name, part-of=dora-workflows and
  managed-by; workload selectors match their pod template labels; Services, PDBs and
  HPAs point at a workload that exists;
* ``rbac``: Roles only on jobs, pods, pods/log and events; no wildcards; no cluster-wide
  roles or bindings;
* ``network``: each namespace with workloads has a default-deny NetworkPolicy for both
  ingress and egress;
* ``pod-security``: our Namespace enforces the restricted Pod Security Standard.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

Obj = dict[str, Any]

PART_OF = "dora-workflows"
REQUIRED_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
)
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
RBAC_ALLOWED = {("batch", "jobs"), ("", "pods"), ("", "pods/log"), ("", "events")}
#: env names that carry credentials (references such as *_BLOCK, *_ROLE, *_ADDR are fine)
SENSITIVE_ENV = re.compile(
    r"(SECRET|TOKEN|PASSWORD|PASSWD|API_KEY|APIKEY|AUTH_STRING|CREDENTIAL|PRIVATE_KEY|CONNECTION_URL|DSN)",
    re.IGNORECASE,
)
REFERENCE_SUFFIXES = ("_BLOCK", "_ROLE", "_ADDR", "_PATH", "_FILE", "_NAME", "_CACHE_S", "_TTL")

_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$")
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


@dataclass(frozen=True)
class Violation:
    check: str
    obj: str
    message: str

    def __str__(self) -> str:
        return f"[{self.check}] {self.obj}: {self.message}"


def quantity(q: Any) -> Decimal:
    m = _QUANTITY.match(str(q).strip())
    if not m:
        raise ValueError(f"not a Kubernetes quantity: {q!r}")
    return Decimal(m.group(1)) * _SUFFIX[m.group(2) or ""]


def ref(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    ns = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj.get('kind')}/{ns}{meta.get('name')}"


def pod_template(obj: Obj) -> Obj | None:
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind in WORKLOADS:
        template: Obj | None = spec.get("template")
        return template
    if kind == "CronJob":
        template = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template")
        return template
    if kind == "Pod":
        return {"metadata": obj.get("metadata") or {}, "spec": spec}
    return None


def containers(pod_spec: Obj) -> list[tuple[str, Obj]]:
    """(kind of container, container) for init and app containers."""
    out = [("initContainer", c) for c in pod_spec.get("initContainers") or []]
    return out + [("container", c) for c in pod_spec.get("containers") or []]


def _pods(objs: Iterable[Obj]) -> Iterable[tuple[Obj, Obj]]:
    for obj in objs:
        template = pod_template(obj)
        if template is not None:
            yield obj, template.get("spec") or {}


# ---------------------------------------------------------------- checks
def check_non_root(objs: list[Obj]) -> list[Violation]:
    out: list[Violation] = []
    for obj, pod in _pods(objs):
        psc = pod.get("securityContext") or {}
        for kind, c in containers(pod):
            csc = c.get("securityContext") or {}
            where = f"{kind} {c.get('name')}"
            non_root = csc.get("runAsNonRoot", psc.get("runAsNonRoot"))
            uid = csc.get("runAsUser", psc.get("runAsUser"))
            if non_root is not True:
                out.append(Violation("non-root", ref(obj), f"{where}: runAsNonRoot must be true"))
            if uid is None or uid == 0:
                out.append(
                    Violation(
                        "non-root",
                        ref(obj),
                        f"{where}: runAsUser must be a non-zero uid (got {uid})",
                    )
                )
    return out


def check_hardening(objs: list[Obj]) -> list[Violation]:
    out: list[Violation] = []
    for obj, pod in _pods(objs):
        psc = pod.get("securityContext") or {}
        for kind, c in containers(pod):
            csc = c.get("securityContext") or {}
            where = f"{kind} {c.get('name')}"

            def bad(msg: str, where: str = where, obj_ref: str = ref(obj)) -> None:
                out.append(Violation("hardening", obj_ref, f"{where}: {msg}"))

            if csc.get("allowPrivilegeEscalation") is not False:
                bad("allowPrivilegeEscalation must be false")
            if csc.get("privileged"):
                bad("must not be privileged")
            if "ALL" not in ((csc.get("capabilities") or {}).get("drop") or []):
                bad("capabilities must drop ALL")
            if (csc.get("capabilities") or {}).get("add"):
                bad(f"must not add capabilities {csc['capabilities']['add']}")
            if csc.get("readOnlyRootFilesystem") is not True:
                bad("readOnlyRootFilesystem must be true")
            seccomp = (csc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type")
            if seccomp != "RuntimeDefault":
                bad(f"seccompProfile must be RuntimeDefault (got {seccomp})")
        if pod.get("hostNetwork") or pod.get("hostPID") or pod.get("hostIPC"):
            out.append(Violation("hardening", ref(obj), "pod must not use host namespaces"))
    return out


def check_resources(objs: list[Obj]) -> list[Violation]:
    out: list[Violation] = []
    for obj, pod in _pods(objs):
        for kind, c in containers(pod):
            res = c.get("resources") or {}
            where = f"{kind} {c.get('name')}"
            for section in ("requests", "limits"):
                for r in ("cpu", "memory"):
                    if not (res.get(section) or {}).get(r):
                        out.append(
                            Violation("resources", ref(obj), f"{where}: missing {section}.{r}")
                        )
            for r in ("cpu", "memory"):
                req = (res.get("requests") or {}).get(r)
                lim = (res.get("limits") or {}).get(r)
                if req and lim and quantity(lim) < quantity(req):
                    out.append(
                        Violation(
                            "resources", ref(obj), f"{where}: limits.{r} {lim} < requests.{r} {req}"
                        )
                    )
    return out


def check_probes(objs: list[Obj]) -> list[Violation]:
    out: list[Violation] = []
    for obj, pod in _pods(objs):
        for c in pod.get("containers") or []:
            if not c.get("ports"):
                continue
            for probe in ("livenessProbe", "readinessProbe"):
                if not c.get(probe):
                    out.append(
                        Violation(
                            "probes",
                            ref(obj),
                            f"container {c.get('name')} serves ports but has no {probe}",
                        )
                    )
    return out


def image_problem(image: str) -> str | None:
    if not image:
        return "has no image"
    if "@sha256:" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"image {image!r} has no tag (pin a version or digest)"
    if last.rsplit(":", 1)[1] == "latest":
        return f"image {image!r} uses the mutable 'latest' tag"
    return None


def check_image_pinned(objs: list[Obj]) -> list[Violation]:
    out: list[Violation] = []
    for obj, pod in _pods(objs):
        for kind, c in containers(pod):
            problem = image_problem(str(c.get("image") or ""))
            if problem:
                out.append(
                    Violation("image-pinned", ref(obj), f"{kind} {c.get('name')}: {problem}")
                )
    return out


def _sensitive(name: str) -> bool:
    return bool(SENSITIVE_ENV.search(name)) and not name.upper().endswith(REFERENCE_SUFFIXES)


def check_secrets(objs: list[Obj]) -> list[Violation]:
    out: list[Violation] = []
    for obj in objs:
        if obj.get("kind") == "Secret" and (obj.get("data") or obj.get("stringData")):
            out.append(
                Violation(
                    "secrets",
                    ref(obj),
                    "Secret with data in the manifests: secrets come from Vault (or an "
                    "existing Secret referenced by secretKeyRef), never from git",
                )
            )
        if obj.get("kind") == "ConfigMap":
            for key in obj.get("data") or {}:
                if _sensitive(str(key)):
                    out.append(
                        Violation(
                            "secrets", ref(obj), f"ConfigMap key {key} looks like a credential"
                        )
                    )
    for obj, pod in _pods(objs):
        for kind, c in containers(pod):
            for env in c.get("env") or []:
                name = str(env.get("name", ""))
                if not _sensitive(name):
                    continue
                source = env.get("valueFrom") or {}
                if "value" in env or "secretKeyRef" not in source:
                    out.append(
                        Violation(
                            "secrets",
                            ref(obj),
                            f"{kind} {c.get('name')}: env {name} must come from a secretKeyRef "
                            "(or Vault), not a literal value or ConfigMap",
                        )
                    )
    return out


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check_labels(objs: list[Obj]) -> list[Violation]:
    out: list[Violation] = []
    workloads: dict[tuple[str, str | None], Obj] = {}
    for obj in objs:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        missing = [label for label in REQUIRED_LABELS if not labels.get(label)]
        if missing:
            out.append(Violation("labels", ref(obj), f"missing labels {', '.join(missing)}"))
        if labels.get("app.kubernetes.io/part-of") not in (None, PART_OF):
            out.append(
                Violation(
                    "labels",
                    ref(obj),
                    f"app.kubernetes.io/part-of is {labels['app.kubernetes.io/part-of']!r}, "
                    f"expected {PART_OF!r}",
                )
            )
        template = pod_template(obj)
        if template is not None and obj.get("kind") != "Pod":
            workloads[(obj["metadata"]["name"], obj["metadata"].get("namespace"))] = obj
            tlabels = (template.get("metadata") or {}).get("labels") or {}
            selector = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
            if obj.get("kind") != "Job" and not _matches(selector, tlabels):
                out.append(
                    Violation(
                        "labels",
                        ref(obj),
                        f"selector {selector} does not match pod template labels",
                    )
                )
            if tlabels.get("app.kubernetes.io/name") != labels.get("app.kubernetes.io/name"):
                out.append(
                    Violation(
                        "labels",
                        ref(obj),
                        "pod template app.kubernetes.io/name differs from the object's "
                        f"({tlabels.get('app.kubernetes.io/name')!r} vs "
                        f"{labels.get('app.kubernetes.io/name')!r})",
                    )
                )

    def pod_labels_in(ns: str | None) -> list[dict[str, str]]:
        return [
            ((pod_template(w) or {}).get("metadata") or {}).get("labels") or {}
            for (_, wns), w in workloads.items()
            if wns == ns
        ]

    for obj in objs:
        kind, spec = obj.get("kind"), obj.get("spec") or {}
        ns = (obj.get("metadata") or {}).get("namespace")
        if kind == "Service" and spec.get("selector"):  # noqa: SIM102 (one check per kind)
            if not any(_matches(spec["selector"], pl) for pl in pod_labels_in(ns)):
                out.append(
                    Violation(
                        "labels", ref(obj), f"selector {spec['selector']} matches no workload"
                    )
                )
        if kind == "PodDisruptionBudget":
            sel = (spec.get("selector") or {}).get("matchLabels") or {}
            if not any(_matches(sel, pl) for pl in pod_labels_in(ns)):
                out.append(Violation("labels", ref(obj), f"selector {sel} matches no workload"))
        if kind == "HorizontalPodAutoscaler":
            target = spec.get("scaleTargetRef") or {}
            found = workloads.get((str(target.get("name")), ns))
            if found is None or found.get("kind") != target.get("kind"):
                out.append(
                    Violation(
                        "labels",
                        ref(obj),
                        f"scaleTargetRef {target.get('kind')}/{target.get('name')} not found",
                    )
                )
    return out


def check_rbac(objs: list[Obj]) -> list[Violation]:
    out: list[Violation] = []
    for obj in objs:
        kind = obj.get("kind")
        if kind in ("ClusterRole", "ClusterRoleBinding"):
            out.append(
                Violation(
                    "rbac", ref(obj), f"{kind} grants cluster-wide access; use a namespaced Role"
                )
            )
        if kind not in ("Role", "ClusterRole"):
            continue
        for i, rule in enumerate(obj.get("rules") or []):
            groups = rule.get("apiGroups") or [""]
            resources = rule.get("resources") or []
            verbs = rule.get("verbs") or []
            if "*" in groups or "*" in resources or "*" in verbs:
                out.append(Violation("rbac", ref(obj), f"rule {i}: wildcards are not allowed"))
            for g in groups:
                for r in resources:
                    if r != "*" and (g, r) not in RBAC_ALLOWED:
                        out.append(
                            Violation(
                                "rbac",
                                ref(obj),
                                f"rule {i}: access to {r} ({g or 'core'}) is not needed by the worker",
                            )
                        )
    return out


def check_network(objs: list[Obj]) -> list[Violation]:
    namespaces = {
        (o.get("metadata") or {}).get("namespace") for o in objs if pod_template(o) is not None
    }
    denied = set()
    for o in objs:
        if o.get("kind") != "NetworkPolicy":
            continue
        spec = o.get("spec") or {}
        if (
            spec.get("podSelector") == {}
            and {"Ingress", "Egress"} <= set(spec.get("policyTypes") or [])
            and not spec.get("ingress")
            and not spec.get("egress")
        ):
            denied.add((o.get("metadata") or {}).get("namespace"))
    return [
        Violation(
            "network",
            f"Namespace/{ns}",
            "no default-deny NetworkPolicy (podSelector {}, policyTypes Ingress+Egress, no rules)",
        )
        for ns in sorted(namespaces - denied, key=str)
    ]


def check_pod_security(objs: list[Obj]) -> list[Violation]:
    out: list[Violation] = []
    for obj in objs:
        if obj.get("kind") != "Namespace":
            continue
        labels = (obj.get("metadata") or {}).get("labels") or {}
        if labels.get("pod-security.kubernetes.io/enforce") != "restricted":
            out.append(
                Violation(
                    "pod-security",
                    ref(obj),
                    "label pod-security.kubernetes.io/enforce must be 'restricted' "
                    f"(got {labels.get('pod-security.kubernetes.io/enforce')!r})",
                )
            )
    return out


CHECKS: dict[str, Callable[[list[Obj]], list[Violation]]] = {
    "non-root": check_non_root,
    "hardening": check_hardening,
    "resources": check_resources,
    "probes": check_probes,
    "image-pinned": check_image_pinned,
    "secrets": check_secrets,
    "labels": check_labels,
    "rbac": check_rbac,
    "network": check_network,
    "pod-security": check_pod_security,
}


def violations(objs: list[Obj]) -> list[Violation]:
    """Every violation of every check, in check order."""
    return [v for check in CHECKS.values() for v in check(objs)]
