"""Regenerate base-job-template.json from prefect-kubernetes' default template.

The JSON is the committed single source (flows/k8s_pool.py loads it); this script records
how it was derived. Run ``.venv/bin/python k8s/work-pool/generate.py`` after upgrading
prefect-kubernetes and review the diff. Besides our additions it moves ``completions``/
``parallelism`` from the pod spec (where the upstream default puts them, and where the
Kubernetes schema does not allow them) to the Job spec.
"""

import json
from pathlib import Path

from prefect_kubernetes.worker import KubernetesWorker

OUT = Path(__file__).resolve().parent / "base-job-template.json"

t = KubernetesWorker.get_default_base_job_template()
jc = t["job_configuration"]
props = t["variables"]["properties"]
m = jc["job_manifest"]
spec = m["spec"]
pod = spec["template"]["spec"]
c = pod["containers"][0]
spec["completions"] = pod.pop("completions")
spec["parallelism"] = pod.pop("parallelism")
spec["activeDeadlineSeconds"] = "{{ active_deadline_seconds }}"
spec["template"]["metadata"] = {
    "labels": {
        "app.kubernetes.io/name": "dora-flow-run",
        "app.kubernetes.io/part-of": "dora-workflows",
    },
    "annotations": {"vault.hashicorp.com/role": "{{ vault_k8s_role }}"},
}
pod["automountServiceAccountToken"] = True
pod["securityContext"] = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "runAsGroup": 10001,
    "fsGroup": 10001,
    "seccompProfile": {"type": "RuntimeDefault"},
}
c["securityContext"] = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "privileged": False,
    "capabilities": {"drop": ["ALL"]},
}
c["env"] = [
    {"name": "VAULT_ADDR", "value": "{{ vault_addr }}"},
    {"name": "DORA_VAULT_K8S_ROLE", "value": "{{ vault_k8s_role }}"},
    {"name": "HOME", "value": "/tmp"},
]
c["volumeMounts"] = [{"name": "tmp", "mountPath": "/tmp"}]
pod["volumes"] = [{"name": "tmp", "emptyDir": {"sizeLimit": "{{ tmp_size_limit }}"}}]
props["namespace"]["default"] = "dora-workflows"
props["service_account_name"]["default"] = "dora-flow-runner"
props["backoff_limit"]["default"] = 0
props["finished_job_ttl"]["default"] = 3600
props["image"]["default"] = "ghcr.io/dora-compliance/dora-workflows:1.0.0"
props["cpu_request"]["default"] = "250m"
props["cpu_limit"]["default"] = "500m"
props["memory_request"]["default"] = "512Mi"
props["memory_limit"]["default"] = "1Gi"
props["active_deadline_seconds"] = {
    "anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}],
    "default": 7200,
    "title": "Active Deadline Seconds",
    "description": "Kubernetes kills the Job's pods after this many seconds (spec.activeDeadlineSeconds); "
    "workaround for hung runs, Prefect issue #21616. Set per deployment from the definition's timeout.",
}
props["vault_addr"] = {
    "type": "string",
    "default": "https://vault.vault.svc:8200",
    "title": "Vault Address",
    "description": "VAULT_ADDR for the flow-run container.",
}
props["vault_k8s_role"] = {
    "type": "string",
    "default": "dora-flow-runner",
    "title": "Vault Kubernetes-auth Role",
    "description": "Vault Kubernetes-auth role (DORA_VAULT_K8S_ROLE env and vault.hashicorp.com/role pod annotation).",
}
props["tmp_size_limit"] = {
    "type": "string",
    "default": "1Gi",
    "title": "/tmp size limit",
    "description": "sizeLimit of the emptyDir mounted at /tmp (the root filesystem is read-only).",
}
OUT.write_text(json.dumps(t, indent=2) + "\n", encoding="utf-8")
