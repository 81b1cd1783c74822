"""The log channel: every alert is written to the service log, whatever the user configured.

Operators see every alert in one place; a user without a webhook still has a trace.
"""

from __future__ import annotations

import logging

from bf_shared.notifications import NotificationSettings

from bf_alerter.domain.alerts import Alert, Severity
from bf_alerter.ports import Channel, Delivery

_LEVEL = {Severity.CRITICAL: logging.ERROR, Severity.WARNING: logging.WARNING, Severity.INFO: logging.INFO}


class LogChannel(Channel):
    """Logs one structured line per alert (ids, rule, severity; no secret is ever in an alert)."""

    name = "log"

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._log = logger or logging.getLogger("bf.alerts")

    def target(self, settings: NotificationSettings) -> str | None:
        return "log"

    async def send(self, alert: Alert, settings: NotificationSettings) -> Delivery:
        self._log.log(
            _LEVEL[alert.severity],
            "alert id=%s rule=%s user=%s connection=%s strategy=%s: %s",
            alert.alert_id, alert.rule.value, alert.user_id, alert.connection_id, alert.strategy_id, alert.one_line(),
        )
        return Delivery(ok=True, attempts=1)
