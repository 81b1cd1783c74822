"""The retry policy: which codes, how often, how long (random source injected)."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from bf_shared.codes import ErrorCode
from bf_shared.messages import ProbeError, ProbeName, ProbeOutcome, ProbeReply

from bf_tester.domain.retry import RetryPolicy, retry_after_s

from .fakes import T0

POLICY = RetryPolicy(max_attempts=6, base_s=5.0, cap_s=600.0, min_s=1.0)


def always(value: float):  # type: ignore[no-untyped-def]
    return lambda: value


@pytest.mark.parametrize("code", [ErrorCode.EXCHANGE_UNAVAILABLE, ErrorCode.RATE_LIMITED, ErrorCode.CLOCK_SKEW])
def test_retryable_codes_get_a_next_attempt(code: ErrorCode) -> None:
    assert POLICY.next_retry_at(code, 1, now=T0, rand=always(0.5)) is not None


@pytest.mark.parametrize(
    "code", [c for c in ErrorCode if c not in {ErrorCode.EXCHANGE_UNAVAILABLE, ErrorCode.RATE_LIMITED, ErrorCode.CLOCK_SKEW}]
)
def test_key_problems_are_not_retried(code: ErrorCode) -> None:
    assert POLICY.next_retry_at(code, 1, now=T0, rand=always(0.5)) is None


def test_a_pass_is_not_retried() -> None:
    assert POLICY.next_retry_at(None, 1, now=T0, rand=always(0.5)) is None


def test_attempts_are_bounded() -> None:
    code = ErrorCode.EXCHANGE_UNAVAILABLE
    scheduled = [a for a in range(1, 20) if POLICY.next_retry_at(code, a, now=T0, rand=always(0.5))]
    assert scheduled == [1, 2, 3, 4, 5]  # attempts 2..6 exist, the 6th failure is final


def test_backoff_ceiling_doubles_up_to_the_cap() -> None:
    assert [POLICY.ceiling_s(a) for a in range(1, 10)] == [5, 10, 20, 40, 80, 160, 320, 600, 600]
    assert POLICY.ceiling_s(10_000) == 600  # no overflow for absurd attempts


@pytest.mark.parametrize("attempt", [1, 2, 3, 5, 8])
def test_full_jitter_spans_zero_to_the_ceiling_with_a_floor(attempt: int) -> None:
    ceiling = POLICY.ceiling_s(attempt)
    assert POLICY.delay_s(attempt, always(0.0)) == 1.0  # min_s floor
    assert POLICY.delay_s(attempt, always(0.999999)) == pytest.approx(ceiling, rel=1e-5)
    rng = random.Random(42)
    delays = [POLICY.delay_s(attempt, rng.random) for _ in range(500)]
    assert all(1.0 <= d <= ceiling for d in delays)
    assert max(delays) - min(delays) > ceiling * 0.5  # actually jittered, not constant


def test_next_retry_at_is_now_plus_the_jittered_delay() -> None:
    at = POLICY.next_retry_at(ErrorCode.EXCHANGE_UNAVAILABLE, 3, now=T0, rand=always(0.25))
    assert at == T0 + timedelta(seconds=0.25 * 20)


def test_retry_after_is_a_floor_even_above_the_cap() -> None:
    assert POLICY.delay_s(1, always(0.1), retry_after_s=30.0) == 30.0
    assert POLICY.delay_s(9, always(0.1), retry_after_s=900.0) == 900.0
    # ... and not a ceiling: a longer jitter wins.
    assert POLICY.delay_s(8, always(0.5), retry_after_s=2.0) == 300.0


def test_retry_after_is_the_longest_hint_in_the_reply() -> None:
    reply = ProbeReply(
        test_id="t",
        connection_id="c",
        exchange="mexc",
        outcomes=(
            ProbeOutcome(name=ProbeName.READ_BALANCE, ok=False, error=ProbeError(code="rate_limited", retry_after_s=3)),
            ProbeOutcome(name=ProbeName.TRADE, ok=False, error=ProbeError(code="rate_limited", retry_after_s=12)),
            ProbeOutcome(name=ProbeName.CREDENTIALS, ok=True),
        ),
    )
    assert retry_after_s(reply) == 12
    assert retry_after_s(ProbeReply(test_id="t", connection_id="c", exchange="mexc")) is None


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(base_s=0)
