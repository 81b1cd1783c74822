# Connector: the only reader of exchange credentials. It cannot write, list or delete them.
path "secret/data/connections/*" {
  capabilities = ["read"]
}
