"""Strategy parameters: the DCA model users configure, risk presets and named pair groups.

Shared by the gateway (validates and resolves requests) and the runner (executes). The
semantics follow 3Commas DCA bots with Passivbot-style unstucking:

* **base order** — the first buy of a cycle, ``base_order_quote`` of quote currency;
* **reinforcement** (safety orders) — add number ``n`` (1-based) buys
  ``base_order_quote * size_multiplier**n`` when the price is
  ``step_pct * (1 + m + m**2 + ... + m**(n-1))`` percent below the base order's fill price,
  ``m`` being ``step_multiplier`` (3Commas' "step scale");
* **take profit** — a resting limit sell of the whole position at
  ``average_entry * (1 + take_profit_pct/100)``;
* **margin limit** — the most quote currency the strategy may have at risk across all its
  pairs: cost of the positions plus the notional reserved by open buy orders. Exposure is
  notional (price x amount), not collateral, also on futures: leverage never lets a strategy
  buy more than this. Adds that do not fit are shrunk to what is left, or skipped;
* **Recovery Mode** — once the reinforcements are exhausted (all done, or the margin limit
  leaves no room) and the drawdown from the average entry reaches ``trigger_drawdown_pct``,
  the exit target is lowered to break-even plus fees (``exit="breakeven"``) and/or
  ``partial_close_pct`` of the position is sold to free margin for the strategy's other
  pairs; another part is sold each time the price falls ``trigger_drawdown_pct`` further
  below the previous partial close, at most ``max_partial_closes`` times per cycle;
* **stop conditions** — ``stop_loss_pct`` (sell the position of that pair and stop it),
  ``max_cycles`` (per pair), ``max_loss_quote`` (realized loss of the whole strategy: the
  strategy is disabled, its open orders cancelled, positions left to the user).

When the margin limit is omitted it defaults to the full ladder (base order plus every
reinforcement) times the number of pairs, so the preset can always complete its ladder.
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, ValidationInfo, field_validator, model_validator

Market = Literal["spot", "futures"]
RiskLevel = Literal["conservative", "moderate", "aggressive"]
RecoveryExit = Literal["breakeven", "take_profit"]

#: A decimal quantity that validates exactly (``Decimal``) but appears in JSON as a number,
#: matching the numbers of the HTTP contract (``"base_order_quote": 20``).
Num = Annotated[Decimal, PlainSerializer(lambda d: float(d), return_type=float, when_used="json")]

PAIR_RE = re.compile(r"^[A-Z0-9]{1,20}/[A-Z0-9]{1,12}$")
MAX_PAIRS = 50


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Reinforcement(_Frozen):
    """Add-to-position ladder (3Commas safety orders)."""

    max_adds: int = Field(ge=0, le=25, description="How many adds a cycle may make")
    step_pct: Num = Field(gt=0, le=50, description="Price drop (%) from the base fill to the first add")
    size_multiplier: Num = Field(ge=Decimal("0.1"), le=10, description="Add n = base order x this**n")
    step_multiplier: Num = Field(ge=Decimal("0.5"), le=5, description="Each step is this times the previous")


class RecoveryMode(_Frozen):
    """What to do with a position stuck after the last reinforcement."""

    enabled: bool
    trigger_drawdown_pct: Num = Field(gt=0, lt=100, description="Drawdown from average entry that triggers it")
    exit: RecoveryExit = Field(description="breakeven: lower the target to break-even plus fees")
    partial_close_pct: Num = Field(ge=0, lt=100, description="Part of the position sold per step (0 = never)")
    max_partial_closes: int = Field(3, ge=0, le=20, description="Partial closes per cycle at most")


class StopConditions(_Frozen):
    """When a pair or the whole strategy stops. ``None`` disables a condition."""

    stop_loss_pct: Num | None = Field(None, gt=0, lt=100, description="Drawdown that sells the pair's position")
    max_cycles: int | None = Field(None, ge=1, description="Completed cycles per pair, then the pair stops")
    max_loss_quote: Num | None = Field(None, gt=0, description="Realized loss that disables the strategy")


class StrategyParams(_Frozen):
    """A complete, validated parameter set (every field resolved)."""

    name: str = Field(min_length=1, max_length=80)
    pairs: tuple[str, ...] = Field(min_length=1, max_length=MAX_PAIRS)
    pair_group: str | None = None
    market: Market
    risk_level: RiskLevel
    base_order_quote: Num = Field(gt=0)
    margin_limit_quote: Num = Field(gt=0)
    reinforcement: Reinforcement
    take_profit_pct: Num = Field(gt=0, le=100)
    recovery_mode: RecoveryMode
    stop_conditions: StopConditions = StopConditions()
    # Fee per side assumed for break-even targets; the real fees of fills are accounted as reported.
    fee_pct: Num = Field(Decimal("0.1"), ge=0, le=5)
    # How far above the last price a "buy now" limit order may fill (caps its cost).
    max_slippage_pct: Num = Field(Decimal("0.5"), gt=0, le=10)
    leverage: int = Field(1, ge=1, le=20, description="Futures only")

    @field_validator("pairs")
    @classmethod
    def _pairs_well_formed(cls, pairs: tuple[str, ...]) -> tuple[str, ...]:
        # Messages never repeat the rejected text: it is client input.
        for pair in pairs:
            if not PAIR_RE.match(pair):
                raise ValueError("each pair must be of the form BASE/QUOTE in capitals (e.g. BTC/USDT)")
        if len(set(pairs)) != len(pairs):
            raise ValueError("pairs must not repeat")
        # One quote currency, so that the margin limit is one amount of one currency.
        quotes = {p.split("/")[1] for p in pairs}
        if len(quotes) > 1:
            raise ValueError(f"all pairs must share one quote currency, got {', '.join(sorted(quotes))}")
        return pairs

    @field_validator("margin_limit_quote")
    @classmethod
    def _at_least_one_base_order(cls, margin: Decimal, info: ValidationInfo) -> Decimal:
        base = info.data.get("base_order_quote")
        if base is not None and margin < base:
            raise ValueError(
                f"margin_limit_quote ({margin:f}) is below one base order ({base:f}): "
                "the strategy could never open a position"
            )
        return margin

    @field_validator("leverage")
    @classmethod
    def _futures_only(cls, leverage: int, info: ValidationInfo) -> int:
        if leverage != 1 and info.data.get("market") != "futures":
            raise ValueError("leverage applies to futures only")
        return leverage

    @property
    def quote(self) -> str:
        """The quote currency of every pair (e.g. ``USDT``)."""
        return self.pairs[0].split("/")[1]


def add_size_quote(params: StrategyParams, n: int) -> Decimal:
    """Quote size of add number ``n`` (1-based)."""
    return params.base_order_quote * params.reinforcement.size_multiplier**n


def add_deviation_pct(params: StrategyParams, n: int) -> Decimal:
    """Cumulative drop (%) below the base fill price at which add ``n`` (1-based) buys."""
    r = params.reinforcement
    return r.step_pct * sum((r.step_multiplier**i for i in range(n)), Decimal(0))


def ladder_quote(params: StrategyParams) -> Decimal:
    """Quote needed by one pair to run its whole ladder: base order plus every add."""
    total = params.base_order_quote
    for n in range(1, params.reinforcement.max_adds + 1):
        total += add_size_quote(params, n)
    return total


# ----------------------------------------------------------------------------- presets

#: Defaults per risk level. ``conservative`` is the DESIGN.md example: wide steps and a
#: modest volume scale cover a deep drop; ``aggressive`` adds sooner and larger.
PRESETS: dict[RiskLevel, dict[str, Any]] = {
    "conservative": {
        "market": "spot",
        "base_order_quote": Decimal(20),
        "reinforcement": {"max_adds": 5, "step_pct": Decimal("1.5"), "size_multiplier": Decimal("1.5"),
                          "step_multiplier": Decimal("1.2")},
        "take_profit_pct": Decimal("1.2"),
        "recovery_mode": {"enabled": True, "trigger_drawdown_pct": Decimal(10), "exit": "breakeven",
                          "partial_close_pct": Decimal(25), "max_partial_closes": 3},
        "stop_conditions": {"stop_loss_pct": None, "max_cycles": None, "max_loss_quote": None},
    },
    "moderate": {
        "market": "spot",
        "base_order_quote": Decimal(30),
        "reinforcement": {"max_adds": 6, "step_pct": Decimal("1.2"), "size_multiplier": Decimal("1.6"),
                          "step_multiplier": Decimal("1.1")},
        "take_profit_pct": Decimal("1.5"),
        "recovery_mode": {"enabled": True, "trigger_drawdown_pct": Decimal(8), "exit": "breakeven",
                          "partial_close_pct": Decimal(25), "max_partial_closes": 3},
        "stop_conditions": {"stop_loss_pct": None, "max_cycles": None, "max_loss_quote": None},
    },
    "aggressive": {
        "market": "spot",
        "base_order_quote": Decimal(50),
        "reinforcement": {"max_adds": 8, "step_pct": Decimal("1.0"), "size_multiplier": Decimal("1.8"),
                          "step_multiplier": Decimal("1.0")},
        "take_profit_pct": Decimal("2.0"),
        "recovery_mode": {"enabled": True, "trigger_drawdown_pct": Decimal(6), "exit": "breakeven",
                          "partial_close_pct": Decimal(40), "max_partial_closes": 2},
        "stop_conditions": {"stop_loss_pct": None, "max_cycles": None, "max_loss_quote": None},
    },
}

#: Named pair groups users may pick instead of listing pairs.
PAIR_GROUPS: dict[str, tuple[str, ...]] = {
    "BTC ETH": ("BTC/USDT", "ETH/USDT"),
    "BTC ETH New Groups": ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT"),
    "Majors": ("BTC/USDT", "ETH/USDT", "BNB/USDT", "SOL/USDT", "XRP/USDT"),
    "Layer 1": ("ETH/USDT", "SOL/USDT", "ADA/USDT", "AVAX/USDT", "DOT/USDT"),
}


# ----------------------------------------------------------------------------- requests


class ReinforcementInput(_Frozen):
    """Request form of :class:`Reinforcement`: omitted fields come from the preset."""

    max_adds: int | None = None
    step_pct: Num | None = None
    size_multiplier: Num | None = None
    step_multiplier: Num | None = None


class RecoveryModeInput(_Frozen):
    """Request form of :class:`RecoveryMode`."""

    enabled: bool | None = None
    trigger_drawdown_pct: Num | None = None
    exit: RecoveryExit | None = None
    partial_close_pct: Num | None = None
    max_partial_closes: int | None = None


class StopConditionsInput(_Frozen):
    """Request form of :class:`StopConditions` (``null`` switches a condition off)."""

    stop_loss_pct: Num | None = None
    max_cycles: int | None = None
    max_loss_quote: Num | None = None


class _Tunables(_Frozen):
    base_order_quote: Num | None = None
    margin_limit_quote: Num | None = None
    reinforcement: ReinforcementInput | None = None
    take_profit_pct: Num | None = None
    recovery_mode: RecoveryModeInput | None = None
    stop_conditions: StopConditionsInput | None = None
    fee_pct: Num | None = None
    max_slippage_pct: Num | None = None


class StrategyCreate(_Tunables):
    """Body of ``POST /connections/{id}/strategies`` (field names fixed by DESIGN.md)."""

    name: str
    pairs: tuple[str, ...] | None = None
    pair_group: str | None = None
    market: Market | None = None
    risk_level: RiskLevel = "moderate"
    leverage: int | None = None

    @model_validator(mode="after")
    def _pairs_or_group(self) -> StrategyCreate:
        if (self.pairs is None) == (self.pair_group is None):
            raise ValueError("give either pairs or pair_group")
        return self


class StrategyPatch(_Tunables):
    """Body of ``PATCH /strategies/{id}``: any tunable, plus rename and user pause.

    Pairs and market are fixed for the life of a strategy (open positions belong to them):
    create another strategy to trade other pairs.
    """

    name: str | None = None
    risk_level: RiskLevel | None = None
    paused: bool | None = None


class UnknownPairGroup(ValueError):
    """``pair_group`` names no group."""


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _user_fields(model: BaseModel) -> dict[str, Any]:
    # exclude_unset keeps an explicit null (switching a stop condition off) distinct from "omitted".
    return model.model_dump(exclude_unset=True)


def resolve_create(request: StrategyCreate) -> StrategyParams:
    """Fill the omitted fields of ``request`` from its risk level's preset and validate.

    Raises :class:`UnknownPairGroup` or pydantic's ``ValidationError``.
    """
    fields = _user_fields(request)
    group = fields.pop("pair_group", None)
    if group is not None:
        if group not in PAIR_GROUPS:
            raise UnknownPairGroup(f"unknown pair_group {group!r}; known: {sorted(PAIR_GROUPS)}")
        fields["pairs"] = PAIR_GROUPS[group]
    merged = _deep_merge(PRESETS[request.risk_level], fields)
    merged["risk_level"] = request.risk_level
    merged["pair_group"] = group
    if merged.get("leverage") is None:
        merged.pop("leverage", None)
    return _with_default_margin(merged)


def _with_default_margin(merged: dict[str, Any]) -> StrategyParams:
    if merged.get("margin_limit_quote") is None:
        draft = StrategyParams.model_validate({**merged, "margin_limit_quote": Decimal("1e18")})
        full = (ladder_quote(draft) * len(draft.pairs)).quantize(Decimal("0.01"), rounding=ROUND_CEILING)
        merged = {**merged, "margin_limit_quote": full}
    return StrategyParams.model_validate(merged)


def resolve_patch(current: StrategyParams, patch: StrategyPatch) -> StrategyParams:
    """``current`` with ``patch`` applied; a new ``risk_level`` re-bases untouched fields.

    ``paused`` is not a parameter and is ignored here.
    """
    fields = _user_fields(patch)
    fields.pop("paused", None)
    base = current.model_dump()
    if "risk_level" in fields and fields["risk_level"] != current.risk_level:
        base = _deep_merge(base, PRESETS[fields["risk_level"]])
        base["market"] = current.market  # the market never changes
    merged = _deep_merge(base, fields)
    return StrategyParams.model_validate(merged)
