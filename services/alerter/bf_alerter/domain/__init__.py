"""Pure alerting logic: alerts, per-connection/exchange state, rules and audit projection."""
