"""What a takeover tells the world: the lease-lost event of a strategy taken from a dead runner.

A takeover is the compare-and-set of a claim that still names another session, one that
:func:`bf_runner.domain.leases.claim_valid` found dead. A first claim (no claim) and a
hand-over (the previous owner deleted its claim) are not takeovers and announce nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bf_shared.strategy_messages import StrategyLeaseLost, StrategySpec, lease_lost_id

from bf_runner.domain.leases import Claim, Session


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def lease_lost(
    spec: StrategySpec, lost: Claim, previous: Session | None, new_owner: str, now_ms: int
) -> StrategyLeaseLost:
    """The event for ``spec`` taken over by ``new_owner`` at ``now_ms`` from the claim ``lost``.

    ``previous`` is the last known session of the claim's runner. Its expiry is when the lease
    ran out only if it is the very session the claim names; a session since replaced (the
    runner restarted under the same name) or deleted (dead for long) says nothing about it,
    and the takeover time is then the earliest moment this runner can vouch for.
    """
    same = previous is not None and previous.session_id == lost.session_id
    lost_ms = min(previous.expires_at_ms, now_ms) if same and previous is not None else now_ms
    return StrategyLeaseLost(
        message_id=lease_lost_id(spec.strategy_id, lost.session_id),
        occurred_at=_at(now_ms),
        strategy_id=spec.strategy_id,
        user_id=spec.user_id,
        connection_id=spec.connection_id,
        exchange=spec.exchange,
        name=spec.params.name,
        previous_owner=lost.runner_id,
        previous_session=lost.session_id,
        new_owner=new_owner,
        lost_at=_at(lost_ms),
    )
