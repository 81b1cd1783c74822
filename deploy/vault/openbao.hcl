# OpenBao for docker-compose: raft storage on a volume, static auto-unseal from a key file
# created once by the openbao-keygen job. The listener is plain HTTP on the compose network
# only (nothing publishes port 8200); a production deployment terminates TLS here and uses
# a KMS or transit seal instead of a key file.
storage "raft" {
  path    = "/openbao/file"
  node_id = "openbao-0"
}

listener "tcp" {
  address         = "0.0.0.0:8200"
  cluster_address = "0.0.0.0:8201"
  tls_disable     = true
}

seal "static" {
  current_key_id = "compose-1"
  current_key    = "file:///openbao/unseal/unseal.key"
}

api_addr     = "http://openbao:8200"
cluster_addr = "http://openbao:8201"
ui           = false
