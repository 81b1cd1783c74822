"""The connector: the only process that talks to exchanges (ccxt) and the only reader of API secrets.

One process per exchange (``python -m bf_connector --exchange mexc``). It answers connection
probes over NATS request/reply with *facts* about a key (which calls succeeded, what the
exchange says the key may do); the tester turns those facts into a verdict.
"""
