"""The connector's own check before it places an order: "a key that can withdraw is never used".

Upstream guards (the gateway enables strategies only on Online connections, runners pause
on a failed test or a rotation) can lag or be bypassed; this one sits next to the key. An
order is placed only when **all** of these hold:

1. the connector has loaded the verdicts (fail closed while it has not);
2. the connection has a verdict, and that verdict is ``passed``;
3. the verdict was for a known key version, and it is the very version the connector is about
   to sign with (the latest one in Vault) — a rotated key is untested until its own test passed.

Cancels, queries and open-order listings are not checked: a strategy being disabled must be
able to take its orders off the book whatever the key's state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bf_shared.messages import ConnectionVerdict

#: Why a placement was refused (a fixed vocabulary: also a metric label).
RefusalReason = Literal["not_loaded", "no_verdict", "failed", "unknown_version", "untested_key"]


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refused placement. ``detail`` is for the runner's logs: ids, versions, codes, no secret."""

    reason: RefusalReason
    detail: str
    #: The connector's cached client holds an older key version than the one that passed:
    #: dropping the cache and reading Vault again may resolve it.
    stale_client: bool = False


def place_refusal(verdict: ConnectionVerdict | None, secret_version: int | None, *, loaded: bool) -> Refusal | None:
    """None when an order may be placed with key version ``secret_version``; else why not."""
    if not loaded:
        return Refusal("not_loaded", "the connector has not loaded the connection test verdicts yet")
    if verdict is None:
        return Refusal("no_verdict", "no connection test has passed for this connection")
    if verdict.status != "passed":
        code = verdict.code.value if verdict.code is not None else "unknown"
        return Refusal("failed", f"the connection's last test failed ({code})")
    if secret_version is None or verdict.secret_version is None:
        return Refusal("unknown_version", "the API key version in use cannot be matched to a passed test")
    if secret_version != verdict.secret_version:
        return Refusal(
            "untested_key",
            f"the API key in use (version {secret_version}) has not passed a connection test; "
            f"the last passed test was for version {verdict.secret_version}",
            stale_client=secret_version < verdict.secret_version,
        )
    return None
