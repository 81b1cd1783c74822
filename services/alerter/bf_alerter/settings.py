"""The alerter's settings (environment variables, prefix ``BACKFUTURE_``)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from bf_shared.settings import ServiceSettings


class AlerterSettings(ServiceSettings):
    """Configuration of ``python -m bf_alerter``. The alerter has no Vault access."""

    exchange_down_minutes: float = Field(
        10.0, gt=0, description="Alert when an exchange has failed tests as unavailable for this long"
    )
    alert_max_age_minutes: float = Field(
        1440.0, gt=0, description="Older alerts (a backlog replayed after downtime) go to the log only"
    )
    webhook_timeout_s: float = Field(5.0, gt=0, description="Timeout of one webhook POST")
    webhook_attempts: int = Field(5, ge=1, le=10, description="Attempts per alert before the dead letter")
    webhook_backoff_s: float = Field(0.5, ge=0, description="First retry delay; doubles each attempt")
    webhook_backoff_max_s: float = Field(8.0, ge=0, description="Cap of the retry delay")
    allow_private_webhooks: bool = Field(
        False, description="Allow webhook URLs on loopback/private networks (development and tests only)"
    )
    telegram_bot_token: SecretStr = Field(
        SecretStr(""), description="Telegram bot token; empty disables Telegram delivery"
    )
    telegram_api_url: str = Field("https://api.telegram.org", description="Telegram Bot API origin")
    ledger_ttl_days: float = Field(14.0, gt=0, description="How long delivered-alert marks are kept (dedup)")
    ack_wait_s: float = Field(120.0, gt=0, description="JetStream ack wait of the alerting consumer")
