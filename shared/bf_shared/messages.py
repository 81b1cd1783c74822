"""One frozen pydantic model per event, command and request/reply on the bus.

Every message has ``schema_version`` and a unique ``message_id`` (used as the JetStream
``Nats-Msg-Id`` for publish de-duplication and by consumers for idempotency). No message
ever carries an API secret or passphrase; an API key appears only masked.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bf_shared.codes import ErrorCode

ExchangeId = Literal["mexc", "kucoin"]
Market = Literal["spot", "futures"]


def new_id() -> str:
    """A fresh random identifier (uuid4 hex)."""
    return uuid.uuid4().hex


def utcnow() -> datetime:
    """Timezone-aware current time (UTC)."""
    return datetime.now(UTC)


class Frozen(BaseModel):
    """Base for every value on the bus: immutable, unknown fields rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Message(Frozen):
    """Base of every event and command."""

    schema_version: Literal[1] = 1
    message_id: str = Field(default_factory=new_id)
    occurred_at: datetime = Field(default_factory=utcnow)


# ----------------------------------------------------------------------------- connections


class ConnectionAdded(Message):
    connection_id: str
    user_id: str
    exchange: str
    name: str
    markets: tuple[Market, ...]
    api_key_masked: str
    secret_version: int


class ConnectionRenamed(Message):
    connection_id: str
    user_id: str
    name: str


class ConnectionCredentialsRotated(Message):
    connection_id: str
    user_id: str
    exchange: str
    api_key_masked: str
    secret_version: int


class ConnectionDeleted(Message):
    connection_id: str
    user_id: str
    exchange: str


class ConnectionAttested(Message):
    """The user confirmed withdrawal is disabled on a key whose exchange cannot tell."""

    connection_id: str
    user_id: str
    withdraw_disabled: Literal[True] = True


# ----------------------------------------------------------------------------- tests


class TestReason(StrEnum):
    ADDED = "added"
    MANUAL = "manual"
    ROTATED = "rotated"
    ATTESTED = "attested"
    RETRY = "retry"
    PERIODIC = "periodic"


class TestRequested(Message):
    """Command: run a connection test. The tester is its only handler."""

    __test__ = False  # not a pytest class

    test_id: str = Field(default_factory=new_id)
    connection_id: str
    user_id: str
    exchange: str
    markets: tuple[Market, ...]
    reason: TestReason
    attempt: int = Field(default=1, ge=1)
    withdraw_attested: bool = False
    secret_version: int | None = None
    # Fingerprint-based warning: the same key is used by another connection.
    key_reused: Literal["none", "same_user", "other_user"] = "none"


class CheckStatus(StrEnum):
    OK = "ok"
    WARNING = "warning"
    FAILED = "failed"
    SKIPPED = "skipped"


class Check(Frozen):
    name: str
    status: CheckStatus
    detail: str = ""


class Permissions(Frozen):
    """What the key may do; ``None`` means the exchange cannot tell."""

    read: bool | None = None
    trade: bool | None = None
    withdraw: bool | None = None
    futures: bool | None = None


class TestError(Frozen):
    __test__ = False

    code: ErrorCode
    cause: str
    remedy: str


class TestWarning(Frozen):
    __test__ = False

    code: str  # "no_ip_whitelist", "key_reused", "key_expiring", "key_reused_elsewhere"
    message: str
    egress_ips: tuple[str, ...] = ()
    days_left: int | None = None


class TestResult(Frozen):
    """The ``last_test`` object of the HTTP contract."""

    __test__ = False

    test_id: str
    status: Literal["passed", "failed"]
    started_at: datetime
    finished_at: datetime
    checks: tuple[Check, ...]
    permissions: Permissions
    ip_restricted: bool | None
    error: TestError | None
    warnings: tuple[TestWarning, ...] = ()
    attempt: int = 1
    next_retry_at: datetime | None = None
    key_expires_in_days: int | None = None


class TestStarted(Message):
    __test__ = False

    test_id: str
    connection_id: str
    user_id: str
    exchange: str
    attempt: int = 1
    started_at: datetime = Field(default_factory=utcnow)
    # Why the test runs (the command's reason), so a read model can tell a background
    # periodic re-check from a test someone is waiting for. Optional: older events lack it.
    reason: TestReason | None = None


