"""``python -m bf_sim``: one process, two ports, settings from flags or the environment."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import aiohttp

from bf_sim import demo_config


async def _read_origins(proc: asyncio.subprocess.Process) -> dict[str, str]:
    assert proc.stdout is not None
    origins: dict[str, str] = {}
    while len(origins) < 2:
        line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        assert line, "simulator exited early"
        name, _, url = line.strip().partition(" ")
        origins[name] = url.strip()
    return origins


async def test_cli_serves_both_exchanges_with_env_fallbacks(tmp_path: Path) -> None:
    config = demo_config().model_dump(mode="json")
    for exchange in ("mexc", "kucoin"):
        for key in config[exchange]["keys"]:
            key["secret"] = "demo-cli-secret"
            if key.get("passphrase") is not None:
                key["passphrase"] = "demo-cli-pass"
    config["kucoin"]["keys"] = config["kucoin"]["keys"][:1]
    config_file = tmp_path / "keys.json"
    config_file.write_text(json.dumps(config))
    env = os.environ | {
        "BACKFUTURE_SIM_HOST": "127.0.0.1",
        "BACKFUTURE_SIM_MEXC_PORT": "0",
        "BACKFUTURE_SIM_KUCOIN_PORT": "0",
        "BACKFUTURE_SIM_CONFIG": str(config_file),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bf_sim",
        "--tick-seconds",
        "0",
        "--seed",
        "3",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        origins = await _read_origins(proc)
        async with aiohttp.ClientSession() as http:
            for name, origin in origins.items():
                async with http.get(origin + "/healthz") as resp:
                    assert resp.status == 200 and (await resp.json())["exchange"] == name
            async with http.get(origins["kucoin"] + "/__sim/keys") as resp:
                assert len((await resp.json())["keys"]) == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0
    assert b"demo-cli-secret" not in stderr
