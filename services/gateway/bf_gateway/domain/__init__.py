"""Pure logic of the gateway: users, connection views, the read-model projection, rules."""
