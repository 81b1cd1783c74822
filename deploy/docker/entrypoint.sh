#!/bin/sh
# Loads this service's Vault AppRole credentials (written by the openbao-init job into a
# volume only this service mounts), then replaces itself with `python -m $BF_MODULE`.
set -eu
creds=/run/backfuture/vault/vault.env
if [ -r "$creds" ]; then
  set -a
  . "$creds"
  set +a
fi
exec python -m "$BF_MODULE" "$@"
