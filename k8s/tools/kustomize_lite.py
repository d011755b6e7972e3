"""A small renderer for the subset of kustomize that k8s/ uses, in pure Python.

Why: the tests must render the overlays on any machine the suite runs on, and the real
``kustomize``/``kubectl kustomize`` is a Go binary that no Python dependency ships. This
module implements exactly the features our kustomizations use and **refuses anything
else** (an unknown field is an error, not silently ignored), so it cannot drift into
rendering something different from kustomize unnoticed. Where ``kubectl`` is installed
the tests also compare its output with ours object by object.

Supported (kustomize v5 semantics):

* ``resources``: YAML files (multi-document) and directories holding a kustomization;
* ``namespace``: set on every namespaced object (cluster-scoped kinds are left alone);
* ``labels``: ``pairs`` with ``includeSelectors: false`` (metadata labels, and with
  ``includeTemplates: true`` the pod template labels of workloads);
* ``configMapGenerator``: ``files`` and ``literals``, ``options.labels``; the name gets
  kustomize's content-hash suffix and references in pod specs are rewritten;
* ``patches``: strategic-merge patches from ``path`` (target = the patch's kind/name),
  with Kubernetes' merge keys for the lists we patch and ``null`` deleting a field;
* ``images``: ``newName``/``newTag``/``digest`` for containers and init containers.

Order of transformations follows kustomize: a kustomization renders its resources
(recursively) and generators, then applies patches, namespace, labels, images, and finally
rewrites generated-name references.
"""

from __future__ import annotations

import copy
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

Obj = dict[str, Any]

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
SUPPORTED_FIELDS = {
    "apiVersion",
    "kind",
    "resources",
    "namespace",
    "labels",
    "configMapGenerator",
    "patches",
    "images",
}
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
    "IngressClass",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "APIService",
    "RuntimeClass",
    "Node",
}
#: kinds whose pod template sits at spec.template
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController"}
#: strategic-merge keys of the lists we patch (from the Kubernetes API's patchMergeKey)
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
}


class KustomizeError(ValueError):
    """The kustomization uses something this renderer does not implement, or is wrong."""


@dataclass(frozen=True)
class ObjId:
    kind: str
    name: str
    namespace: str | None

    def __str__(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind}/{ns}{self.name}"


def obj_id(obj: Obj) -> ObjId:
    meta = obj.get("metadata") or {}
    return ObjId(str(obj.get("kind")), str(meta.get("name")), meta.get("namespace"))


# ---------------------------------------------------------------- loading
def _kustomization_file(directory: Path) -> Path:
    for name in KUSTOMIZATION_FILES:
        if (directory / name).is_file():
            return directory / name
    raise KustomizeError(f"{directory}: no kustomization.yaml")


def _load_yaml_docs(path: Path) -> list[Obj]:
    try:
        docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    except yaml.YAMLError as exc:
        raise KustomizeError(f"{path}: invalid YAML: {exc}") from None
    for i, doc in enumerate(docs):
        if not isinstance(doc, dict) or "kind" not in doc or "metadata" not in doc:
            raise KustomizeError(f"{path}: document {i + 1} is not a Kubernetes object")
    return docs


