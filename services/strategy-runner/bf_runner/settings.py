"""Settings of the strategy runner (environment variables, prefix ``BACKFUTURE_``)."""

from __future__ import annotations

from pydantic import Field

from bf_shared.settings import ServiceSettings


class RunnerSettings(ServiceSettings):
    """Everything ``python -m bf_runner`` reads from the environment."""

    runner_id: str = Field("", description="Unique name of this replica (default: host-pid-random)")
    lease_ttl_s: float = Field(10.0, gt=0, description="A runner silent this long loses its strategies")
    heartbeat_s: float = Field(3.0, gt=0, description="How often the runner renews its session lease")
    scan_s: float = Field(2.0, gt=0, description="How often the runner looks for unowned strategies")
    max_strategies: int = Field(0, ge=0, description="Most strategies one runner owns (0: a fair share)")
    order_timeout_s: float = Field(10.0, gt=0, description="Wait for the connector's reply to one order call")
    order_retries: int = Field(3, ge=1, description="Tries of one order call on a retryable error")
    reconcile_s: float = Field(
        300.0, gt=0,
        description="How often every open order is checked with the exchange (fills are otherwise "
        "asked for when a tick crosses the order price); each check costs exchange rate limit",
    )
    interest_s: float = Field(5.0, gt=0, description="How often needed symbols are announced to the connectors")
    markets_ttl_s: float = Field(600.0, gt=0, description="How long a connector's market list is cached")
