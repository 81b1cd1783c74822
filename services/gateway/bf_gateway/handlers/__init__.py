"""Use cases of the gateway: plain async functions, dependencies passed in."""
