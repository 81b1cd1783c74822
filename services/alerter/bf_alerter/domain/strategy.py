"""A tolerant view of strategy and runner events.

The strategy models belong to the strategy-runner's shared module and may gain fields at
any time; the alerter needs only a handful of them. So it reads just those fields and
ignores the rest (``extra="ignore"`` here is deliberate: this is a *reader's view*, not a
bus message definition), which keeps the alerter working across their schema changes.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from bf_shared.messages import Frozen


class StrategyNotice(BaseModel):
    """The fields of a strategy/runner event that alerting and auditing use."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    message_id: str | None = None
    occurred_at: datetime | None = None
    user_id: str | None = None
    strategy_id: str | None = None
    connection_id: str | None = None
    exchange: str | None = None
    name: str | None = None
    reason: str | None = None
    runner_id: str | None = None
    status: str | None = None
    # Lease-lost events (:class:`bf_shared.strategy_messages.StrategyLeaseLost`).
    previous_owner: str | None = None
    new_owner: str | None = None
    lost_at: datetime | None = None


class Envelope(Frozen):
    """A bus message as delivered: subject, raw body and delivery facts.

    ``delivery_id`` (the ``Nats-Msg-Id`` header, else ``<stream>.<sequence>``) and
    ``published_at`` stand in for a body without ``message_id``/``occurred_at``, so even a
    foreign event yields the same alert id every time it is redelivered.
    """

    subject: str
    data: bytes
    delivery_id: str
    published_at: datetime


def parse_notice(envelope: Envelope) -> StrategyNotice:
    """Read the fields alerting needs from any strategy/runner event body."""
    notice = StrategyNotice.model_validate_json(envelope.data)
    return notice.model_copy(
        update={
            "message_id": notice.message_id or envelope.delivery_id,
            "occurred_at": notice.occurred_at or envelope.published_at,
        }
    )
