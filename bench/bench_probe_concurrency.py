"""What concurrent probes save, and how many connections the periodic re-test can cover.

    python bench/bench_probe_concurrency.py [--repeats 10] [--latency-ms 50]

Part 1 — one connection test, concurrent versus one probe after another. The connector's
real probe handler (``bf_connector.handlers.handle_probe``: client cache, ccxt, the venue's
probes, the runner) runs in this process against the in-process exchange simulator, every
simulated answer delayed by ``--latency-ms`` (exchange-wide ``latency_ms`` condition), with
the credentials in a ``FakeVault``. The same test runs in two ways, alternately, in the same
run and on the same warm client:

* concurrent: every probe at once (what production does);
* one by one: the same runner with ``max_parallel=1``, so each probe runs alone, in plan order,
  and the wall time is the sum of the probes' own times.

Both ways share one run context, so a call two probes need (MEXC's account: credentials and
balance) is made once in both: the comparison isolates concurrency, not de-duplication. The
simulator's request log proves both ways made the same exchange calls. Printed per exchange
and market set: medians over ``--repeats`` runs and the ratio one-by-one / concurrent.

Part 2 — the periodic re-test budget. For each exchange, the tester's own budget functions
(``bf_tester.domain.budget``) with the tester's default settings (re-test interval, budget
fraction, scheduler tick) give the re-tests per hour and the Online connections the re-test
covers without spending more than the budget fraction of any documented rate-limit pool.
Printed with every input: per pool its limit and window, the weight one test spends there,
the share of the pool the budget's worst window can use. The declared weights are then
checked against what one test actually sent (simulator request log), priced with the
simulator's table of each endpoint's documented pool and weight: a pool the budget
under-counts is flagged with the share it would really reach.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import secrets
import statistics
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass

from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from bf_connector.clock import SystemClock
from bf_connector.exchanges import venue_for
from bf_connector.exchanges.base import ClientOptions
from bf_connector.exchanges.clients import ClientFactory
from bf_connector.handlers import handle_probe
from bf_connector.metrics import ConnectorMetrics
from bf_shared.messages import Market, ProbeName, ProbeReply, ProbeRequest
from bf_shared.vault import Credentials, FakeVault
from bf_sim import Conditions, KeyConfig, SimConfig, SimServer
from bf_sim import kucoin as sim_kucoin
from bf_sim import mexc as sim_mexc
from bf_sim.routing import Endpoint
from bf_sim.state import ExchangeState, RequestRecord
from bf_tester.domain.budget import bucket_shape, max_connections_per_hour, pools_for
from bf_tester.settings import TesterSettings

PERMISSIONS = {
    "mexc": ["SPOT_ACCOUNT_READ", "SPOT_DEAL_READ", "SPOT_DEAL_WRITE", "CONTRACT_ACCOUNT_READ", "CONTRACT_DEAL_WRITE"],
    "kucoin": ["General", "Spot", "Futures"],
}
MARKET_SETS: list[tuple[Market, ...]] = [("spot",), ("spot", "futures")]
PROBE_TIMEOUT_S = 10.0


@dataclass
class Sample:
    """One probe run: its wall time, its outcome and the exchange calls it made."""

    wall_ms: float
    reply: ProbeReply
    calls: Counter[str]


@dataclass
class Case:
    """Everything measured for one exchange and market set."""

    exchange: str
    markets: tuple[Market, ...]
    concurrent: list[Sample]
    one_by_one: list[Sample]

    @staticmethod
    def median(samples: list[Sample]) -> float:
        return statistics.median(s.wall_ms for s in samples)


def _default(name: str) -> float:
    """A tester setting's default (what a deployment runs unless told otherwise)."""
    value = TesterSettings.model_fields[name].default
    assert isinstance(value, int | float)
    return float(value)


# ----------------------------------------------------------------------------- part 1


def _calls(state: ExchangeState) -> Counter[str]:
    return Counter(f"{r.method} {r.path}" for r in state.requests)


async def _run(
    exchange: str, state: ExchangeState, clients: ClientFactory, vault: FakeVault, connection_id: str,
    markets: tuple[Market, ...], max_parallel: int | None,
) -> Sample:
    state.requests.clear()
    request = ProbeRequest(
        test_id=secrets.token_hex(8), connection_id=connection_id, exchange=exchange, markets=markets
    )
    started = time.perf_counter()
    reply = await handle_probe(
        request, reader=vault, clients=clients, clock=SystemClock(), timeout_s=PROBE_TIMEOUT_S,
        max_parallel=max_parallel,
    )
    wall_ms = (time.perf_counter() - started) * 1000
    failed = [o for o in reply.outcomes if not o.ok]
    if reply.error is not None or failed or not reply.outcomes:
        raise SystemExit(f"{exchange} {markets}: a probe failed, the timing would mean nothing: {reply}")
    return Sample(wall_ms, reply, _calls(state))


