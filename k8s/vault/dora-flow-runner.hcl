# Vault policy of the flow-run pods (Kubernetes auth role dora-flow-runner): read the
# agents' secrets (LLM API keys, data-source credentials), use the transit key that signs
# audit records. Nothing else: no listing, no writes, no token creation.
path "secret/data/dora/agents/*" {
  capabilities = ["read"]
}
path "secret/data/dora/sources/*" {
  capabilities = ["read"]
}
path "transit/sign/dora-audit" {
  capabilities = ["update"]
}
path "transit/verify/dora-audit" {
  capabilities = ["update"]
}
