"""BackFuture Connect shared library: messages, subjects, settings, bus, Vault, logging, ops."""
