"""The real nats-server the launcher and the suite start: JetStream, our streams, persistence."""

from __future__ import annotations

import uuid
from pathlib import Path

import nats
from nats.aio.client import Client as NatsClient
from nats.js.api import StorageType

from bf_launch.nats import NatsServer
from bf_launch.procs import http_status
from bf_shared import subjects
from bf_shared.bus import STREAM_CONFIGS, decode, ensure_streams, kv_bucket, make_broker, publish
from bf_shared.messages import TestReason, TestRequested


async def test_ensure_streams_creates_the_three_file_streams_idempotently(nats_connection: NatsClient) -> None:
    js = nats_connection.jetstream()
    await ensure_streams(js)
    await ensure_streams(js)  # every service calls it at start-up: must not fail the second time

    for expected in STREAM_CONFIGS:
        info = await js.stream_info(expected.name)
        assert info.config.subjects == expected.subjects
        assert info.config.storage == StorageType.FILE
    audit = await js.stream_info(subjects.AUDIT_STREAM)
    assert audit.config.deny_delete and audit.config.deny_purge


async def test_a_publish_retried_with_the_same_msg_id_is_stored_once(nats_connection: NatsClient) -> None:
    js = nats_connection.jetstream()
    await ensure_streams(js)
    subject, msg_id = f"bf.evt.infra.{uuid.uuid4().hex}", uuid.uuid4().hex

    first = await js.publish(subject, b"{}", headers={"Nats-Msg-Id": msg_id})
    again = await js.publish(subject, b"{}", headers={"Nats-Msg-Id": msg_id})

    assert not first.duplicate and again.duplicate
    info = await js.stream_info(subjects.EVENTS_STREAM, subjects_filter=subject)
    assert info.state.subjects == {subject: 1}


async def test_kv_bucket_is_created_on_first_use_and_reopened_after(nats_connection: NatsClient) -> None:
    js = nats_connection.jetstream()
    kv = await kv_bucket(js, "bf_infra_probe")
    await kv.put("k", b"v1")
    reopened = await kv_bucket(js, "bf_infra_probe")
    entry = await reopened.get("k")
    assert entry.value == b"v1"


async def test_streams_and_kv_survive_a_server_restart_on_the_same_store(tmp_path: Path) -> None:
    server = NatsServer(tmp_path / "store", tmp_path / "logs")
    server.start()
    try:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await ensure_streams(js)
        await js.publish("bf.evt.infra.persist", b"kept", headers={"Nats-Msg-Id": "persist-1"})
        await (await kv_bucket(js, "bf_infra_persist")).put("user", b"alice")
        await nc.close()
    finally:
        server.stop()

    restarted = NatsServer(tmp_path / "store", tmp_path / "logs")
    restarted.start()
    try:
        nc = await nats.connect(restarted.url)
        js = nc.jetstream()
        message = await js.get_last_msg(subjects.EVENTS_STREAM, "bf.evt.infra.persist")
        assert message.data == b"kept"
        assert (await (await kv_bucket(js, "bf_infra_persist")).get("user")).value == b"alice"
        await nc.close()
    finally:
        restarted.stop()
    assert not restarted.child.running
    assert http_status(f"{restarted.monitor_url}/healthz", timeout_s=0.5) is None


async def test_bus_publish_stores_json_once_per_message_id(nats_server: str, nats_connection: NatsClient) -> None:
    js = nats_connection.jetstream()
    await ensure_streams(js)
    subject = f"bf.cmd.infra.{uuid.uuid4().hex}"  # own subject: the session server is shared
    broker = make_broker(nats_server, "infra-publish")
    await broker.connect()
    try:
        message = TestRequested(
            connection_id="infra-conn-1",
            user_id="infra-user-1",
            exchange="mexc",
            markets=("spot",),
            reason=TestReason.MANUAL,
        )
        await publish(broker, subject, message)
        await publish(broker, subject, message)  # a retry after a lost ack
    finally:
        await broker.stop()

    stored = await js.get_last_msg(subjects.COMMANDS_STREAM, subject)
    assert decode(TestRequested, stored.data) == message
    assert stored.headers is not None and stored.headers["Nats-Msg-Id"] == message.message_id
    assert stored.headers["content-type"] == "application/json"
    info = await js.stream_info(subjects.COMMANDS_STREAM, subjects_filter=subject)
    assert info.state.subjects == {subject: 1}
