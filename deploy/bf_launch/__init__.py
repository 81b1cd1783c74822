"""Local launcher and real-server fixtures: NATS, OpenBao, the services, all on loopback.

* ``python -m bf_launch up`` — the whole system for a developer (``./dev run``);
* :class:`bf_launch.stack.Stack` — the same system on free ports in a directory, for tests;
* :mod:`bf_launch.nats`, :mod:`bf_launch.vault`, :mod:`bf_launch.vault_bootstrap`,
  :mod:`bf_launch.procs` — the pieces, used by ``tests/conftest.py``.
"""
