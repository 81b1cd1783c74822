"""A key rotation on a real nats-server: the runner pauses the connection's strategies and resumes
them only when the new key passes, also when its durable consumer predates rotation events."""

from __future__ import annotations

import asyncio

from nats.aio.client import Client
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.kv import KeyValue

from bf_shared import subjects
from bf_shared.bus import make_broker, publish
from bf_shared.messages import ConnectionCredentialsRotated, TestPassed

from bf_runner.entrypoints.consumers import CONNECTIONS_CONSUMER

from .strategy_bus_fakes import BusVenue, eventually, put_spec, spec, status_of
from .test_strategy_runner_bus import PARAMS, _open_count, _status_is, bus, nats_url, result, start_runner, venue

__all__ = ["bus", "nats_url", "venue"]  # fixtures of the runner bus tests, used here


async def _an_old_deployments_consumer(nc: Client) -> None:
    """The runners' durable consumer as created before rotation events were consumed."""
    await nc.jetstream().add_consumer(subjects.EVENTS_STREAM, config=ConsumerConfig(
        durable_name=CONNECTIONS_CONSUMER, name=CONNECTIONS_CONSUMER, ack_policy=AckPolicy.EXPLICIT, ack_wait=30.0,
        max_deliver=20, deliver_policy=DeliverPolicy.ALL,
        filter_subjects=[subjects.TEST_PASSED, subjects.TEST_FAILED, subjects.CONNECTION_DELETED]))


async def test_a_rotation_pauses_until_the_new_key_passes(nats_url: str, bus: tuple[Client, KeyValue],
                                                          venue: BusVenue) -> None:
    nc, kv = bus
    await _an_old_deployments_consumer(nc)
    runner = await start_runner(nats_url, "r1")
    broker = make_broker(nats_url, "test")
    await broker.connect()
    try:
        info = await nc.jetstream().consumer_info(subjects.EVENTS_STREAM, CONNECTIONS_CONSUMER)
        assert subjects.CONNECTION_CREDENTIALS_ROTATED in (info.config.filter_subjects or [])

        await publish(broker, subjects.TEST_PASSED, TestPassed(connection_id="conn1", user_id="user1", exchange="mexc",
                                                               result=result("passed"), secret_version=1))
        await put_spec(kv, spec("rot1", PARAMS))
        await eventually(lambda: _open_count(venue, "rot1", 2), 15, "strategy trading",
                         every=lambda: venue.tick("BTC/USDT", 100))

        await publish(broker, subjects.CONNECTION_CREDENTIALS_ROTATED, ConnectionCredentialsRotated(
            connection_id="conn1", user_id="user1", exchange="mexc", api_key_masked="mx0v…3f2a", secret_version=2))
        await eventually(lambda: _status_is(kv, "rot1", "paused"), 10, "strategy paused on rotation")
        view = await status_of(kv, "rot1")
        assert view is not None and view.reason == "connection_offline"
        placed = len(venue.orders)

        # A test of the old key that ends late says nothing about the new one.
        await publish(broker, subjects.TEST_PASSED, TestPassed(connection_id="conn1", user_id="user1", exchange="mexc",
                                                               result=result("passed"), secret_version=1))
        for _ in range(5):  # prices move through the add: a paused strategy places nothing
            await venue.tick("BTC/USDT", 98)
            await asyncio.sleep(0.2)
        assert await _status_is(kv, "rot1", "paused") and len(venue.orders) == placed

        await publish(broker, subjects.TEST_PASSED, TestPassed(connection_id="conn1", user_id="user1", exchange="mexc",
                                                               result=result("passed"), secret_version=2))
        await eventually(lambda: _status_is(kv, "rot1", "running"), 10, "strategy resumed on the new key's pass")
    finally:
        await broker.stop()
        await runner.stop()
