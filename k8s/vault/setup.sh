#!/usr/bin/env sh
# One-time Vault configuration for the dora-workflows namespace (run by the Vault team with
# an admin token; idempotent). Kubernetes auth: Vault verifies a pod's service-account JWT
# with the TokenReview API and hands out a short-lived token with the role's policies.
#
#   VAULT_ADDR=https://vault.example.internal:8200 sh k8s/vault/setup.sh
#
# Vault's own service account needs the system:auth-delegator ClusterRole (the Vault Helm
# chart creates that binding); it is not part of k8s/ because it lives in Vault's namespace.
# No `audience` is bound: the pods log in with their default service-account token
# (blocks/vault.py reads /var/run/secrets/kubernetes.io/serviceaccount/token), whose
# audience is the API server. To bind audience=vault, mount a projected token with that
# audience in the work-pool template and point k8s_token_path at it.
set -eu
: "${K8S_HOST:=https://kubernetes.default.svc:443}"
NS=dora-workflows
VAULT="${VAULT:-vault}"  # or bao (OpenBao)

"$VAULT" auth list -format=json | grep -q '"kubernetes/"' || "$VAULT" auth enable kubernetes
if [ -n "${TOKEN_REVIEWER_JWT:-}" ]; then
  # Vault outside the cluster: it calls TokenReview with this reviewer token and trusts
  # the API server's CA from K8S_CA_CERT_FILE
  "$VAULT" write auth/kubernetes/config kubernetes_host="$K8S_HOST" \
    kubernetes_ca_cert=@"$K8S_CA_CERT_FILE" token_reviewer_jwt="$TOKEN_REVIEWER_JWT" \
    disable_local_ca_jwt=true
else
  # Vault inside the cluster: its own service account token and CA are used
  "$VAULT" write auth/kubernetes/config kubernetes_host="$K8S_HOST"
fi

"$VAULT" policy write dora-flow-runner "$(dirname "$0")/dora-flow-runner.hcl"
"$VAULT" policy write dora-webhook "$(dirname "$0")/dora-webhook.hcl"

# flow-run Job pods: service account dora-flow-runner (the work-pool template's default)
"$VAULT" write auth/kubernetes/role/dora-flow-runner \
  bound_service_account_names=dora-flow-runner \
  bound_service_account_namespaces="$NS" \
  token_policies=dora-flow-runner \
  token_ttl=15m token_max_ttl=2h

# webhook receiver pods: service account dora-webhook
"$VAULT" write auth/kubernetes/role/dora-webhook \
  bound_service_account_names=dora-webhook \
  bound_service_account_namespaces="$NS" \
  token_policies=dora-webhook \
  token_ttl=15m token_max_ttl=1h
