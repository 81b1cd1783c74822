"""Runtime state of one simulated exchange: keys, accounts, conditions, request log.

Everything here is rebuilt from the config on ``reset``; the admin API mutates it in between.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from bf_shared.masking import mask_api_key
from bf_sim.clock import Clock
from bf_sim.config import Conditions, ExchangeConfig, KeyConfig
from bf_sim.engine.prices import PricePaths

if TYPE_CHECKING:
    from bf_sim.engine.orders import Engine

EngineFactory = Callable[[PricePaths, Clock], "Engine"]

DAY_MS = 86_400_000
ExchangeName = Literal["mexc", "kucoin"]


@dataclass
class Account:
    """Wallets of one exchange account; several keys may share it."""

    account_id: str
    spot: dict[str, Decimal] = field(default_factory=dict)
    futures: dict[str, Decimal] = field(default_factory=dict)
    # Amounts reserved by open orders, per wallet and currency.
    spot_locked: dict[str, Decimal] = field(default_factory=dict)
    futures_locked: dict[str, Decimal] = field(default_factory=dict)

    def free(self, wallet: Literal["spot", "futures"], currency: str) -> Decimal:
        """Total minus locked."""
        totals, locks = (self.spot, self.spot_locked) if wallet == "spot" else (self.futures, self.futures_locked)
        return totals.get(currency, Decimal(0)) - locks.get(currency, Decimal(0))


@dataclass
class KeyState:
    """An API key as the exchange sees it at runtime."""

    config: KeyConfig
    account: Account
    created_at_ms: int

    @property
    def api_key(self) -> str:
        """The key id (not a secret, but shown masked)."""
        return self.config.api_key

    @property
    def masked(self) -> str:
        """The key as it may appear in logs and admin answers."""
        return mask_api_key(self.config.api_key)

    @property
    def label(self) -> str:
        """The configured label, or the masked key."""
        return self.config.label or self.masked

    @property
    def secret(self) -> str:
        """The signing secret (never logged)."""
        return self.config.secret.get_secret_value()

    @property
    def passphrase(self) -> str | None:
        """The KuCoin passphrase, if any (never logged)."""
        return self.config.passphrase.get_secret_value() if self.config.passphrase else None

    def has(self, permission: str) -> bool:
        """Whether the key carries this native permission."""
        return permission in self.config.permissions

    def ip_allowed(self, ip: str) -> bool:
        """An empty whitelist allows every IP; entries may be addresses or CIDR networks."""
        if not self.config.ip_whitelist:
            return True
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        for entry in self.config.ip_whitelist:
            try:
                if addr in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
        return False

    def expires_at_ms(self) -> int | None:
        """When the key stops working, or None."""
        days = self.config.expires_in_days
        return None if days is None else self.created_at_ms + days * DAY_MS

    def remaining_validity_days(self, now_ms: int) -> int | None:
        """Whole days left (MEXC ``remainingValidity``), never negative."""
        expires = self.expires_at_ms()
        if expires is None:
            return None
        return max(0, -(-(expires - now_ms) // DAY_MS))

    def expired(self, now_ms: int) -> bool:
        """Whether the key is past its validity."""
        expires = self.expires_at_ms()
        return expires is not None and now_ms >= expires


@dataclass(frozen=True)
class RequestRecord:
    """One received request, as the admin API reports it (never a secret or signature)."""

    ts_ms: int
    method: str
    path: str
    status: int
    code: str | None
    api_key: str | None  # masked
    key_label: str | None
    # The full key id, only for filtering; never part of an answer.
    key_id: str | None = None

    def as_json(self) -> dict[str, object]:
        """JSON form for ``GET /__sim/requests``."""
        return {
            "ts": self.ts_ms,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "code": self.code,
            "api_key": self.api_key,
            "key_label": self.key_label,
        }


class ExchangeState:
    """Mutable state of one simulated exchange, restorable from its config."""

    MAX_LOG = 10_000

    def __init__(
        self,
        name: ExchangeName,
        config: ExchangeConfig,
        clock: Clock,
        seed: int = 0,
        engine_factory: EngineFactory | None = None,
    ) -> None:
        self.name: ExchangeName = name
        # What reset restores; ``config`` is the live copy the admin API may change.
        self.initial_config = config
        self.config = config
        self.clock = clock
        self.keys: dict[str, KeyState] = {}
        self.accounts: dict[str, Account] = {}
        self.conditions = Conditions()
        self.requests: deque[RequestRecord] = deque(maxlen=self.MAX_LOG)
        self.prices = PricePaths(seed)
        self._engine = engine_factory(self.prices, clock) if engine_factory else None
        self._release: asyncio.Event | None = None
        # Set when the server stops: hung requests give up instead of waiting again.
        self.closing = False
        self.reset()

    # -- lifecycle -----------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the config: keys, balances, conditions, prices; empties the log; frees hung requests."""
        self.config = self.initial_config
        self.prices.reset()
        if self._engine is not None:
            self._engine.reset()
        self.keys.clear()
        self.accounts.clear()
        self.conditions = self.config.conditions
        self.requests.clear()
        for key in self.config.keys:
            self.upsert_key(key)
        self.release_hung()

    def release_hung(self) -> None:
        """Let every request held by a ``hang`` condition go on."""
        if self._release is not None:
            self._release.set()
        self._release = None

    async def wait_released(self) -> None:
        """Block until the next ``release_hung`` (reset, a condition change, or shutdown)."""
        if self._release is None:
            self._release = asyncio.Event()
        await self._release.wait()

    # -- market ---------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """Orders and positions (exchanges built without one cannot trade)."""
        if self._engine is None:
            raise RuntimeError(f"{self.name} simulator has no trading engine")
        return self._engine

    def advance(self, steps: int = 1) -> int:
        """Move prices ``steps`` steps, filling resting orders at every step; returns the fills."""
        filled = 0
        for _ in range(steps):
            self.prices.advance(1)
            if self._engine is not None:
                filled += len(self._engine.match(self.accounts))
        return filled

    # -- time ----------------------------------------------------------------------------

    def server_now_ms(self, key: KeyState | None = None) -> int:
        """The exchange's clock: the injected clock plus the configured skew."""
        skew = self.conditions.clock_skew_ms + (key.config.conditions.clock_skew_ms if key else 0)
        return self.clock.now_ms() + skew

    # -- keys ----------------------------------------------------------------------------

    def upsert_key(self, config: KeyConfig) -> KeyState:
        """Create or replace a key; its account is created on first use with its balances."""
        unknown = set(config.permissions) - type(self.config).PERMISSIONS
        if unknown:
            raise ValueError(f"unknown permissions {sorted(unknown)}")
        account_id = config.account or config.api_key
        account = self.accounts.get(account_id)
        if account is None:
            account = Account(
                account_id=account_id,
                spot=dict(config.balances.spot),
                futures=dict(config.balances.futures),
            )
            self.accounts[account_id] = account
        previous = self.keys.get(config.api_key)
        created = previous.created_at_ms if previous else self.clock.now_ms()
        state = KeyState(config=config, account=account, created_at_ms=created)
        self.keys[config.api_key] = state
        return state

    def delete_key(self, api_key: str) -> bool:
        """Revoke a key; its account (balances, orders) stays."""
        return self.keys.pop(api_key, None) is not None

    def find_key(self, api_key: str | None) -> KeyState | None:
        """The key with this id, if it exists."""
        return self.keys.get(api_key) if api_key else None

    # -- conditions ----------------------------------------------------------------------

    def set_conditions(self, conditions: Conditions) -> None:
        """Replace the exchange-wide conditions (clearing ``hang`` frees held requests)."""
        self.conditions = conditions
        if not conditions.hang:
            self.release_hung()

    # -- request log ---------------------------------------------------------------------

    def log(self, record: RequestRecord) -> None:
        """Remember a request for ``GET /__sim/requests``."""
        self.requests.append(record)
