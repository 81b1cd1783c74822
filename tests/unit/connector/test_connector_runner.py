"""The probe runner: concurrency, per-probe timeouts and durations, plan by markets, facts."""

from __future__ import annotations

import asyncio
from typing import Any

from bf_shared.codes import ErrorCode
from bf_shared.messages import Market, ProbeName, ProbeOutcome
from prometheus_client import CollectorRegistry

from bf_connector.domain.facts import PermissionReport
from bf_connector.errors import ExchangeError
from bf_connector.exchanges.base import RunContext
from bf_connector.exchanges.runner import run_probes
from bf_connector.metrics import ConnectorMetrics

from .fakes import FakeClock, FakeSession, ScriptedVenue

ALL: tuple[Market, ...] = ("spot", "futures")


async def _run(venue: ScriptedVenue, markets: tuple[Market, ...] = ALL, timeout_s: float = 5.0, clock: FakeClock | None = None,
               metrics: ConnectorMetrics | None = None) -> tuple[dict[ProbeName, ProbeOutcome], Any]:
    outcomes, facts = await run_probes(
        venue, FakeSession(), markets, timeout_s=timeout_s, clock=clock or FakeClock(), new_id=lambda: "id1",  # type: ignore[arg-type]
        metrics=metrics,
    )
    return {o.name: o for o in outcomes}, facts


async def test_all_probes_of_a_run_start_before_any_finishes() -> None:
    names = ["exchange_status", "signed_check", "read_balance", "trade", "futures_balance"]
    barrier = asyncio.Barrier(len(names) + 1)  # + permissions
    events: list[str] = []

    def probe(name: str, result: Any = None) -> Any:
        async def run(ctx: RunContext) -> Any:
            events.append(f"start {name}")
            # Sequential execution would leave this barrier short forever: the probe would
            # time out and the outcome assertion below would fail.
            await barrier.wait()
            events.append(f"end {name}")
            return result

        return run

    venue = ScriptedVenue(**{n: probe(n) for n in names}, permissions=probe("permissions", PermissionReport()))
    outcomes, _ = await _run(venue)
    assert all(o.ok for o in outcomes.values()), outcomes
    assert len(outcomes) == 6
    first_end = next(i for i, e in enumerate(events) if e.startswith("end"))
    assert first_end == 6 and all(e.startswith("start") for e in events[:6])


async def test_each_probe_has_its_own_duration_from_the_injected_clock() -> None:
    clock = FakeClock()
    release = asyncio.Event()

    async def slow(ctx: RunContext) -> None:
        for _ in range(10):  # let every other probe start, and the instant one finish, first
            await asyncio.sleep(0)
        clock.advance(2.0)
        release.set()

    async def waits(ctx: RunContext) -> None:
        await release.wait()

    async def instant(ctx: RunContext) -> None:
        return None

    venue = ScriptedVenue(exchange_status=slow, signed_check=waits, read_balance=waits, trade=instant)
    outcomes, _ = await _run(venue, markets=("spot",), clock=clock)
    assert outcomes[ProbeName.EXCHANGE_STATUS].duration_ms == 2000.0
    assert outcomes[ProbeName.CREDENTIALS].duration_ms == 2000.0
    assert outcomes[ProbeName.TRADE].duration_ms == 0.0


async def test_a_hung_probe_fails_as_exchange_unavailable_without_holding_the_others() -> None:
    never = asyncio.Event()

    async def hang(ctx: RunContext) -> None:
        await never.wait()

    outcomes, _ = await _run(ScriptedVenue(trade=hang), timeout_s=0.05)
    trade = outcomes[ProbeName.TRADE]
    assert not trade.ok and trade.error is not None
    assert trade.error.code == ErrorCode.EXCHANGE_UNAVAILABLE and "0.05" in trade.error.detail
    assert outcomes[ProbeName.READ_BALANCE].ok


async def test_probes_follow_the_markets() -> None:
    spot, _ = await _run(ScriptedVenue(), markets=("spot",))
    futures, _ = await _run(ScriptedVenue(), markets=("futures",))
    base = {ProbeName.EXCHANGE_STATUS, ProbeName.CREDENTIALS, ProbeName.READ_BALANCE, ProbeName.PERMISSIONS}
    assert set(spot) == base | {ProbeName.TRADE}
    assert set(futures) == base | {ProbeName.FUTURES_BALANCE}


