"""Builders of test verdict events for the alerter tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bf_shared.codes import TEXTS, ErrorCode
from bf_shared.messages import Permissions, TestError, TestFailed, TestPassed, TestResult

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def result(status: str, at: datetime, code: ErrorCode | None = None, attempt: int = 1) -> TestResult:
    error = TestError(code=code, cause=TEXTS[code][0], remedy=TEXTS[code][1]) if code else None
    return TestResult(
        test_id=f"t-{at.timestamp():.0f}", status=status, started_at=at - timedelta(seconds=2), finished_at=at,
        checks=(), permissions=Permissions(read=True, trade=True, withdraw=code is ErrorCode.WITHDRAW_ENABLED),
        ip_restricted=True, error=error, attempt=attempt,
    )


def passed(at: datetime = T0, conn: str = "c1", user: str = "u1", exchange: str = "mexc") -> TestPassed:
    return TestPassed(connection_id=conn, user_id=user, exchange=exchange, result=result("passed", at))


def failed(
    code: ErrorCode | None, at: datetime = T0, conn: str = "c1", user: str = "u1", exchange: str = "mexc",
    attempt: int = 1,
) -> TestFailed:
    return TestFailed(connection_id=conn, user_id=user, exchange=exchange, result=result("failed", at, code, attempt))
