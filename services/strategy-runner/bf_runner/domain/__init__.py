"""Pure, deterministic strategy logic: no I/O, no clock, no randomness.

``engine`` is the entry point (events in, new state and order commands out); ``deal`` holds
the per-pair DCA state machine; ``model`` the persisted state; ``ladder`` the prices/sizes.
"""