async def measure(sim: SimServer, exchange: str, repeats: int) -> list[Case]:
    """Both ways, alternately, for each market set of ``exchange``."""
    state = sim.states()[exchange]
    origin = sim.mexc_url if exchange == "mexc" else sim.kucoin_url
    key = KeyConfig(
        api_key=f"bench{secrets.token_hex(8)}",
        secret=SecretStr(secrets.token_hex(16)),
        passphrase=SecretStr(secrets.token_hex(6)) if exchange == "kucoin" else None,
        permissions=tuple(PERMISSIONS[exchange]),
        ip_whitelist=("127.0.0.1",),
    )
    state.upsert_key(key)
    vault = FakeVault()
    credentials = Credentials(api_key=SecretStr(key.api_key), secret=key.secret, passphrase=key.passphrase)
    clients = ClientFactory(
        venue_for(exchange),
        ClientOptions(enable_rate_limit=False, timeout_s=PROBE_TIMEOUT_S, origin=origin),
        metrics=ConnectorMetrics(CollectorRegistry()),
        clock=SystemClock(),
    )
    cases = []
    try:
        for markets in MARKET_SETS:
            connection_id = f"bench-{exchange}-{len(markets)}"
            await vault.put(connection_id, credentials)
            # Warm-up: Vault read, client build, first TCP connections (the pool grows to the
            # concurrent run's width, so the one-by-one runs never pay for a connect either).
            for max_parallel in (None, 1, None):
                await _run(exchange, state, clients, vault, connection_id, markets, max_parallel)
            case = Case(exchange, markets, [], [])
            for i in range(repeats):
                order = (None, 1) if i % 2 == 0 else (1, None)  # alternate: no drift favours one way
                for max_parallel in order:
                    sample = await _run(exchange, state, clients, vault, connection_id, markets, max_parallel)
                    (case.concurrent if max_parallel is None else case.one_by_one).append(sample)
            calls = {tuple(sorted(s.calls.items())) for s in case.concurrent + case.one_by_one}
            if len(calls) != 1:
                raise SystemExit(f"{exchange} {markets}: the two ways made different exchange calls: {calls}")
            cases.append(case)
    finally:
        await clients.aclose()
    return cases


def report_part1(cases: list[Case], latency_ms: int, repeats: int) -> None:
    print("\nOne connection test: concurrent probes versus one probe after another")
    print(f"(simulator latency {latency_ms} ms per answer, medians of {repeats} runs each, same run, same client)\n")
    header = f"{'exchange':8} {'markets':13} {'probes':>6} {'calls':>5} {'concurrent':>11} {'one by one':>11} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    for c in cases:
        calls = sum(c.concurrent[0].calls.values())
        conc, seq = Case.median(c.concurrent), Case.median(c.one_by_one)
        print(
            f"{c.exchange:8} {'+'.join(c.markets):13} {len(c.concurrent[0].reply.outcomes):>6} {calls:>5} "
            f"{conc:>8.0f} ms {seq:>8.0f} ms {seq / conc:>5.1f}x"
        )
    print("\nOne by one, each probe's own time (median ms; 0 = its exchange call was already made by an")
    print("earlier probe of the same test):")
    for c in cases:
        per_probe: dict[ProbeName, list[float]] = defaultdict(list)
        for s in c.one_by_one:
            for o in s.reply.outcomes:
                per_probe[o.name].append(o.duration_ms)
        parts = ", ".join(f"{name.value} {statistics.median(v):.0f}" for name, v in per_probe.items())
        total = sum(statistics.median(v) for v in per_probe.values())
        print(f"  {c.exchange} {'+'.join(c.markets)}: {parts} (sum {total:.0f})")
    print("\nratio = one-by-one wall time / concurrent wall time: how many times longer a test would take")
    print("if its probes ran one after another (the latency of the longest probe chain versus the sum).")


# ----------------------------------------------------------------------------- part 2


