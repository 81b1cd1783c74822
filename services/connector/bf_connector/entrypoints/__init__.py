"""Bus entrypoints: parse a message, call a handler, nothing else."""
