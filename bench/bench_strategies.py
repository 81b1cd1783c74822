"""Strategy runner benchmark: evaluations per second with 10,000 strategies on 200 symbols.

    python bench/bench_strategies.py [--strategies 10000] [--symbols 200] [--seconds 15]

For one runner process, then for two, on the same machine: a fresh nats-server, the
strategies written to KV as the gateway writes them, ``python -m bf_runner`` replicas, and
a connector stand-in in this process (markets and order calls answered from memory, every
order a strategy places acknowledged). Once every strategy has opened its position (base
order filled, exit and first reinforcement resting), ticks are published for every symbol
as fast as this process can, with prices moving inside the strategies' ranges, for
``--seconds``. An *evaluation* is one strategy looking at one tick (the runners' counter
``bf_runner_evaluations_total``). Printed: evaluations/s for 1 runner, for 2, and the ratio.

Also printed, for scale: the engine's hot path in-process (watch-band check) and a full
``engine.on_tick`` evaluation, without any bus.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import httpx
import nats
from nats.aio.client import Client
from nats.aio.msg import Msg

from bf_launch.nats import NatsServer
from bf_launch.procs import Child, ProcessSpec, clean_env, free_port
from bf_shared import subjects
from bf_shared.bus import ensure_streams, kv_bucket
from bf_shared.strategy import StrategyParams
from bf_shared.strategy_messages import (
    MarketRules,
    MarketsReply,
    MarketsRequest,
    OrderReply,
    OrderRequest,
    OrderView,
    StrategySpec,
    Tick,
    by_connection_key,
    spec_key,
)

EXCHANGE = "mexc"
START = Decimal(100)
PARAMS = dict(market="spot", risk_level="moderate", base_order_quote=20, margin_limit_quote=1000,
              reinforcement=dict(max_adds=3, step_pct=2, size_multiplier=2, step_multiplier=1), take_profit_pct=1,
              recovery_mode=dict(enabled=True, trigger_drawdown_pct=10, exit="breakeven", partial_close_pct=25))
RUNNER_ENV = {"BACKFUTURE_RECONCILE_S": "600", "BACKFUTURE_INTEREST_S": "5", "BACKFUTURE_LOG_LEVEL": "WARNING",
              "BACKFUTURE_ORDER_TIMEOUT_S": "30"}


def symbols(n: int) -> list[str]:
    return [f"S{i:03d}/USDT" for i in range(n)]


class Connector:
    """Answers markets and order calls like a connector whose exchange fills marketable orders."""

    def __init__(self, nc: Client, pairs: list[str]) -> None:
        self.nc = nc
        self.rules = tuple(MarketRules(symbol=p, pair=p, base=p.split("/")[0], quote="USDT", market="spot",
                                       amount_step=Decimal("0.0001"), price_step=Decimal("0.01"),
                                       min_amount=Decimal("0.0001"), min_cost=Decimal(1)) for p in pairs)
        self.orders: dict[str, OrderView] = {}

    async def start(self) -> None:
        await self.nc.subscribe(subjects.markets_subject(EXCHANGE), queue=subjects.CONNECTOR_QUEUE, cb=self._markets)
        await self.nc.subscribe(subjects.order_subject(EXCHANGE), queue=subjects.CONNECTOR_QUEUE, cb=self._order)

    async def _markets(self, msg: Msg) -> None:
        request = MarketsRequest.model_validate_json(msg.data)
        await msg.respond(MarketsReply(exchange=EXCHANGE, market=request.market, markets=self.rules)
                          .model_dump_json().encode())

    async def _order(self, msg: Msg) -> None:
        r = OrderRequest.model_validate_json(msg.data)
        cid = r.client_order_id or ""
        order = self.orders.get(cid)
        if order is None and r.action == "place" and r.amount is not None and r.side and r.type:
            # Buys above the start price fill at once (the base order); everything else rests.
            fills = r.side == "buy" and (r.price or 0) >= START
            order = OrderView(client_order_id=cid, exchange_order_id=cid, symbol=r.symbol, side=r.side, type=r.type,
                              price=r.price, amount=r.amount, filled=r.amount if fills else Decimal(0),
                              cost=r.amount * START if fills else Decimal(0), status="closed" if fills else "open",
                              fee_cost=Decimal(0), fee_currency="USDT")
            self.orders[cid] = order
        elif order is not None and r.action == "cancel" and order.status == "open":
            order = order.model_copy(update={"status": "canceled"})
            self.orders[cid] = order
        reply = OrderReply(request_id=r.request_id, ok=order is not None, order=order)
        await msg.respond(reply.model_dump_json().encode())


async def seed(nc: Client, count: int, pairs: list[str]) -> None:
    kv = await kv_bucket(nc.jetstream(), subjects.KV_STRATEGIES)
    params = {p: StrategyParams.model_validate({**PARAMS, "name": f"bench {p}", "pairs": [p]}) for p in pairs}
    batch = []
    for i in range(count):
        spec = StrategySpec(strategy_id=f"bench{i:05d}", user_id="u" * 32, connection_id="c" * 32, exchange=EXCHANGE,
                            params=params[pairs[i % len(pairs)]])
        batch.append(kv.put(spec_key(spec.strategy_id), spec.model_dump_json().encode()))
        batch.append(kv.put(by_connection_key(spec.connection_id, spec.strategy_id), b""))
        if len(batch) >= 400:
            await asyncio.gather(*batch)
            batch = []
    await asyncio.gather(*batch)


def runner(name: str, nats_url: str, log_dir: Path) -> tuple[Child, int]:
    port = free_port()
    env = clean_env()
    env.update({"BACKFUTURE_NATS_URL": nats_url, "BACKFUTURE_OPS_PORT": str(port), "BACKFUTURE_RUNNER_ID": name,
                "PYTHONUNBUFFERED": "1", **RUNNER_ENV})
    spec = ProcessSpec(name=name, argv=(sys.executable, "-m", "bf_runner"), env=env,
                       health_url=f"http://127.0.0.1:{port}/healthz")
    return Child(spec, log_dir), port


def metric(text: str, name: str) -> float:
    match = re.search(rf"^{name} ([0-9.e+]+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


async def scrape(client: httpx.AsyncClient, ports: list[int], name: str) -> float:
    total = 0.0
    for port in ports:
        total += metric((await client.get(f"http://127.0.0.1:{port}/metrics")).text, name)
    return total


async def publish_ticks(nc: Client, pairs: list[str], seconds: float, rng: random.Random) -> int:
    """Ticks for every symbol in rounds, as fast as possible; prices stay inside the ranges.

    Payloads are serialised up front so that this process can offer more than the runners
    can take (the figure measured is what the runners processed, not what was sent).
    """
    variants = 16
    payloads = {
        pair: [Tick(exchange=EXCHANGE, market="spot", symbol=pair, last=START + Decimal(rng.randint(-90, 90)) / 100,
                    ts_ms=int(time.time() * 1000)).model_dump_json().encode() for _ in range(variants)]
        for pair in pairs
    }  # prices 99.10 .. 100.90
    targets = [(subjects.ticks_subject(EXCHANGE, pair), payloads[pair]) for pair in pairs]
    deadline = time.monotonic() + seconds
    sent = 0
    rounds = 0
    while time.monotonic() < deadline:
        for subject, options in targets:
            await nc.publish(subject, options[rounds % variants])
        sent += len(targets)
        rounds += 1
        await nc.flush()
    return sent


async def run_config(replicas: int, count: int, pairs: list[str], seconds: float, root: Path) -> dict[str, float]:
    server = NatsServer(root / f"nats{replicas}", root / "logs")
    server.start()
    procs: list[Child] = []
    try:
        nc = await nats.connect(server.url, pending_size=512 * 1024 * 1024)
        await ensure_streams(nc.jetstream())
        connector = Connector(nc, pairs)
        await connector.start()
        started = time.monotonic()
        await seed(nc, count, pairs)
        print(f"  {count} strategies written in {time.monotonic() - started:.1f} s", flush=True)
        ports = []
        for i in range(replicas):
            child, port = runner(f"bench-runner-{replicas}-{i}", server.url, root / "logs")
            child.start()
            procs.append(child)
            ports.append(port)
        for child in procs:
            await asyncio.to_thread(child.wait_ready, 120)
        async with httpx.AsyncClient(timeout=30) as http:
            # Warm-up: every strategy owned and its position open (base, exit and first add).
            warm = time.monotonic()
            while True:
                for pair in pairs:
                    tick = Tick(exchange=EXCHANGE, market="spot", symbol=pair, last=START, ts_ms=0)
                    await nc.publish(subjects.ticks_subject(EXCHANGE, pair), tick.model_dump_json().encode())
                owned = await scrape(http, ports, "bf_runner_strategies_owned")
                if owned >= count and len(connector.orders) >= 3 * count:
                    break
                if time.monotonic() - warm > 600:
                    raise RuntimeError(f"warm-up did not finish: {owned} owned, {len(connector.orders)} orders")
                await asyncio.sleep(1.0)
            print(f"  {replicas} runner(s) own every strategy, positions open, after "
                  f"{time.monotonic() - warm:.1f} s", flush=True)
            before = await scrape(http, ports, "bf_runner_evaluations_total")
            t0 = time.monotonic()
            sent = await publish_ticks(nc, pairs, seconds, random.Random(7))
            await asyncio.sleep(1.0)  # let the runners drain what is in flight
            elapsed = time.monotonic() - t0
            after = await scrape(http, ports, "bf_runner_evaluations_total")
        orders_before_measure = 3 * count
        await nc.close()
        return {"evals_per_s": (after - before) / elapsed, "ticks_sent": sent, "elapsed": elapsed,
                "offered_evals_per_s": sent * (count / len(pairs)) / elapsed,
                "extra_orders": len(connector.orders) - orders_before_measure}
    finally:
        for child in procs:
            child.stop()
        server.stop()


def in_process(count: int, pairs: list[str], rounds: int) -> tuple[float, float]:
    """Hot-path (band check) and full-evaluation rates of the engine alone, in this process."""
    from bf_runner.domain import engine
    from bf_runner.domain.commands import Fill

    rules = {p: MarketRules(symbol=p, pair=p, base=p.split("/")[0], quote="USDT", market="spot",
                            amount_step=Decimal("0.0001"), price_step=Decimal("0.01"), min_amount=Decimal("0.0001"),
                            min_cost=Decimal(1)) for p in pairs}
    states = []
    for i in range(count):
        pair = pairs[i % len(pairs)]
        params = StrategyParams.model_validate({**PARAMS, "name": "x", "pairs": [pair]})
        state, _ = engine.start(engine.new_state(f"s{i}", 1, params, {pair: rules[pair]}, {pair: pair}), 0)
        state, cmds = engine.on_tick(state, pair, START, 0)
        base = cmds[0].order  # type: ignore[union-attr]
        state, _ = engine.on_fill(state, Fill(base.client_order_id, "closed", base.amount, base.amount * START), 0)
        states.append((pair, state, engine.band(state, pair)))
    prices = [START + Decimal(k) / 100 for k in range(-90, 91, 7)]
    t0 = time.perf_counter()
    n = 0
    for r in range(rounds):
        price = prices[r % len(prices)]
        for _, _, (lo, hi) in states:
            if not lo < price < hi:
                raise AssertionError("benchmark prices must stay inside the bands")
            n += 1
    hot = n / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    m = 0
    for r in range(max(1, rounds // 20)):
        price = prices[r % len(prices)]
        for pair, state, _ in states:
            engine.on_tick(state, pair, price, 0)
            m += 1
    full = m / (time.perf_counter() - t0)
    return hot, full


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strategies", type=int, default=10_000)
    parser.add_argument("--symbols", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    pairs = symbols(args.symbols)
    print(f"BackFuture strategy runner benchmark: {args.strategies} strategies on {args.symbols} symbols, "
          f"{os.cpu_count()} CPU(s)", flush=True)
    hot, full = in_process(args.strategies, pairs, rounds=30)
    print(f"engine alone, in-process: hot path {hot:,.0f} evaluations/s; full on_tick {full:,.0f} evaluations/s")
    results = {}
    with tempfile.TemporaryDirectory(prefix="bf-bench-") as tmp:
        for replicas in (1, 2):
            print(f"{replicas} runner process(es):", flush=True)
            results[replicas] = await run_config(replicas, args.strategies, pairs, args.seconds, Path(tmp))
            r = results[replicas]
            print(f"  {r['evals_per_s']:,.0f} evaluations/s (offered {r['offered_evals_per_s']:,.0f}/s: "
                  f"{r['ticks_sent']:,.0f} ticks in {r['elapsed']:.1f} s); orders placed while measuring: "
                  f"{r['extra_orders']}", flush=True)
    one, two = results[1]["evals_per_s"], results[2]["evals_per_s"]
    print(f"RESULT 1 runner: {one:,.0f} evaluations/s | 2 runners: {two:,.0f} evaluations/s | "
          f"ratio 2/1: {two / one:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