class TestPassed(Message):
    __test__ = False

    connection_id: str
    user_id: str
    exchange: str
    result: TestResult
    # The Vault version of the key that was tested (None: not known to the tester).
    secret_version: int | None = None


class TestFailed(Message):
    __test__ = False

    connection_id: str
    user_id: str
    exchange: str
    result: TestResult
    # The Vault version of the key that was tested (None: not known to the tester).
    secret_version: int | None = None


class ConnectionVerdict(Frozen):
    """The newest decided test of a connection: KV ``bf_verdicts``, key ``verdict_key(connection_id)``.

    Written by the tester *before* it publishes the verdict event, and only by the
    connection's newest test; deleted when the connection is. The connector places an order
    only for a connection whose verdict passed for the very key version it is about to use,
    so a new key (a rotation) is never used for trading before its own test passed. It holds
    no secret and no key, only the key's Vault version number.
    """

    schema_version: Literal[1] = 1
    connection_id: str
    test_id: str
    attempt: int = Field(default=1, ge=1)
    secret_version: int | None
    status: Literal["passed", "failed"]
    code: ErrorCode | None = None
    decided_at: datetime


# ----------------------------------------------------------------------------- probe (request/reply)


class ProbeName(StrEnum):
    """What the connector checks; the tester maps these facts to checks."""

    EXCHANGE_STATUS = "exchange_status"  # public: reachable, not in maintenance
    CREDENTIALS = "credentials"  # a signed call is accepted (key, secret, passphrase, IP)
    READ_BALANCE = "read_balance"  # spot balances readable
    PERMISSIONS = "permissions"  # key permission introspection
    TRADE = "trade"  # a test order is accepted (validates, never matches)
    FUTURES_BALANCE = "futures_balance"  # futures account readable


class ProbeError(Frozen):
    """An exchange error, classified once in the connector on the exchange's own code."""

    code: ErrorCode | Literal["permission_denied", "not_supported", "unknown"]
    exchange_code: str | None = None
    http_status: int | None = None
    retry_after_s: float | None = None
    detail: str = ""


class ProbeOutcome(Frozen):
    name: ProbeName
    ok: bool
    error: ProbeError | None = None
    duration_ms: float = 0.0


class KeyFacts(Frozen):
    """What the exchange says about the key itself."""

    permissions: Permissions = Permissions()
    ip_restricted: bool | None = None
    expires_in_days: int | None = None
    # "introspection" (a permission endpoint answered), "inferred" (from other calls), "none"
    source: Literal["introspection", "inferred", "none"] = "none"


class ProbeRequest(Frozen):
    schema_version: Literal[1] = 1
    test_id: str
    connection_id: str
    exchange: str
    markets: tuple[Market, ...]
    secret_version: int | None = None


class ProbeReply(Frozen):
    schema_version: Literal[1] = 1
    test_id: str
    connection_id: str
    exchange: str
    outcomes: tuple[ProbeOutcome, ...] = ()
    key: KeyFacts = KeyFacts()
    # Set when no probe could run at all (e.g. the secret is gone from Vault).
    error: ProbeError | None = None


# ----------------------------------------------------------------------------- live progress (core NATS)


class ProbeProgress(Frozen):
    """One probe of a running test finished (connector -> tester, fire-and-forget).

    Published on :func:`bf_shared.subjects.probe_progress_subject` the moment the probe ends,
    so the tester can show it before the whole run is over. The :class:`ProbeReply` stays the
    authority: a lost progress message costs only a late row on the dashboard. The connector
    does not know the test's attempt, so there is none here.
    """

    schema_version: Literal[1] = 1
    test_id: str
    connection_id: str
    outcome: ProbeOutcome


class CheckProgress(Frozen):
    """A provisional check of a running test (tester -> the connection's live feed).

    Published on :func:`bf_shared.subjects.progress_subject` as each probe's outcome arrives;
    the verdict's checks (:class:`ChecksProgress`) replace it.
    """

    schema_version: Literal[1] = 1
    test_id: str
    attempt: int = Field(default=1, ge=1)
    check: Check


class ChecksProgress(Frozen):
    """Every check of a decided test, published on the live feed just before its verdict event."""

    schema_version: Literal[1] = 1
    test_id: str
    attempt: int = Field(default=1, ge=1)
    checks: tuple[Check, ...]
