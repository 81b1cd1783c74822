"""The connector's settings (environment, prefix ``BACKFUTURE_``); Vault access is
:class:`bf_shared.settings.VaultSettings` and the exchange origin override
``BACKFUTURE_EXCHANGE_URL_<EXCHANGE>`` (:func:`bf_shared.settings.exchange_url_override`)."""

from __future__ import annotations

from pydantic import Field

from bf_shared.settings import ServiceSettings


class ConnectorSettings(ServiceSettings):
    """One connector process serves one exchange."""

    exchange: str = Field("", description="Exchange this process serves (the --exchange flag wins)")
    probe_timeout_s: float = Field(
        10.0,
        gt=0,
        description="Deadline of each probe of a test; the tester's request timeout must be longer",
    )
    request_timeout_s: float = Field(8.0, gt=0, description="HTTP timeout of one exchange call (ccxt)")
    enable_rate_limit: bool = Field(
        True, description="ccxt's client-side rate limiter; turn off only against the simulator"
    )
    client_ttl_s: float = Field(
        300.0, gt=0, description="Idle time after which a connection's cached client and secret are dropped"
    )
    client_cache_size: int = Field(1000, gt=0, description="Most connections with a cached client")
    probe_concurrency: int = Field(16, gt=0, description="Probe requests handled at once by this process")
