"""Use cases of the connector: answer a probe request; forget a connection's cached client.

Handlers are plain async functions; everything they touch is a parameter (ports and fakes
in tests, real adapters from ``bootstrap``).

``ProbeReply.error`` is set only when no probe could run, and then its ``code`` is always
``"unknown"`` with one of these stable ``detail`` strings, which the tester treats as
platform trouble and retries (they say nothing about the key):

* ``"secret not found"`` — no live credentials in Vault (the connection was deleted, or the
  requested secret version was destroyed by a rotation);
* ``"vault unavailable"`` — Vault is down, sealed or timing out;
* ``"vault forbidden"`` — the connector's policy was refused (a deployment fault);
* ``"wrong exchange"`` — the request reached a connector of another exchange.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bf_shared.messages import (
    ConnectionCredentialsRotated,
    ConnectionDeleted,
    ProbeError,
    ProbeOutcome,
    ProbeProgress,
    ProbeReply,
    ProbeRequest,
    new_id,
)
from bf_shared.vault import SecretNotFound, SecretReader, VaultForbidden, VaultUnavailable

from bf_connector.clock import Clock
from bf_connector.exchanges.clients import ClientFactory
from bf_connector.exchanges.runner import run_probes
from bf_connector.metrics import ConnectorMetrics

log = logging.getLogger(__name__)

DEFAULT_PROBE_TIMEOUT_S = 10.0

SECRET_NOT_FOUND = "secret not found"
VAULT_UNAVAILABLE = "vault unavailable"
VAULT_FORBIDDEN = "vault forbidden"
WRONG_EXCHANGE = "wrong exchange"

ProgressSink = Callable[[ProbeProgress], Awaitable[None]]


def _failed(request: ProbeRequest, detail: str) -> ProbeReply:
    return ProbeReply(
        test_id=request.test_id,
        connection_id=request.connection_id,
        exchange=request.exchange,
        error=ProbeError(code="unknown", detail=detail),
    )


async def handle_probe(
    request: ProbeRequest,
    *,
    reader: SecretReader,
    clients: ClientFactory,
    clock: Clock,
    timeout_s: float = DEFAULT_PROBE_TIMEOUT_S,
    new_id: Callable[[], str] = new_id,
    metrics: ConnectorMetrics | None = None,
    max_parallel: int | None = None,
    on_outcome: ProgressSink | None = None,
) -> ProbeReply:
    """Run every probe the request's markets call for and report the facts.

    Credentials come from ``reader`` only when ``clients`` has no cached session for
    (connection, secret version). Exchange failures are facts in the outcomes, never raised.
    ``max_parallel`` caps the probes in flight (see :func:`run_probes`; default: all at once).
    ``on_outcome`` hears each probe's outcome as a :class:`ProbeProgress` as soon as that probe
    ends, before the reply (best effort: it can neither fail nor hold up the probes).
    """
    if request.exchange != clients.venue.id:
        return _failed(request, WRONG_EXCHANGE)
    sink = None if on_outcome is None else _progress_of(request, on_outcome)
    try:
        async with clients.lease(request.connection_id, request.secret_version, reader) as session:
            outcomes, key = await run_probes(
                clients.venue,
                session,
                request.markets,
                timeout_s=timeout_s,
                clock=clock,
                new_id=new_id,
                metrics=metrics,
                max_parallel=max_parallel,
                on_outcome=sink,
            )
    except SecretNotFound:
        return _failed(request, SECRET_NOT_FOUND)
    except VaultUnavailable:
        log.warning("vault unavailable while probing test %s", request.test_id)
        return _failed(request, VAULT_UNAVAILABLE)
    except VaultForbidden:
        log.error("vault refused the connector's read for test %s: check its policy", request.test_id)
        return _failed(request, VAULT_FORBIDDEN)
    log.info(
        "probed test=%s connection=%s %s",
        request.test_id,
        request.connection_id,
        " ".join(f"{o.name.value}={'ok' if o.ok else (o.error.code if o.error else '?')}" for o in outcomes),
    )
    return ProbeReply(
        test_id=request.test_id,
        connection_id=request.connection_id,
        exchange=request.exchange,
        outcomes=outcomes,
        key=key,
    )


def _progress_of(request: ProbeRequest, on_outcome: ProgressSink) -> Callable[[ProbeOutcome], Awaitable[None]]:
    async def report(outcome: ProbeOutcome) -> None:
        await on_outcome(
            ProbeProgress(test_id=request.test_id, connection_id=request.connection_id, outcome=outcome)
        )

    return report


def handle_credentials_rotated(event: ConnectionCredentialsRotated, *, clients: ClientFactory) -> None:
    """A new secret version exists: drop the connection's cached clients (and so its secret)."""
    if event.exchange == clients.venue.id:
        clients.evict(event.connection_id)


def handle_connection_deleted(event: ConnectionDeleted, *, clients: ClientFactory) -> None:
    """The connection is gone: drop its cached clients (and so its secret)."""
    if event.exchange == clients.venue.id:
        clients.evict(event.connection_id)
