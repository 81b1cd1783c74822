#!/bin/sh
# Idempotent OpenBao configuration for BackFuture (run by the openbao-configure Job).
# Same layout as the local launcher (deploy/bf_launch/vault_bootstrap.py), with Kubernetes
# auth instead of AppRole: each Vault client logs in with its pod's service-account token.
set -eu
NAMESPACE="${BACKFUTURE_NAMESPACE:-backfuture}"

bao secrets list -format=json | grep -q '"secret/"' || bao secrets enable -path=secret -version=2 kv
bao secrets list -format=json | grep -q '"transit/"' || bao secrets enable -path=transit transit
bao read transit/keys/api-key-fingerprint >/dev/null 2>&1 \
  || bao write -f transit/keys/api-key-fingerprint type=aes256-gcm96

bao auth list -format=json | grep -q '"kubernetes/"' || bao auth enable kubernetes
# In-cluster: OpenBao reviews tokens with its own service account (system:auth-delegator).
bao write auth/kubernetes/config \
  kubernetes_host="https://${KUBERNETES_SERVICE_HOST}:${KUBERNETES_SERVICE_PORT}"

for service in gateway connector tester runner alerter; do
  bao policy write "bf-${service}" "/policies/${service}.hcl"
done

# Only the gateway and the connectors are Vault clients; the other services have no role.
for service in gateway connector; do
  bao write "auth/kubernetes/role/bf-${service}" \
    bound_service_account_names="${service}" \
    bound_service_account_namespaces="${NAMESPACE}" \
    token_policies="bf-${service}" \
    token_type=service \
    token_ttl=1h \
    token_max_ttl=24h
done
echo "openbao configured for namespace ${NAMESPACE}"
