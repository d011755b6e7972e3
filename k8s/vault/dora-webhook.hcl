# Vault policy of the webhook receiver (Kubernetes auth role dora-webhook): read the HMAC
# shared secret only.
path "secret/data/dora/webhook" {
  capabilities = ["read"]
}
