"""The probe runner: every probe of one test runs at once, each with its own timeout and duration.

Which probes run depends on the markets the connection wants:

* always: ``exchange_status``, ``credentials``, ``read_balance``, ``permissions``;
* ``trade`` (spot test order) when spot is wanted and the venue has a spot test endpoint;
* ``futures_balance`` (plus the futures test order where the venue has one, as evidence for
  the futures right) when futures is wanted and the venue has futures.

A probe that does not finish within ``timeout_s`` fails with ``exchange_unavailable``, so a
hung exchange costs one timeout, not one per probe.

``max_parallel`` caps how many probes of the run are in flight (``None``, the default: all of
them). With ``1`` they run one after another in plan order, each timed from its own start:
what the run would cost without concurrency (the probe benchmark measures exactly that),
or a gentler pattern for an exchange that punishes bursts.

``on_outcome`` (optional) hears each probe's outcome the moment that probe ends, for live
progress. It is called after the probe's duration was taken and outside the ``max_parallel``
gate, is given at most :data:`OUTCOME_SINK_TIMEOUT_S`, and whatever it raises is logged and
dropped: reporting progress can never fail a probe or hold the run for long.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bf_shared.codes import ErrorCode
from bf_shared.messages import KeyFacts, Market, ProbeError, ProbeName, ProbeOutcome

from bf_connector.clock import Clock
from bf_connector.domain.facts import Evidence, PermissionReport, derive_key_facts, evidence_of
from bf_connector.errors import ExchangeError
from bf_connector.exchanges.base import RunContext, Venue, VenueSession
from bf_connector.metrics import ConnectorMetrics

log = logging.getLogger(__name__)

ProbeFn = Callable[[RunContext], Awaitable[Any]]
OutcomeSink = Callable[[ProbeOutcome], Awaitable[None]]

#: How long reporting one outcome may take before it is abandoned (a core NATS publish only
#: appends to the connection's buffer; this bounds a stalled one).
OUTCOME_SINK_TIMEOUT_S = 0.5


class ProbeResult:
    """A probe's outcome and, when it succeeded, what it returned."""

    __slots__ = ("outcome", "value")

    def __init__(self, outcome: ProbeOutcome, value: Any = None) -> None:
        self.outcome = outcome
        self.value = value


def plan(venue: Venue, markets: tuple[Market, ...]) -> list[tuple[ProbeName, ProbeFn]]:
    """The probes to run for ``markets`` on ``venue``, in reporting order."""
    probes: list[tuple[ProbeName, ProbeFn]] = [
        (ProbeName.EXCHANGE_STATUS, venue.exchange_status),
        (ProbeName.CREDENTIALS, venue.credentials),
        (ProbeName.READ_BALANCE, venue.read_balance),
        (ProbeName.PERMISSIONS, venue.permissions),
    ]
    if "spot" in markets and venue.capabilities.spot_test_order:
        probes.append((ProbeName.TRADE, _inconclusive_when_unknown(venue.trade)))
    if "futures" in markets and venue.capabilities.futures:
        probes.append((ProbeName.FUTURES_BALANCE, _futures_probe(venue)))
    return probes


def _inconclusive_when_unknown(fn: ProbeFn) -> ProbeFn:
    """A test order the exchange rejects for its content (size, price band, balance, symbol)
    was authenticated and authorised first, yet proves no right: it is reported as
    ``not_supported`` ("the exchange could not tell"), so the permission comes from
    introspection instead of an ``unknown`` that would hold the whole test."""

    async def probe(ctx: RunContext) -> Any:
        try:
            return await fn(ctx)
        except ExchangeError as e:
            if e.error.code != "unknown":
                raise
            detail = f"test order inconclusive: {e.error.detail}"[:200]
            raise ExchangeError(e.error.model_copy(update={"code": "not_supported", "detail": detail})) from e

    return probe


def _futures_probe(venue: Venue) -> ProbeFn:
    async def no_test_order(ctx: RunContext) -> bool | None:
        return None

    futures_trade = venue.futures_trade if venue.capabilities.futures_test_order else no_test_order

    async def probe(ctx: RunContext) -> bool | None:
        # The balance decides the probe; the test order only adds evidence for the futures right.
        balance, trade = await asyncio.gather(
            venue.futures_balance(ctx), futures_trade(ctx), return_exceptions=True
        )
        if isinstance(balance, BaseException):
            raise balance
        if isinstance(trade, ExchangeError):
            return evidence_of(trade.error)
        if isinstance(trade, BaseException):
            raise trade
        return trade

    return probe


