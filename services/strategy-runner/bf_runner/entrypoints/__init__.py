"""Bus entrypoints of the runner: parse, hand to the supervisor or a handler, nothing else."""
