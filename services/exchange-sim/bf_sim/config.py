"""Configuration models: keys, their rights, and the conditions each exchange is in.

Loaded from a JSON file (``--config``) or built in tests; the admin API accepts the same
shapes. Models are frozen and reject unknown fields so a typo in a test fixture fails loudly.
"""

from __future__ import annotations

import json
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

# Native permission names, exactly as each exchange spells them.
MEXC_PERMISSIONS: frozenset[str] = frozenset(
    {
        "SPOT_ACCOUNT_READ",
        "SPOT_ACCOUNT_WRITE",
        "SPOT_DEAL_READ",
        "SPOT_DEAL_WRITE",
        "CONTRACT_ACCOUNT_READ",
        "CONTRACT_ACCOUNT_WRITE",
        "CONTRACT_DEAL_READ",
        "CONTRACT_DEAL_WRITE",
        "SPOT_WITHDRAW_READ",
        "SPOT_WITHDRAW_WRITE",
        "SPOT_TRANSFER_READ",
        "SPOT_TRANSFER_WRITE",
    }
)
KUCOIN_PERMISSIONS: frozenset[str] = frozenset(
    {"General", "Spot", "Margin", "Futures", "InnerTransfer", "Transfer", "Earn", "FlexTransfers"}
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RateLimitCondition(_Frozen):
    """Answer every request with HTTP 429 and this ``Retry-After``."""

    retry_after_s: int = Field(default=5, ge=0)


class Conditions(_Frozen):
    """Failure modes, exchange-wide or for one key. All off by default."""

    maintenance: bool = False
    # Every request answers this gateway status (e.g. 502, 503) with an HTML body.
    http_5xx: int | None = Field(default=None, ge=500, le=599)
    latency_ms: int = Field(default=0, ge=0)
    # Requests never answer until POST /__sim/reset (or the server stops).
    hang: bool = False
    rate_limit: RateLimitCondition | None = None
    # Server clock offset: positive means the server is ahead of the client.
    clock_skew_ms: int = 0


class Balances(_Frozen):
    """Starting balances per wallet, by currency code (``BTC``, ``USDT``)."""

    spot: dict[str, Decimal] = Field(default_factory=dict)
    futures: dict[str, Decimal] = Field(default_factory=dict)


class KeyConfig(_Frozen):
    """One API key as the exchange knows it."""

    api_key: str = Field(min_length=1)
    secret: SecretStr
    passphrase: SecretStr | None = None
    # A readable name for tests and the request log (the key itself is shown masked).
    label: str | None = None
    permissions: tuple[str, ...] = ()
    # Empty: the key is not IP-restricted.
    ip_whitelist: tuple[str, ...] = ()
    balances: Balances = Balances()
    # MEXC ``remainingValidity``: None never expires; 0 or less is already expired.
    expires_in_days: int | None = None
    is_master: bool = True
    sub_name: str | None = None
    # Keys naming the same account share balances and orders (default: the key alone).
    account: str | None = None
    # KuCoin: whether the account trades through the high-frequency (HF) endpoints.
    hf_account: bool = True
    conditions: Conditions = Conditions()


class ExchangeConfig(_Frozen):
    """Keys and conditions of one simulated exchange."""

    PERMISSIONS: ClassVar[frozenset[str]] = frozenset()

    keys: tuple[KeyConfig, ...] = ()
    conditions: Conditions = Conditions()
    # Count request weights against the exchange's documented limits (EXCHANGES.md).
    simulate_rate_limits: bool = False

    @model_validator(mode="after")
    def _known_permissions(self) -> ExchangeConfig:
        seen: set[str] = set()
        for key in self.keys:
            unknown = set(key.permissions) - self.PERMISSIONS
            if unknown:
                raise ValueError(f"unknown permissions {sorted(unknown)}; expected some of {sorted(self.PERMISSIONS)}")
            if key.api_key in seen:
                raise ValueError("duplicate api_key in config")
            seen.add(key.api_key)
        return self


class MexcConfig(ExchangeConfig):
    """MEXC-specific switches."""

    PERMISSIONS: ClassVar[frozenset[str]] = MEXC_PERMISSIONS

    # GET /api/v3/apiKeyInfo is UNCONFIRMED on the real exchange (EXCHANGES.md); when False
    # the simulator answers it like any unknown path.
    api_key_info_supported: bool = True
    # MEXC documents SPOT_WITHDRAW_READ as the permission of GET /api/v3/capital/config/getall,
    # which ccxt calls from load_markets whenever credentials are set.
    # https://www.mexc.com/api-docs/spot-v3/wallet-endpoints  (None: any valid key may call it)
    currency_config_permission: str | None = "SPOT_WITHDRAW_READ"


class KucoinConfig(ExchangeConfig):
    """KuCoin-specific switches."""

    PERMISSIONS: ClassVar[frozenset[str]] = KUCOIN_PERMISSIONS

    # KuCoin documents futures *reads* (account-overview, positions) as "General"; only
    # futures order endpoints need "Futures". Set to "Futures" to be stricter.
    futures_read_permission: str = "General"


class SimConfig(_Frozen):
    """The whole simulator: both exchanges and the seed of the price paths."""

    comment: str = ""
    mexc: MexcConfig = MexcConfig()
    kucoin: KucoinConfig = KucoinConfig()
    seed: int = 0


def load_config(path: str | Path) -> SimConfig:
    """Read and validate a JSON config file."""
    return SimConfig.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))


def demo_config() -> SimConfig:
    """The shipped demo keys (``bf_sim/demo_keys.json``)."""
    text = resources.files("bf_sim").joinpath("demo_keys.json").read_text(encoding="utf-8")
    return SimConfig.model_validate(json.loads(text))
