"""Settings of the tester (environment variables, prefix ``BACKFUTURE_``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from bf_shared.settings import ServiceSettings, egress_ips_from

from bf_tester.domain.retry import RetryPolicy

DAY = 24 * 3600.0


class TesterSettings(ServiceSettings):
    """Everything ``python -m bf_tester`` reads from the environment."""

    probe_timeout_s: float = Field(
        default=20.0, gt=0, description="How long to wait for the connector's probe reply (its own deadline is 10 s)"
    )
    retry_max_attempts: int = Field(default=6, ge=1, description="Tries per test, the first included")
    retry_base_s: float = Field(default=5.0, gt=0, description="Backoff ceiling of the first retry")
    retry_cap_s: float = Field(default=600.0, gt=0, description="Largest backoff ceiling")
    retry_min_s: float = Field(default=1.0, ge=0, description="Smallest retry delay")
    retest_interval_s: float = Field(
        default=6 * 3600.0, gt=0, description="Periodic re-test interval of Online connections"
    )
    outage_retest_s: float = Field(
        default=900.0, gt=0, description="Re-test interval of connections whose retries ran out on an outage"
    )
    retest_budget_fraction: float = Field(
        default=0.5, gt=0, le=1, description="Share of an exchange's rate limit periodic re-tests may use"
    )
    expiry_warning_days: int = Field(default=14, ge=0, description="Warn when the key expires within this many days")
    egress_ips: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), description="Platform egress IPs users must whitelist (BACKFUTURE_EGRESS_IPS, comma separated)"
    )
    max_concurrent_tests: int = Field(default=16, ge=1, description="Tests one replica runs at once")
    scheduler_tick_s: float = Field(default=1.0, gt=0, description="How often the scheduler looks for due work")
    lease_ttl_s: float = Field(default=15.0, gt=0, description="Scheduler lease lifetime; refreshed while held")
    index_resync_s: float = Field(
        default=60.0, gt=0, description="How often the scheduler leader re-reads the re-test index"
    )
    done_ttl_s: float = Field(default=8 * DAY, gt=0, description="How long handled runs and deletions are remembered")

    @field_validator("egress_ips", mode="before")
    @classmethod
    def _split_ips(cls, value: object) -> object:
        return egress_ips_from(value) if isinstance(value, str) else value

    @property
    def retry_policy(self) -> RetryPolicy:
        """The retry policy these settings describe."""
        return RetryPolicy(
            max_attempts=self.retry_max_attempts,
            base_s=self.retry_base_s,
            cap_s=self.retry_cap_s,
            min_s=self.retry_min_s,
        )

    @property
    def index_refresh_s(self) -> float:
        """How often the leader re-reads the index: never less often than a quarter of the
        shortest re-test interval, so a freshly indexed entry (due half an interval later at
        the earliest) is always seen before its slot."""
        return min(self.index_resync_s, self.retest_interval_s / 4, self.outage_retest_s / 4)

    def retest_interval_for(self, kind: str) -> float:
        """The re-test interval of an index entry of ``kind`` (``online`` or ``outage``)."""
        return self.outage_retest_s if kind == "outage" else self.retest_interval_s

    @property
    def ack_wait_s(self) -> float:
        """JetStream ack wait of the command consumer: a probe plus bookkeeping, with margin."""
        return self.probe_timeout_s + 30.0

    @property
    def republish_after_s(self) -> float:
        """A published retry still pending after this long was lost: publish it again."""
        return self.ack_wait_s * 2