async def test_permission_denied_on_the_signed_check_still_proves_the_credentials() -> None:
    async def denied(ctx: RunContext) -> None:
        raise ExchangeError.of("permission_denied", "No permission", exchange_code="700007")

    outcomes, facts = await _run(ScriptedVenue(signed_check=denied, read_balance=denied))
    assert outcomes[ProbeName.CREDENTIALS].ok
    read = outcomes[ProbeName.READ_BALANCE]
    assert not read.ok and read.error is not None and read.error.code == "permission_denied"
    assert facts.permissions.read is False


async def test_a_bad_key_fails_the_credentials_probe_with_its_code() -> None:
    async def bad(ctx: RunContext) -> None:
        raise ExchangeError.of(ErrorCode.INVALID_PASSPHRASE, "Invalid KC-API-PASSPHRASE", exchange_code="400004")

    outcomes, _ = await _run(ScriptedVenue(signed_check=bad))
    error = outcomes[ProbeName.CREDENTIALS].error
    assert error is not None and error.code == ErrorCode.INVALID_PASSPHRASE and error.exchange_code == "400004"


async def test_a_connector_bug_is_unknown_not_a_key_problem() -> None:
    async def bug(ctx: RunContext) -> None:
        raise KeyError("oops")

    outcomes, _ = await _run(ScriptedVenue(trade=bug))
    error = outcomes[ProbeName.TRADE].error
    assert error is not None and error.code == "unknown" and "KeyError" in error.detail


async def test_shared_calls_run_once_per_run() -> None:
    calls = 0

    async def account() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        return {"balances": []}

    async def uses_account(ctx: RunContext) -> None:
        await ctx.once("account", account)

    outcomes, _ = await _run(ScriptedVenue(signed_check=uses_account, read_balance=uses_account))
    assert calls == 1 and outcomes[ProbeName.CREDENTIALS].ok and outcomes[ProbeName.READ_BALANCE].ok


async def test_futures_test_order_feeds_the_futures_right_not_the_probe() -> None:
    async def accepted(ctx: RunContext) -> bool:
        return True

    async def no_introspection(ctx: RunContext) -> PermissionReport:
        return PermissionReport()

    outcomes, facts = await _run(ScriptedVenue(futures_trade=accepted, permissions=no_introspection))
    assert outcomes[ProbeName.FUTURES_BALANCE].ok
    assert facts.permissions.futures is True and facts.source == "inferred"


async def test_a_refused_futures_test_order_denies_futures_but_the_balance_probe_passes() -> None:
    async def refused(ctx: RunContext) -> bool:
        raise ExchangeError.of("permission_denied", "Access denied")

    outcomes, facts = await _run(ScriptedVenue(futures_trade=refused))
    assert outcomes[ProbeName.FUTURES_BALANCE].ok
    assert facts.permissions.futures is False


async def test_probe_outcomes_are_counted_with_code_labels_only() -> None:
    registry = CollectorRegistry()

    async def bad(ctx: RunContext) -> None:
        raise ExchangeError.of(ErrorCode.IP_NOT_ALLOWED, "IP not allowed")

    await _run(ScriptedVenue(trade=bad), metrics=ConnectorMetrics(registry))
    assert registry.get_sample_value(
        "bf_connector_probes_total", {"exchange": "mexc", "probe": "trade", "outcome": "ip_not_allowed"}
    ) == 1.0
    assert registry.get_sample_value(
        "bf_connector_probes_total", {"exchange": "mexc", "probe": "read_balance", "outcome": "ok"}
    ) == 1.0


async def test_a_test_order_rejected_for_its_content_is_inconclusive_not_unknown() -> None:
    async def rejected(ctx: RunContext) -> None:
        raise ExchangeError.of("unknown", "Balance insufficient!", exchange_code="200004", http_status=400)

    outcomes, facts = await _run(ScriptedVenue(trade=rejected))
    error = outcomes[ProbeName.TRADE].error
    assert error is not None and error.code == "not_supported" and error.exchange_code == "200004"
    assert "Balance insufficient!" in error.detail
    assert facts.permissions.trade is True  # introspection decides


async def test_an_unknown_failure_elsewhere_stays_unknown() -> None:
    async def odd(ctx: RunContext) -> None:
        raise ExchangeError.of("unknown", "odd answer")

    outcomes, _ = await _run(ScriptedVenue(read_balance=odd))
    error = outcomes[ProbeName.READ_BALANCE].error
    assert error is not None and error.code == "unknown"