# ---------------------------------------------------------------- configMapGenerator
def _go_json(value: Any) -> str:
    """``json.Marshal`` as Go writes it: sorted keys, no spaces, HTML characters escaped."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(ch, esc)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


_HASH_ALPHABET = str.maketrans("013ae", "ghkmt")


def configmap_hash(cm: Obj, hashed_name: str = "") -> str:
    """kustomize's name suffix for a generated ConfigMap (api/hasher: sha256 over the
    JSON of kind, name and data; first 10 hex digits with 0,1,3,a,e mapped to g,h,k,m,t
    so the suffix never looks like a number or a word).

    The name in the hashed JSON is empty for generated ConfigMaps in kustomize v5.5
    (kubectl 1.32): its generator hashes before the name is set. Observed, and checked
    against ``kubectl kustomize`` by the tests; pass ``hashed_name`` for other versions.
    """
    encoded: Obj = {"kind": "ConfigMap", "name": hashed_name, "data": cm.get("data", {})}
    if cm.get("binaryData"):
        encoded["binaryData"] = cm["binaryData"]
    digest = hashlib.sha256(_go_json(encoded).encode("utf-8")).hexdigest()[:10]
    return digest.translate(_HASH_ALPHABET)


def _generate_configmap(spec: Obj, base: Path) -> Obj:
    unknown = set(spec) - {"name", "files", "literals", "options"}
    if unknown:
        raise KustomizeError(
            f"{base}: configMapGenerator field(s) not supported: {sorted(unknown)}"
        )
    data: dict[str, str] = {}
    for entry in spec.get("files") or []:
        key, _, rel = str(entry).partition("=") if "=" in str(entry) else ("", "", str(entry))
        path = (base / rel).resolve()
        if base.resolve() not in path.parents:
            raise KustomizeError(f"{base}: file {rel} is outside the kustomization directory")
        data[key or path.name] = path.read_text(encoding="utf-8")
    for literal in spec.get("literals") or []:
        key, sep, value = str(literal).partition("=")
        if not sep:
            raise KustomizeError(f"{base}: literal {literal!r} is not KEY=VALUE")
        data[key] = value
    options = spec.get("options") or {}
    if set(options) - {"labels"}:
        raise KustomizeError(f"{base}: generator options not supported: {sorted(options)}")
    meta: Obj = {"name": spec["name"]}
    if options.get("labels"):
        meta["labels"] = dict(options["labels"])
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


# ---------------------------------------------------------------- strategic merge patch
def _merge_list(key: str, base: list[Any], patch: list[Any]) -> list[Any]:
    merge_key = MERGE_KEYS.get(key)
    if key == "ports" and all(isinstance(p, dict) for p in base + patch):
        merge_key = "containerPort" if any("containerPort" in p for p in base + patch) else "port"
    if merge_key is None or not all(isinstance(p, dict) for p in base + patch):
        return copy.deepcopy(patch)  # lists without a merge key are replaced
    out = copy.deepcopy(base)
    for item in patch:
        if merge_key not in item:
            raise KustomizeError(f"patch list {key!r}: item without merge key {merge_key!r}")
        for i, existing in enumerate(out):
            if existing.get(merge_key) == item[merge_key]:
                out[i] = strategic_merge(existing, item)
                break
        else:
            out.append(copy.deepcopy(item))
    return out


def strategic_merge(base: Obj, patch: Obj) -> Obj:
    """``patch`` merged into ``base``: maps merge, ``null`` deletes, lists merge by their
    Kubernetes merge key (or are replaced when the field has none)."""
    if any(str(k).startswith("$") for k in patch):
        raise KustomizeError(
            f"patch directives not supported: {[k for k in patch if str(k).startswith('$')]}"
        )
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = strategic_merge(out[key], value)
        elif isinstance(value, list) and isinstance(out.get(key), list):
            out[key] = _merge_list(key, out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# ---------------------------------------------------------------- transformers
def _pod_template(obj: Obj) -> Obj | None:
    if obj.get("kind") in WORKLOADS:
        template: Obj | None = (obj.get("spec") or {}).get("template")
        return template
    if obj.get("kind") == "CronJob":
        job_template: Obj = (obj.get("spec") or {}).get("jobTemplate") or {}
        template = (job_template.get("spec") or {}).get("template")
        return template
    return None


def _pod_specs(obj: Obj) -> list[Obj]:
    template = _pod_template(obj)
    if template is not None:
        return [template.setdefault("spec", {})]
    if obj.get("kind") == "Pod":
        return [obj.setdefault("spec", {})]
    return []


def _apply_labels(objs: list[Obj], entries: list[Obj], where: Path) -> None:
    for entry in entries:
        unknown = set(entry) - {"pairs", "includeSelectors", "includeTemplates"}
        if unknown:
            raise KustomizeError(f"{where}: labels field(s) not supported: {sorted(unknown)}")
        if entry.get("includeSelectors"):
            raise KustomizeError(f"{where}: labels.includeSelectors: true is not supported")
        pairs = {str(k): str(v) for k, v in (entry.get("pairs") or {}).items()}
        for obj in objs:
            obj["metadata"].setdefault("labels", {}).update(pairs)
            if entry.get("includeTemplates"):
                template = _pod_template(obj)
                if template is not None:
                    template.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)


def _split_image(image: str) -> tuple[str, str | None, str | None]:
    """(name, tag, digest) of an image reference."""
    name, digest = image, None
    if "@" in image:
        name, digest = image.split("@", 1)
    tag = None
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = name.rsplit(":", 1)
    return name, tag, digest


def _apply_images(objs: list[Obj], images: list[Obj], where: Path) -> None:
    for spec in images:
        unknown = set(spec) - {"name", "newName", "newTag", "digest"}
        if unknown:
            raise KustomizeError(f"{where}: images field(s) not supported: {sorted(unknown)}")
        for obj in objs:
            for pod in _pod_specs(obj):
                for c in (pod.get("containers") or []) + (pod.get("initContainers") or []):
                    name, tag, digest = _split_image(str(c.get("image", "")))
                    if name != spec["name"]:
                        continue
                    name = spec.get("newName", name)
                    if "digest" in spec:
                        c["image"] = f"{name}@{spec['digest']}"
                    elif "newTag" in spec:
                        c["image"] = f"{name}:{spec['newTag']}"
                    else:
                        suffix = f"@{digest}" if digest else (f":{tag}" if tag else "")
                        c["image"] = name + suffix


def _rename_configmap_refs(objs: list[Obj], renames: dict[str, str]) -> None:
    def ref(holder: Obj | None) -> None:
        if holder and holder.get("name") in renames:
            holder["name"] = renames[holder["name"]]

    for obj in objs:
        for pod in _pod_specs(obj):
            for vol in pod.get("volumes") or []:
                ref(vol.get("configMap"))
                for src in (vol.get("projected") or {}).get("sources") or []:
                    ref(src.get("configMap"))
            for c in (pod.get("containers") or []) + (pod.get("initContainers") or []):
                for env_from in c.get("envFrom") or []:
                    ref(env_from.get("configMapRef"))
                for env in c.get("env") or []:
                    ref((env.get("valueFrom") or {}).get("configMapKeyRef"))


# ---------------------------------------------------------------- render
def _render(directory: Path, renames: dict[str, str]) -> list[Obj]:
    kfile = _kustomization_file(directory)
    k = yaml.safe_load(kfile.read_text(encoding="utf-8")) or {}
    unknown = set(k) - SUPPORTED_FIELDS
    if unknown:
        raise KustomizeError(f"{kfile}: field(s) not supported by this renderer: {sorted(unknown)}")
    if k.get("kind", "Kustomization") != "Kustomization":
        raise KustomizeError(f"{kfile}: kind {k.get('kind')} is not supported")
    objs: list[Obj] = []
    for res in k.get("resources") or []:
        path = (directory / res).resolve()
        if path.is_dir():
            objs.extend(_render(path, renames))
        elif path.is_file():
            objs.extend(_load_yaml_docs(path))
        else:
            raise KustomizeError(f"{kfile}: resource {res} not found")
    generated: list[Obj] = []
    for spec in k.get("configMapGenerator") or []:
        generated.append(_generate_configmap(spec, directory))
    objs.extend(generated)
    ids = [obj_id(o) for o in objs]
    dupes = {str(i) for i in ids if ids.count(i) > 1}
    if dupes:
        raise KustomizeError(f"{kfile}: duplicate objects {sorted(dupes)}")

    for patch_ref in k.get("patches") or []:
        if set(patch_ref) != {"path"}:
            raise KustomizeError(f"{kfile}: only `patches: - path: FILE` is supported")
        (patch,) = _load_yaml_docs(directory / patch_ref["path"])
        target = (patch["kind"], patch["metadata"]["name"])
        matches = [i for i, o in enumerate(objs) if (o["kind"], o["metadata"]["name"]) == target]
        if len(matches) != 1:
            raise KustomizeError(
                f"{kfile}: patch {patch_ref['path']} matches {len(matches)} objects {target}"
            )
        objs[matches[0]] = strategic_merge(objs[matches[0]], patch)

    if "namespace" in k:
        for obj in objs:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = k["namespace"]
    _apply_labels(objs, k.get("labels") or [], kfile)
    _apply_images(objs, k.get("images") or [], kfile)
    # generated names get their hash now: it covers the data, which later layers do not change
    for cm in generated:
        name = cm["metadata"]["name"]
        hashed = f"{name}-{configmap_hash(cm)}"
        cm["metadata"]["name"] = hashed
        renames[name] = hashed
    _rename_configmap_refs(objs, renames)
    return objs


def render(directory: Path | str) -> list[Obj]:
    """The objects ``kustomize build DIRECTORY`` would output (order not significant)."""
    return _render(Path(directory).resolve(), {})


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python k8s/tools/kustomize_lite.py DIRECTORY", file=sys.stderr)
        return 2
    try:
        objs = render(args[0])
    except KustomizeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(yaml.safe_dump_all(objs, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
