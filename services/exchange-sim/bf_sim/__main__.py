"""``python -m bf_sim --host 127.0.0.1 --mexc-port 9101 --kucoin-port 9102 [--config keys.json] [--seed N]``.

Environment fallbacks: BACKFUTURE_SIM_HOST, BACKFUTURE_SIM_MEXC_PORT,
BACKFUTURE_SIM_KUCOIN_PORT, BACKFUTURE_SIM_CONFIG. Without a config the demo keys are used.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
from collections.abc import Sequence

from bf_shared.logs import configure_logging, register_secret
from bf_sim.app import SimServer
from bf_sim.config import SimConfig, demo_config, load_config


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options, with the environment as defaults."""
    env = os.environ
    p = argparse.ArgumentParser(
        prog="python -m bf_sim", description="MEXC and KuCoin exchange simulator (dev/test only)"
    )
    p.add_argument("--host", default=env.get("BACKFUTURE_SIM_HOST", "127.0.0.1"))
    p.add_argument("--mexc-port", type=int, default=int(env.get("BACKFUTURE_SIM_MEXC_PORT", "9101")))
    p.add_argument("--kucoin-port", type=int, default=int(env.get("BACKFUTURE_SIM_KUCOIN_PORT", "9102")))
    p.add_argument(
        "--config", default=env.get("BACKFUTURE_SIM_CONFIG"), help="JSON keys/conditions file (default: demo keys)"
    )
    p.add_argument("--seed", type=int, default=None, help="price-path seed (overrides the config)")
    p.add_argument(
        "--tick-seconds", type=float, default=5.0, help="advance prices every N seconds (0: only via the admin API)"
    )
    p.add_argument("--log-level", default=env.get("BACKFUTURE_LOG_LEVEL", "INFO"))
    return p.parse_args(argv)


def build_config(args: argparse.Namespace) -> SimConfig:
    """The config file (or the demo keys) with the CLI seed applied."""
    config = load_config(args.config) if args.config else demo_config()
    if args.seed is not None:
        config = config.model_copy(update={"seed": args.seed})
    return config


async def serve(args: argparse.Namespace) -> None:
    """Run until SIGINT/SIGTERM."""
    config = build_config(args)
    for exchange in (config.mexc, config.kucoin):
        for key in exchange.keys:
            register_secret(key.secret.get_secret_value())
            register_secret(key.passphrase.get_secret_value() if key.passphrase else None)
    server = SimServer(
        config,
        host=args.host,
        mexc_port=args.mexc_port,
        kucoin_port=args.kucoin_port,
        tick_interval_s=args.tick_seconds or None,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with server:
        print(f"mexc   {server.mexc_url}\nkucoin {server.kucoin_url}", flush=True)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point."""
    args = parse_args(argv)
    configure_logging("exchange-sim", args.log_level, as_json=False)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
