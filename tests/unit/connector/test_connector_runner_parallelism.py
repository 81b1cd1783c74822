"""The probe runner's ``max_parallel`` cap: one at a time runs the plan in order, each probe
timed (and timed out) from its own start."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bf_shared.messages import Market, ProbeName
from bf_connector.domain.facts import PermissionReport
from bf_connector.exchanges.base import RunContext
from bf_connector.exchanges.runner import plan, run_probes

from .fakes import FakeClock, FakeSession, ScriptedVenue

ALL: tuple[Market, ...] = ("spot", "futures")
VENUE_METHODS = ["exchange_status", "signed_check", "read_balance", "permissions", "trade", "futures_balance"]


def _recording(events: list[str], delay_s: float = 0.0) -> ScriptedVenue:
    def probe(name: str, result: Any = None) -> Any:
        async def run(ctx: RunContext) -> Any:
            events.append(f"start {name}")
            await asyncio.sleep(delay_s)
            events.append(f"end {name}")
            return result

        return run

    probes = {n: probe(n) for n in VENUE_METHODS}
    probes["permissions"] = probe("permissions", PermissionReport())
    return ScriptedVenue(**probes)


async def test_one_at_a_time_runs_every_probe_alone_in_plan_order() -> None:
    events: list[str] = []
    venue = _recording(events)

    outcomes, _ = await run_probes(
        venue, FakeSession(), ALL, timeout_s=5, clock=FakeClock(), new_id=lambda: "id1",  # type: ignore[arg-type]
        max_parallel=1,
    )

    assert all(o.ok for o in outcomes)
    assert [o.name for o in outcomes] == [name for name, _ in plan(venue, ALL)]
    # credentials runs the venue's signed_check; futures_balance also asks futures_trade (scripted: none).
    order = ["exchange_status", "signed_check", "read_balance", "permissions", "trade", "futures_balance"]
    assert events == [e for name in order for e in (f"start {name}", f"end {name}")]


async def test_a_probe_waiting_for_its_turn_is_not_timed_out_for_the_wait() -> None:
    # Six probes of 50 ms one after another take 300 ms, twice the per-probe deadline.
    events: list[str] = []

    outcomes, _ = await run_probes(
        _recording(events, delay_s=0.05), FakeSession(), ALL, timeout_s=0.15,  # type: ignore[arg-type]
        clock=FakeClock(), new_id=lambda: "id1", max_parallel=1,
    )

    assert [o.error for o in outcomes if not o.ok] == []


async def test_a_cap_of_two_never_has_more_than_two_probes_in_flight() -> None:
    in_flight, peak = 0, 0

    async def counted(ctx: RunContext) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1

    venue = ScriptedVenue(**{n: counted for n in VENUE_METHODS if n != "permissions"})
    outcomes, _ = await run_probes(
        venue, FakeSession(), ALL, timeout_s=5, clock=FakeClock(), new_id=lambda: "id1",  # type: ignore[arg-type]
        max_parallel=2,
    )

    assert all(o.ok for o in outcomes) and len(outcomes) == len(ProbeName)
    assert peak == 2


async def test_a_cap_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        await run_probes(
            ScriptedVenue(), FakeSession(), ALL, timeout_s=5, clock=FakeClock(), new_id=lambda: "id1",  # type: ignore[arg-type]
            max_parallel=0,
        )
