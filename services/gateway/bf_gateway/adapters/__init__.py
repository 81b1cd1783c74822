"""The gateway's ports and their adapters: NATS KV and publishing, Vault, passwords, tokens."""
