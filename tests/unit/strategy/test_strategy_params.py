"""Strategy parameters: presets fill omitted fields, validation says what is wrong."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest
from pydantic import ValidationError

from bf_shared.strategy import (
    PAIR_GROUPS,
    PRESETS,
    StrategyCreate,
    StrategyParams,
    StrategyPatch,
    UnknownPairGroup,
    add_deviation_pct,
    add_size_quote,
    ladder_quote,
    resolve_create,
    resolve_patch,
)
from bf_shared.strategy_messages import OrderRequest, StrategyEnabled, StrategySpec

from bf_runner.domain.ids import client_order_id

DESIGN_BODY = {
    "name": "BTC ETH Conservative", "pairs": ["BTC/USDT", "ETH/USDT"], "market": "spot",
    "risk_level": "conservative", "base_order_quote": 20, "margin_limit_quote": 500,
    "reinforcement": {"max_adds": 5, "step_pct": 1.5, "size_multiplier": 1.5, "step_multiplier": 1.2},
    "take_profit_pct": 1.2,
    "recovery_mode": {"enabled": True, "trigger_drawdown_pct": 10, "exit": "breakeven", "partial_close_pct": 25},
}


def test_the_design_request_body_is_accepted_as_is() -> None:
    params = resolve_create(StrategyCreate.model_validate_json(json.dumps(DESIGN_BODY)))
    assert params.pairs == ("BTC/USDT", "ETH/USDT")
    assert params.reinforcement.step_pct == D("1.5")  # exact decimals, not 1.4999...
    assert params.margin_limit_quote == D(500)
    # and it serialises back with the same numbers
    out = json.loads(params.model_dump_json())
    for key in ("base_order_quote", "margin_limit_quote", "take_profit_pct"):
        assert out[key] == DESIGN_BODY[key]
    assert out["reinforcement"] == DESIGN_BODY["reinforcement"]


@pytest.mark.parametrize("level", ["conservative", "moderate", "aggressive"])
def test_omitted_fields_come_from_the_risk_preset(level: str) -> None:
    params = resolve_create(StrategyCreate(name="x", pairs=("BTC/USDT",), risk_level=level,  # type: ignore[arg-type]
                                           reinforcement={"max_adds": 2}))  # type: ignore[arg-type]
    preset = PRESETS[level]  # type: ignore[index]
    assert params.reinforcement.max_adds == 2
    assert params.reinforcement.step_pct == preset["reinforcement"]["step_pct"]
    assert params.take_profit_pct == preset["take_profit_pct"]
    assert params.base_order_quote == preset["base_order_quote"]
    # no margin limit given: enough for the whole ladder of every pair
    assert params.margin_limit_quote >= ladder_quote(params)


def test_presets_get_more_aggressive() -> None:
    c, m, a = (resolve_create(StrategyCreate(name="x", pairs=("BTC/USDT",), risk_level=r))  # type: ignore[arg-type]
               for r in ("conservative", "moderate", "aggressive"))
    assert c.reinforcement.step_pct > m.reinforcement.step_pct > a.reinforcement.step_pct
    assert c.reinforcement.size_multiplier < m.reinforcement.size_multiplier < a.reinforcement.size_multiplier


def test_default_margin_covers_every_pair_ladder() -> None:
    params = resolve_create(StrategyCreate(name="x", pair_group="BTC ETH", risk_level="conservative"))
    assert params.pairs == PAIR_GROUPS["BTC ETH"]
    assert params.margin_limit_quote == (ladder_quote(params) * 2).quantize(D("0.01"), rounding="ROUND_CEILING")


def test_margin_limit_below_one_base_order_is_refused() -> None:
    with pytest.raises(ValidationError, match="below one base order"):
        resolve_create(StrategyCreate(name="x", pairs=("BTC/USDT",), base_order_quote=D(50), margin_limit_quote=D(20)))


@pytest.mark.parametrize("pairs, message", [
    (("BTCUSDT",), "BASE/QUOTE"),
    (("BTC/USDT", "BTC/USDT"), "repeat"),
    (("BTC/USDT", "ETH/BTC"), "one quote currency"),
])
def test_malformed_pairs_are_refused(pairs: tuple[str, ...], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        resolve_create(StrategyCreate(name="x", pairs=pairs))


def test_pairs_or_group_exactly_one() -> None:
    with pytest.raises(ValidationError, match="either pairs or pair_group"):
        StrategyCreate(name="x")
    with pytest.raises(ValidationError, match="either pairs or pair_group"):
        StrategyCreate(name="x", pairs=("BTC/USDT",), pair_group="Majors")
    with pytest.raises(UnknownPairGroup):
        resolve_create(StrategyCreate(name="x", pair_group="Nope"))


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError):
        StrategyCreate.model_validate({**DESIGN_BODY, "turbo": True})
    with pytest.raises(ValidationError):
        StrategyCreate.model_validate({**DESIGN_BODY, "reinforcement": {"max_adds": 1, "bogus": 2}})


def test_leverage_only_on_futures() -> None:
    with pytest.raises(ValidationError, match="futures only"):
        resolve_create(StrategyCreate(name="x", pairs=("BTC/USDT",), leverage=3))
    assert resolve_create(StrategyCreate(name="x", pairs=("BTC/USDT",), market="futures", leverage=3)).leverage == 3


def test_patch_changes_only_what_it_names_and_null_switches_a_stop_off() -> None:
    current = resolve_create(StrategyCreate(name="x", pairs=("BTC/USDT",), stop_conditions={"stop_loss_pct": 30}))  # type: ignore[arg-type]
    patched = resolve_patch(current, StrategyPatch.model_validate(
        {"take_profit_pct": 2.5, "stop_conditions": {"stop_loss_pct": None}}))
    assert patched.take_profit_pct == D("2.5") and patched.stop_conditions.stop_loss_pct is None
    assert patched.reinforcement == current.reinforcement and patched.pairs == current.pairs


def test_patch_to_another_risk_level_rebases_untouched_fields_but_keeps_the_market() -> None:
    current = resolve_create(StrategyCreate(name="x", pairs=("BTC/USDT",), market="futures", risk_level="conservative"))
    patched = resolve_patch(current, StrategyPatch(risk_level="aggressive", take_profit_pct=D(3)))
    assert patched.reinforcement == resolve_create(
        StrategyCreate(name="x", pairs=("BTC/USDT",), risk_level="aggressive")).reinforcement
    assert patched.take_profit_pct == D(3) and patched.market == "futures"
    with pytest.raises(ValidationError):
        StrategyPatch.model_validate({"pairs": ["ETH/USDT"]})  # pairs are fixed


def test_ladder_follows_3commas_volume_and_step_scale() -> None:
    p = resolve_create(StrategyCreate.model_validate(DESIGN_BODY))
    assert add_size_quote(p, 1) == D(30) and add_size_quote(p, 2) == D(45)
    # step 1.5 %, then 1.5 x 1.2 = 1.8 % more: add 2 sits 3.3 % below the base fill
    assert add_deviation_pct(p, 1) == D("1.5") and add_deviation_pct(p, 2) == D("3.30")


def test_client_order_ids_are_deterministic_short_and_distinct() -> None:
    a = client_order_id("s1", "BTC/USDT", 3, 7, "add")
    assert a == client_order_id("s1", "BTC/USDT", 3, 7, "add")
    assert len(a) == 32 and a.isalnum() and a.startswith("bf")
    others = {client_order_id("s1", "BTC/USDT", 3, 8, "add"), client_order_id("s1", "BTC/USDT", 4, 7, "add"),
              client_order_id("s1", "ETH/USDT", 3, 7, "add"), client_order_id("s2", "BTC/USDT", 3, 7, "add"),
              client_order_id("s1", "BTC/USDT", 3, 7, "tp")}
    assert a not in others and len(others) == 5


def test_bus_models_are_frozen_and_strict() -> None:
    params = resolve_create(StrategyCreate.model_validate(DESIGN_BODY))
    spec = StrategySpec(strategy_id="s", user_id="u", connection_id="c", exchange="mexc", params=params)
    assert StrategySpec.model_validate_json(spec.model_dump_json()) == spec
    event = StrategyEnabled(strategy_id="s", user_id="u", connection_id="c", exchange="mexc", params=params, version=1)
    assert StrategyEnabled.model_validate_json(event.model_dump_json()) == event
    with pytest.raises(ValidationError):
        OrderRequest(action="place", connection_id="c", exchange="mexc", market="spot", symbol="BTC/USDT",
                     amount=D(0))
    with pytest.raises(ValidationError):
        spec.model_copy(update={}).__setattr__("version", 2)
