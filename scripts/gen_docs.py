"""Generate docs/asyncapi.json (every bus message) and docs/openapi.json (the gateway's HTTP API).

    python scripts/gen_docs.py           # rewrite both files
    python scripts/gen_docs.py --check   # exit 1 if either is out of date (the test suite does this)

The AsyncAPI document is produced by FastStream from the code itself: a broker that is never
connected gets one publisher per durable subject (schema = the pydantic model published
there) and one subscriber per request/reply subject (schema = the request model), all taken
from ``bf_shared.subjects`` and the message modules. The OpenAPI document is FastAPI's, from
the gateway's app factory. Output is canonical JSON (sorted keys) so diffs stay readable.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from faststream.nats import NatsBroker
from faststream.specification import AsyncAPI
from pydantic import BaseModel

from bf_shared import messages as m
from bf_shared import subjects as s
from bf_shared.audit import AuditRecord
from bf_shared.exchanges import EXCHANGES

ROOT = Path(__file__).resolve().parents[1]
ASYNCAPI = ROOT / "docs" / "asyncapi.json"
OPENAPI = ROOT / "docs" / "openapi.json"
VERSION = "1"

#: Durable messages: (subject, model, who publishes, what it means).
DURABLE: list[tuple[str, type[BaseModel], str, str]] = [
    (s.CONNECTION_ADDED, m.ConnectionAdded, "gateway", "A user added an exchange connection (key masked; secret in Vault)."),
    (s.CONNECTION_RENAMED, m.ConnectionRenamed, "gateway", "A connection was renamed."),
    (s.CONNECTION_CREDENTIALS_ROTATED, m.ConnectionCredentialsRotated, "gateway", "A new API key version was stored in Vault."),
    (s.CONNECTION_DELETED, m.ConnectionDeleted, "gateway", "A connection was deleted; every secret version destroyed."),
    (s.CONNECTION_ATTESTED, m.ConnectionAttested, "gateway", "The user confirmed withdrawal is disabled on the key."),
    (s.TEST_REQUESTED, m.TestRequested, "gateway, tester", "Command: run a connection test (tester is the only handler)."),
    (s.TEST_STARTED, m.TestStarted, "tester", "A connection test started."),
    (s.TEST_PASSED, m.TestPassed, "tester", "A connection test passed: the connection is Online."),
    (s.TEST_FAILED, m.TestFailed, "tester", "A connection test failed, with the check, code, cause and remedy."),
    ("bf.audit.{user_id}.{kind}", AuditRecord, "alerter (audit projector)", "One immutable audit record of the user."),
]
#: Live progress of a running test, core NATS (lost when nobody listens): (subject, model, who publishes, what it means).
LIVE: list[tuple[str, type[BaseModel], str, str]] = [
    ("bf.rpc.progress.{test_id}", m.ProbeProgress, "connector", "One probe of a running test finished (to the tester running it; core NATS)."),
    ("bf.progress.{connection_id}.check", m.CheckProgress, "tester", "A provisional check of a running test, for the live feed (core NATS)."),
    ("bf.progress.{connection_id}.checks", m.ChecksProgress, "tester", "Every check of a decided test, just before its verdict event (core NATS)."),
]
#: Request/reply calls answered by a connector: (subject factory, request model, reply model name, meaning).
RPC: list[tuple[Callable[[str], str], type[BaseModel], str, str]] = [
    (s.probe_subject, m.ProbeRequest, "ProbeReply", "Gather the facts of a connection test (tester -> connector)."),
]


def _strategy_messages() -> None:
    """Strategy subjects and models, when the strategy module is present."""
    try:
        from bf_shared import strategy_messages as sm
    except ImportError:
        return
    DURABLE.extend([
        (s.STRATEGY_ENABLED, sm.StrategyEnabled, "gateway", "A strategy was enabled on an Online connection."),
        (s.STRATEGY_UPDATED, sm.StrategyUpdated, "gateway", "A strategy's parameters changed."),
        (s.STRATEGY_DISABLED, sm.StrategyDisabled, "gateway, runner", "A strategy was disabled."),
        (s.STRATEGY_PAUSED, sm.StrategyPaused, "runner", "A strategy paused (e.g. its connection went offline)."),
        (s.STRATEGY_RESUMED, sm.StrategyResumed, "runner", "A paused strategy resumed."),
        (s.STRATEGY_FAILED, sm.StrategyFailed, "runner", "A strategy failed (e.g. an order the exchange refused)."),
        (s.STRATEGY_LEASE_LOST, sm.StrategyLeaseLost, "runner",
         "A runner took over a strategy whose owner stopped renewing its lease (one per lost session)."),
    ])
    RPC.extend([
        (s.order_subject, sm.OrderRequest, "OrderReply", "Place, cancel or query an order (runner -> connector)."),
        (s.markets_subject, sm.MarketsRequest, "MarketsReply", "Markets and trading rules of the exchange."),
        (s.md_interest_subject, sm.MarketDataInterest, "-", "Runners announce the symbols they need ticks for."),
    ])


def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document of every bus message, as JSON data."""
    _strategy_messages()
    broker = NatsBroker("nats://nats:4222", description="BackFuture Connect bus (NATS JetStream)")
    for subject, model, who, meaning in DURABLE + LIVE:
        broker.publisher(subject, schema=model, title=subject, description=f"{meaning} Published by: {who}.")
    for factory, request, reply, meaning in RPC:
        for exchange in sorted(EXCHANGES):
            subject = factory(exchange)

            async def handler(body: Any) -> None:  # documentation only, never run
                return None

            handler.__annotations__["body"] = request
            broker.subscriber(subject, title=subject, description=f"{meaning} Reply: {reply}. Served by: connector.")(handler)
    spec = AsyncAPI(broker, title="BackFuture Connect events", version=VERSION, schema_version="3.0.0")
    data: dict[str, Any] = json.loads(spec.to_specification().to_json())
    return data


def openapi_document() -> dict[str, Any]:
    """The gateway's OpenAPI document (routes and models only; no server is started)."""
    from bf_gateway.bootstrap import create_app
    from bf_gateway.testing import InMemoryGateway

    return create_app(InMemoryGateway().deps).openapi()


def render(data: dict[str, Any]) -> str:
    """Canonical JSON text."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def outputs() -> dict[Path, str]:
    """Each document's path and current text."""
    return {ASYNCAPI: render(asyncapi_document()), OPENAPI: render(openapi_document())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate docs/asyncapi.json and docs/openapi.json")
    parser.add_argument("--check", action="store_true", help="only report whether the files are current")
    args = parser.parse_args(argv)
    stale = []
    for path, text in outputs().items():
        if path.exists() and path.read_text() == text:
            continue
        stale.append(path.relative_to(ROOT))
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if args.check and stale:
        print(f"out of date: {', '.join(map(str, stale))}; run: python scripts/gen_docs.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
