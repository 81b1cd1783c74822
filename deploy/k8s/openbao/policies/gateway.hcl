# Gateway: stores, rotates and destroys exchange credentials and fingerprints API keys.
# It has no "read" anywhere under connections/: once written, a secret cannot be read back
# by the service that faces the internet.

# New connection and key rotation (each write is a new KV v2 version).
path "secret/data/connections/*" {
  capabilities = ["create", "update"]
}

# Deleting a connection removes every version and the metadata.
path "secret/metadata/connections/*" {
  capabilities = ["delete"]
}

# Destroy specific versions (e.g. the old key after a rotation).
path "secret/destroy/connections/*" {
  capabilities = ["update"]
}

# Keyed fingerprint of an API key (duplicate-key warning) without storing the key.
path "transit/hmac/api-key-fingerprint" {
  capabilities = ["update"]
}