def _endpoint_index(exchange: str) -> list[tuple[str, re.Pattern[str], Endpoint]]:
    module = sim_mexc if exchange == "mexc" else sim_kucoin
    out = []
    for ep in module.endpoints():
        pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", ep.path) + "$")
        out.append((ep.method, pattern, ep))
    return out


def measured_weights(exchange: str, state: ExchangeState, calls: Counter[str]) -> dict[str, tuple[int, int, float]]:
    """``{pool: (weight per test, limit, window s)}`` of one test's calls, priced with the
    simulator's table of each endpoint's documented pool and weight."""
    index = _endpoint_index(exchange)
    key = next(iter(state.keys.values()))
    pools: dict[str, list[float]] = {}
    for call, count in calls.items():
        method, path = call.split(" ", 1)
        ep = next((e for m, p, e in index if m == method and p.match(path)), None)
        if ep is None:
            raise SystemExit(f"{exchange}: no simulator endpoint for {call}")
        rule = ep.venue.rate_limit_rule(ep, key if ep.private else None, "127.0.0.1")
        if rule is None:
            continue
        bucket, limit, window_ms = rule
        # Buckets are "<exchange>:<pool...>:<account or IP>": every key of the platform leaves
        # from the same few IPs, so the budget treats each pool as shared; so does this check.
        pool = bucket.split(":", 1)[1].rsplit(":", 1)[0].replace(":", " ", 1)
        entry = pools.setdefault(pool, [0, limit, window_ms / 1000])
        entry[0] += ep.weight * count
    return {name: (int(w), int(limit), window) for name, (w, limit, window) in pools.items()}


def report_part2(cases: list[Case], sim: SimServer) -> None:
    interval_s = _default("retest_interval_s")
    fraction = _default("retest_budget_fraction")
    tick_s = _default("scheduler_tick_s")
    print(f"\nPeriodic re-test capacity per exchange (tester defaults: interval {interval_s / 3600:g} h, "
          f"budget fraction {fraction:g}, scheduler tick {tick_s:g} s)\n")
    for exchange in ("mexc", "kucoin"):
        shape = bucket_shape(exchange, fraction, tick_s)
        per_hour = shape.rate_per_s * 3600
        sustained = max_connections_per_hour(exchange, interval_s, fraction, tick_s)
        print(f"{exchange}: token bucket capacity {shape.capacity:g}, refill {shape.rate_per_s:.3f} re-tests/s")
        print(f"  {'pool (as the budget declares it)':38} {'limit':>12} {'weight/test':>11} {'tests/window':>12} "
              f"{'worst-window share':>18}")
        for pool in pools_for(exchange):
            worst_tests = shape.capacity + shape.rate_per_s * pool.window_s
            share = worst_tests * pool.test_weight / pool.limit
            print(f"  {pool.name:38} {pool.limit:>6}/{pool.window_s:g} s {pool.test_weight:>11} "
                  f"{pool.tests_per_window:>12.0f} {share:>17.0%}")
        print(f"  => {per_hour:,.0f} connections re-tested per hour; {sustained:,} Online connections covered "
              f"at one re-test every {interval_s / 3600:g} h (max_connections_per_hour)")
        spot = next(c for c in cases if c.exchange == exchange and c.markets == ("spot",))
        for case in (spot, *(c for c in cases if c.exchange == exchange and c is not spot)):
            weights = measured_weights(exchange, sim.states()[exchange], case.concurrent[0].calls)
            print(f"  measured, one {'+'.join(case.markets)} test (simulator's pool/weight table):")
            for name, (weight, limit, window) in sorted(weights.items(), key=lambda kv: -kv[1][0] / kv[1][1]):
                worst_tests = shape.capacity + shape.rate_per_s * window
                share = worst_tests * weight / limit
                flag = ""
                if share > 1:
                    flag = "  <-- OVER THE DOCUMENTED LIMIT"
                elif share > fraction + 1e-9:
                    flag = f"  <-- over the {fraction:.0%} budget"
                print(f"    {name:36} {limit:>6}/{window:g} s {weight:>11} {limit / weight:>12.0f} {share:>17.0%}{flag}")
        print()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--latency-ms", type=int, default=50)
    args = parser.parse_args()
    async with SimServer(SimConfig()) as sim:
        for state in sim.states().values():
            state.set_conditions(Conditions(latency_ms=args.latency_ms))
        cases = [c for ex in ("mexc", "kucoin") for c in await measure(sim, ex, args.repeats)]
        report_part1(cases, args.latency_ms, args.repeats)
        report_part2(cases, sim)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
