"""An alert: what a rule decided to tell a user, and the webhook body it becomes."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from typing import Literal

from bf_shared.messages import Frozen
from bf_shared.notifications import AlertRule


class Severity(StrEnum):
    CRITICAL = "critical"  # money at risk or trading stopped: act now
    WARNING = "warning"  # something needs the user's attention
    INFO = "info"


def alert_id(rule: AlertRule, *parts: str) -> str:
    """Deterministic id: the same rule on the same facts always yields the same id.

    That is what makes delivery idempotent: a redelivered event produces the same alert id
    and the delivery ledger refuses to send it twice.
    """
    digest = hashlib.sha256("|".join((rule.value, *parts)).encode()).hexdigest()
    return digest[:32]


class Alert(Frozen):
    """One notification for one user. Never carries a secret or an unmasked key."""

    schema_version: Literal[1] = 1
    alert_id: str
    rule: AlertRule
    severity: Severity
    user_id: str
    title: str
    text: str
    occurred_at: datetime
    source_event_id: str
    exchange: str | None = None
    connection_id: str | None = None
    strategy_id: str | None = None
    code: str | None = None

    def webhook_body(self) -> bytes:
        """The exact bytes POSTed (and signed); stable across retries of the same alert."""
        data = self.model_dump(mode="json")
        data["id"] = data.pop("alert_id")
        return json.dumps(data, separators=(",", ":"), sort_keys=True).encode()

    def one_line(self) -> str:
        """Short human text (log line, Telegram message)."""
        return f"[{self.severity.value.upper()}] {self.title}: {self.text}"