async def _timed(name: ProbeName, fn: ProbeFn, ctx: RunContext, timeout_s: float, clock: Clock) -> ProbeResult:
    started = clock.monotonic()
    error: ProbeError | None = None
    value: Any = None
    try:
        value = await asyncio.wait_for(fn(ctx), timeout_s)
    except ExchangeError as e:
        error = e.error
    except TimeoutError:
        error = ProbeError(
            code=ErrorCode.EXCHANGE_UNAVAILABLE, detail=f"no answer within {timeout_s:g} s"
        )
    except Exception as e:
        # A connector bug must not pass for a key problem: "unknown", and logged (redacted).
        log.exception("probe %s failed unexpectedly", name.value)
        error = ProbeError(code="unknown", detail=f"internal error ({type(e).__name__})")
    duration_ms = round((clock.monotonic() - started) * 1000, 3)
    outcome = ProbeOutcome(name=name, ok=error is None, error=error, duration_ms=duration_ms)
    return ProbeResult(outcome, value if error is None else None)


async def run_probes(
    venue: Venue,
    session: VenueSession,
    markets: tuple[Market, ...],
    *,
    timeout_s: float,
    clock: Clock,
    new_id: Callable[[], str],
    metrics: ConnectorMetrics | None = None,
    max_parallel: int | None = None,
    on_outcome: OutcomeSink | None = None,
    outcome_sink_timeout_s: float = OUTCOME_SINK_TIMEOUT_S,
) -> tuple[tuple[ProbeOutcome, ...], KeyFacts]:
    """Run the planned probes concurrently (at most ``max_parallel`` at once when given);
    return their outcomes and the key's facts. ``on_outcome`` hears each outcome as its probe
    ends (see the module docstring)."""
    if max_parallel is not None and max_parallel < 1:
        raise ValueError("max_parallel must be at least 1")
    ctx = RunContext(session, markets, new_id)
    probes = plan(venue, markets)
    # FIFO: with a cap, probes start in plan order; the timer starts once a probe may run.
    gate = asyncio.Semaphore(max_parallel) if max_parallel is not None else None

    async def run(name: ProbeName, fn: ProbeFn) -> ProbeResult:
        if gate is None:
            result = await _timed(name, fn, ctx, timeout_s, clock)
        else:
            async with gate:
                result = await _timed(name, fn, ctx, timeout_s, clock)
        if on_outcome is not None:
            await _report(on_outcome, result.outcome, outcome_sink_timeout_s)
        return result

    try:
        results = await asyncio.gather(*(run(name, fn) for name, fn in probes))
    finally:
        await ctx.aclose()
    by_name = {r.outcome.name: r for r in results}
    if metrics is not None:
        for r in results:
            label = "ok" if r.outcome.ok else str(r.outcome.error.code if r.outcome.error else "unknown")
            metrics.probes.labels(venue.id, r.outcome.name.value, label).inc()
    return tuple(r.outcome for r in results), key_facts(by_name)


async def _report(sink: OutcomeSink, outcome: ProbeOutcome, timeout_s: float) -> None:
    try:
        async with asyncio.timeout(timeout_s):
            await sink(outcome)
    except Exception as e:  # progress is a courtesy; the reply carries the outcome anyway
        log.warning("progress of probe %s not reported (%s)", outcome.name.value, type(e).__name__)


def key_facts(by_name: dict[ProbeName, ProbeResult]) -> KeyFacts:
    """The key's facts from the probe results (rules in :mod:`bf_connector.domain.facts`)."""

    def observed(name: ProbeName) -> bool | None:
        result = by_name.get(name)
        return None if result is None else evidence_of(result.outcome.error)

    permissions = by_name.get(ProbeName.PERMISSIONS)
    report = permissions.value if permissions is not None and isinstance(permissions.value, PermissionReport) else None
    futures = by_name.get(ProbeName.FUTURES_BALANCE)
    evidence = Evidence(
        read=observed(ProbeName.READ_BALANCE),
        trade=observed(ProbeName.TRADE),
        futures_read=observed(ProbeName.FUTURES_BALANCE),
        futures_trade=futures.value if futures is not None and futures.outcome.ok else None,
    )
    return derive_key_facts(report, evidence)
