"""FastStream subscribers: parse a bus message, call a handler, nothing else."""
