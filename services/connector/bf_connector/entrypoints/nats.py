"""FastStream subscribers of the connector.

* ``bf.rpc.connector.<exchange>.probe`` — core NATS request/reply in queue group
  ``connector``: any replica of this exchange's connector answers, with a ``ProbeReply``.
  While the probes run, each finished one is published (core NATS, fire-and-forget) as a
  ``ProbeProgress`` on ``bf.rpc.progress.<test_id>`` for the tester that asked.
* ``connection-credentials-rotated`` / ``connection-deleted`` on the ``BF_EVENTS`` stream —
  an *ordered* consumer per process delivering only new events: eviction is local cache state,
  so every replica must see every event, nothing is shared, and history does not matter
  (a restarted process starts with an empty cache). Ordered consumers are ephemeral and
  unacknowledged, hence ``AckPolicy.MANUAL`` (nothing to ack).
"""

from __future__ import annotations

from dataclasses import dataclass

from faststream.middlewares import AckPolicy
from faststream.nats import NatsBroker
from nats.js.api import DeliverPolicy

from bf_shared import subjects
from bf_shared.bus import EVENTS
from bf_shared.messages import (
    ConnectionCredentialsRotated,
    ConnectionDeleted,
    ProbeProgress,
    ProbeReply,
    ProbeRequest,
)
from bf_shared.vault import SecretReader

from bf_connector.clock import Clock
from bf_connector.exchanges.clients import ClientFactory
from bf_connector.handlers import ProgressSink, handle_connection_deleted, handle_credentials_rotated, handle_probe
from bf_connector.metrics import ConnectorMetrics


@dataclass(frozen=True)
class Dependencies:
    """What the subscribers hand to the handlers."""

    reader: SecretReader
    clients: ClientFactory
    clock: Clock
    metrics: ConnectorMetrics
    probe_timeout_s: float
    probe_concurrency: int = 16


def progress_sink(broker: NatsBroker, test_id: str) -> ProgressSink | None:
    """Publishes a test's probe progress to its tester; None when ``test_id`` cannot be a subject."""
    if not subjects.is_token(test_id):
        return None
    subject = subjects.probe_progress_subject(test_id)

    async def send(progress: ProbeProgress) -> None:
        await broker.publish(progress.model_dump_json().encode(), subject)

    return send


def register(broker: NatsBroker, deps: Dependencies) -> None:
    """Attach the connector's subscribers for ``deps.clients.venue`` to ``broker``."""
    exchange = deps.clients.venue.id

    @broker.subscriber(
        subjects.probe_subject(exchange),
        queue=subjects.CONNECTOR_QUEUE,
        max_workers=deps.probe_concurrency,
    )
    async def on_probe(request: ProbeRequest) -> ProbeReply:
        return await handle_probe(
            request,
            reader=deps.reader,
            clients=deps.clients,
            clock=deps.clock,
            timeout_s=deps.probe_timeout_s,
            metrics=deps.metrics,
            on_outcome=progress_sink(broker, request.test_id),
        )

    @broker.subscriber(
        subjects.CONNECTION_CREDENTIALS_ROTATED,
        stream=EVENTS,
        ordered_consumer=True,
        deliver_policy=DeliverPolicy.NEW,
        ack_policy=AckPolicy.MANUAL,
    )
    async def on_rotated(event: ConnectionCredentialsRotated) -> None:
        handle_credentials_rotated(event, clients=deps.clients)

    @broker.subscriber(
        subjects.CONNECTION_DELETED,
        stream=EVENTS,
        ordered_consumer=True,
        deliver_policy=DeliverPolicy.NEW,
        ack_policy=AckPolicy.MANUAL,
    )
    async def on_deleted(event: ConnectionDeleted) -> None:
        handle_connection_deleted(event, clients=deps.clients)
