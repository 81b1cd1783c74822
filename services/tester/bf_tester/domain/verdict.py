"""The verdict of a connection test: one pure, exchange-agnostic policy function.

:func:`judge` turns the connector's facts into the ``last_test`` object of the HTTP contract.
A connection is Online (``status == "passed"``) if and only if there is no error.

Error precedence (the first code that applies is the verdict's error):

| rank | code | why it ranks here |
|---|---|---|
| 1 | ``withdraw_enabled`` | the exchange *said* the key can withdraw: it is rejected whatever else failed, and retrying is pointless |
| 2 | ``exchange_unavailable`` | the exchange (or the platform's connector) did not answer: retried, the key might be fine |
| 3 | ``rate_limited`` | throttled: retried (no sooner than the exchange's Retry-After) |
| 4 | ``clock_skew`` | timestamp rejected: retried |
| 5 | ``invalid_key`` | key unknown, secret wrong, signature rejected |
| 6 | ``invalid_passphrase`` | KuCoin passphrase wrong |
| 7 | ``ip_not_allowed`` | the key's whitelist lacks the platform's IP |
| 8 | ``no_read_permission`` | balances/orders cannot be read |
| 9 | ``no_trade_permission`` | spot wanted, trading not allowed |
| 10 | ``no_futures_permission`` | futures wanted, not granted |
| 11 | ``withdraw_unconfirmed`` | the exchange cannot tell about withdrawal and the user has not attested it is off |

Rank 1 deliberately sits above the retryable codes: a *known* withdraw-capable key can never
become Online, so the user learns at once and the alert fires. An *unknown* withdraw
permission only blocks when nothing else does (rank 11): the other fixes come first, the
attestation last.

Policy choices where the design is silent (each is tested):

* Online needs positive evidence: a reply in which no signed call succeeded is
  ``exchange_unavailable`` (retried), never a pass.
* A right the connection needs (read, spot trade, futures) that the exchange neither
  confirmed nor denied is a warning (``permission_unconfirmed``), not a failure: safety
  rests on withdrawal, which is never assumed; a missing trading right only makes orders fail.
* Trade rights are required only when spot is wanted, futures rights only when futures are.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bf_shared.codes import TEXTS, ErrorCode
from bf_shared.messages import ProbeReply, TestError, TestRequested, TestResult

from bf_tester.domain.advisories import build_warnings
from bf_tester.domain.checks import build_checks
from bf_tester.domain.facts import Facts, gather

PRECEDENCE: tuple[ErrorCode, ...] = (
    ErrorCode.WITHDRAW_ENABLED,
    ErrorCode.EXCHANGE_UNAVAILABLE,
    ErrorCode.RATE_LIMITED,
    ErrorCode.CLOCK_SKEW,
    ErrorCode.INVALID_KEY,
    ErrorCode.INVALID_PASSPHRASE,
    ErrorCode.IP_NOT_ALLOWED,
    ErrorCode.NO_READ_PERMISSION,
    ErrorCode.NO_TRADE_PERMISSION,
    ErrorCode.NO_FUTURES_PERMISSION,
    ErrorCode.WITHDRAW_UNCONFIRMED,
)


def candidate_codes(facts: Facts, request: TestRequested) -> frozenset[ErrorCode]:
    """Every error code that applies to these facts (the verdict keeps the highest rank)."""
    codes = set(facts.codes())
    p = facts.permissions
    if p.withdraw is True:
        codes.add(ErrorCode.WITHDRAW_ENABLED)
    if p.read is False:
        codes.add(ErrorCode.NO_READ_PERMISSION)
    if "spot" in request.markets and p.trade is False:
        codes.add(ErrorCode.NO_TRADE_PERMISSION)
    if "futures" in request.markets and p.futures is False:
        codes.add(ErrorCode.NO_FUTURES_PERMISSION)
    if p.withdraw is None and not request.withdraw_attested and not facts.blocked:
        codes.add(ErrorCode.WITHDRAW_UNCONFIRMED)
    return frozenset(codes)


def pick_error(codes: frozenset[ErrorCode]) -> ErrorCode | None:
    """The highest-ranked code of :data:`PRECEDENCE` among ``codes``."""
    for code in PRECEDENCE:
        if code in codes:
            return code
    return None


def judge(
    request: TestRequested,
    reply: ProbeReply,
    *,
    started_at: datetime,
    finished_at: datetime,
    egress_ips: Sequence[str],
    expiry_warning_days: int,
    now: datetime,
) -> TestResult:
    """The result of one test (pure: same inputs, same result).

    ``now`` dates the key-expiry warning. ``next_retry_at`` is left empty: scheduling a
    retry is the retry policy's decision (:mod:`bf_tester.domain.retry`).
    """
    facts = gather(reply)
    code = pick_error(candidate_codes(facts, request))
    error = None
    if code is not None:
        cause, remedy = TEXTS[code]
        error = TestError(code=code, cause=cause, remedy=remedy)
    return TestResult(
        test_id=request.test_id,
        status="passed" if error is None else "failed",
        started_at=started_at,
        finished_at=finished_at,
        checks=build_checks(
            facts,
            markets=request.markets,
            attested=request.withdraw_attested,
            egress_ips=egress_ips,
        ),
        permissions=facts.permissions,
        ip_restricted=facts.ip_restricted,
        error=error,
        warnings=build_warnings(
            facts,
            request,
            egress_ips=egress_ips,
            expiry_warning_days=expiry_warning_days,
            now=now,
        ),
        attempt=request.attempt,
        key_expires_in_days=facts.expires_in_days,
    )
