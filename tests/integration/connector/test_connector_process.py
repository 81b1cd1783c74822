"""``python -m bf_connector`` as a real process: real NATS, real OpenBao (connector AppRole),
the simulator as the exchange. Probes over NATS request/reply, eviction by events, health,
metrics, clean shutdown on SIGTERM, and no secret in its output."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest
from nats.aio.client import Client as NatsClient

from bf_launch.procs import free_port
from bf_launch.vault_bootstrap import VaultAccess
from bf_shared import subjects
from bf_shared.messages import ConnectionDeleted, ProbeName, ProbeReply, ProbeRequest
from bf_shared.vault import Credentials, HvacVault
from bf_sim import SimServer, demo_config


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    async with SimServer(demo_config()) as server:
        yield server


async def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    async with aiohttp.ClientSession() as http:
        while True:
            assert proc.poll() is None, "the connector exited during start-up"
            try:
                async with http.get(url + "/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            assert asyncio.get_running_loop().time() < deadline, "the connector never became ready"
            await asyncio.sleep(0.2)


async def _probe(nc: NatsClient, connection_id: str) -> ProbeReply:
    request = ProbeRequest(test_id=uuid.uuid4().hex, connection_id=connection_id, exchange="mexc", markets=("spot", "futures"))
    msg = await nc.request(subjects.probe_subject("mexc"), request.model_dump_json().encode(), timeout=20)
    return ProbeReply.model_validate_json(msg.data)


async def test_connector_process_end_to_end(
    nats_server: str, nats_connection: NatsClient, vault_server: VaultAccess, sim: SimServer, tmp_path: object
) -> None:
    key = next(k for k in sim.config.mexc.keys if k.label == "mexc-trade-ip")
    secret = key.secret.get_secret_value()
    gateway = HvacVault(vault_server.settings("gateway"))
    connection_id = f"proc-{uuid.uuid4().hex[:12]}"
    await gateway.put(connection_id, Credentials(api_key=key.api_key, secret=key.secret))  # type: ignore[arg-type]

    ops_port = free_port()
    env = {
        **os.environ,
        **vault_server.service_env("connector"),
        "BACKFUTURE_NATS_URL": nats_server,
        "BACKFUTURE_OPS_PORT": str(ops_port),
        "BACKFUTURE_LOG_LEVEL": "DEBUG",
        "BACKFUTURE_EXCHANGE_URL_MEXC": sim.mexc_url,
        "BACKFUTURE_ENABLE_RATE_LIMIT": "false",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bf_connector", "--exchange", "mexc"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    ops = f"http://127.0.0.1:{ops_port}"
    try:
        await _wait_ready(ops, proc)

        reply = await _probe(nats_connection, connection_id)
        assert reply.error is None
        outcomes = {o.name: o for o in reply.outcomes}
        for name in (ProbeName.EXCHANGE_STATUS, ProbeName.CREDENTIALS, ProbeName.READ_BALANCE,
                     ProbeName.PERMISSIONS, ProbeName.FUTURES_BALANCE):
            assert outcomes[name].ok, outcomes[name]
        assert reply.key.permissions.withdraw is False and reply.key.source == "introspection"

        # Deleted: the gateway destroys the secret, then announces it. The connector must drop
        # its cached client; otherwise it would still answer from the cached credentials.
        await gateway.destroy(connection_id)
        js = nats_connection.jetstream()
        event = ConnectionDeleted(connection_id=connection_id, user_id="u1", exchange="mexc")
        await js.publish(subjects.CONNECTION_DELETED, event.model_dump_json().encode(),
                         headers={"Nats-Msg-Id": event.message_id})
        for _ in range(50):
            reply = await _probe(nats_connection, connection_id)
            if reply.error is not None:
                break
            await asyncio.sleep(0.1)
        assert reply.error is not None and reply.error.detail == "secret not found"

        async with aiohttp.ClientSession() as http, http.get(ops + "/metrics") as resp:
            metrics = await resp.text()
        assert 'bf_connector_exchange_requests_total{endpoint="spotPrivateGetAccount",exchange="mexc",outcome="ok"}' in metrics
        assert key.api_key not in metrics and secret not in metrics

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out, err = proc.communicate()
    logs = (out + err).decode()
    assert '"service": "connector"' in logs
    assert secret not in logs and key.api_key not in logs
