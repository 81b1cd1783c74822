"""Every error code through ``judge``, the precedence table, warnings and the policy's edges."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bf_shared.codes import TEXTS, ErrorCode
from bf_shared.messages import ProbeError, ProbeName, ProbeReply, TestRequested, TestResult

from bf_tester.domain.checks import CHECK_NAMES
from bf_tester.domain.facts import CONNECTOR_UNREACHABLE
from bf_tester.domain.verdict import PRECEDENCE, judge

from .fakes import T0, fail, ok, reply, request

IPS = ("203.0.113.7", "203.0.113.8")
N = ProbeName


def run(cmd: TestRequested, rep: ProbeReply, *, days: int = 14) -> TestResult:
    return judge(cmd, rep, started_at=T0, finished_at=T0, egress_ips=IPS, expiry_warning_days=days, now=T0)


def check(result: TestResult, name: str) -> tuple[str, str]:
    found = {c.name: c for c in result.checks}[name]
    return found.status.value, found.detail


# One scenario per code: (markets, reply builder, the check that must show the failure).
Scenario = tuple[tuple[str, ...], Callable[[TestRequested], ProbeReply], str]
SCENARIOS: dict[ErrorCode, Scenario] = {
    ErrorCode.EXCHANGE_UNAVAILABLE: (
        ("spot",),
        lambda c: reply(c, fail(N.EXCHANGE_STATUS, "exchange_unavailable", http_status=503), ok(N.CREDENTIALS)),
        "exchange_status",
    ),
    ErrorCode.RATE_LIMITED: (
        ("spot",),
        lambda c: reply(c, ok(N.CREDENTIALS), fail(N.READ_BALANCE, "rate_limited", http_status=429, retry_after_s=7)),
        "exchange_status",
    ),
    ErrorCode.CLOCK_SKEW: (
        ("spot",),
        lambda c: reply(c, fail(N.CREDENTIALS, "clock_skew", exchange_code="700003")),
        "exchange_status",
    ),
    ErrorCode.INVALID_KEY: (
        ("spot",),
        lambda c: reply(
            c, ok(N.EXCHANGE_STATUS), fail(N.CREDENTIALS, "invalid_key", exchange_code="10072"),
            read=None, trade=None, withdraw=None, ip_restricted=None, source="none",
        ),
        "api_key",
    ),
    ErrorCode.INVALID_PASSPHRASE: (
        ("spot",),
        lambda c: reply(
            c, ok(N.EXCHANGE_STATUS), fail(N.CREDENTIALS, "invalid_passphrase", exchange_code="400004"),
            read=None, trade=None, withdraw=None, ip_restricted=None, source="none",
        ),
        "api_key",
    ),
    ErrorCode.IP_NOT_ALLOWED: (
        ("spot",),
        lambda c: reply(
            c, ok(N.EXCHANGE_STATUS), fail(N.CREDENTIALS, "ip_not_allowed", exchange_code="700006"),
            read=None, trade=None, withdraw=None, ip_restricted=None, source="none",
        ),
        "ip_whitelist",
    ),
    ErrorCode.NO_READ_PERMISSION: (
        ("spot",),
        lambda c: reply(c, ok(N.CREDENTIALS), fail(N.READ_BALANCE, "permission_denied"), read=None),
        "read",
    ),
    ErrorCode.NO_TRADE_PERMISSION: (
        ("spot",),
        lambda c: reply(c, ok(N.CREDENTIALS), ok(N.READ_BALANCE), fail(N.TRADE, "permission_denied"), trade=None),
        "trade",
    ),
    ErrorCode.NO_FUTURES_PERMISSION: (
        ("futures",),
        lambda c: reply(c, ok(N.CREDENTIALS), ok(N.READ_BALANCE), fail(N.FUTURES_BALANCE, "permission_denied")),
        "futures",
    ),
    ErrorCode.WITHDRAW_ENABLED: (("spot",), lambda c: reply(c, withdraw=True), "withdraw_disabled"),
    ErrorCode.WITHDRAW_UNCONFIRMED: (("spot",), lambda c: reply(c, withdraw=None), "withdraw_disabled"),
}


def test_every_error_code_has_a_scenario() -> None:
    assert set(SCENARIOS) == set(ErrorCode)


@pytest.mark.parametrize("code", list(ErrorCode), ids=str)
def test_each_error_code_is_the_verdict_with_its_texts(code: ErrorCode) -> None:
    markets, build, failing_check = SCENARIOS[code]
    cmd = request(markets=markets)  # type: ignore[arg-type]
    result = run(cmd, build(cmd))
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.code == code
    assert (result.error.cause, result.error.remedy) == TEXTS[code]
    assert check(result, failing_check)[0] == "failed"
    assert [c.name for c in result.checks] == list(CHECK_NAMES)


# ----------------------------------------------------------------------------- precedence

#: The documented table, restated here on purpose: reordering PRECEDENCE must break a test.
DOCUMENTED = [
    "withdraw_enabled",
    "exchange_unavailable",
    "rate_limited",
    "clock_skew",
    "invalid_key",
    "invalid_passphrase",
    "ip_not_allowed",
    "no_read_permission",
    "no_trade_permission",
    "no_futures_permission",
    "withdraw_unconfirmed",
]


def test_precedence_table_is_the_documented_one_and_covers_every_code() -> None:
    assert [c.value for c in PRECEDENCE] == DOCUMENTED
    assert set(PRECEDENCE) == set(ErrorCode)


PRECEDENCE_CASES: list[tuple[str, tuple[str, ...], Callable[[TestRequested], ProbeReply], str]] = [
    (
        "a known withdraw right beats an exchange outage (no pointless retry)",
        ("spot",),
        lambda c: reply(c, fail(N.EXCHANGE_STATUS, "exchange_unavailable"), ok(N.PERMISSIONS), withdraw=True),
        "withdraw_enabled",
    ),
    (
        "a withdraw right beats every missing permission",
        ("spot", "futures"),
        lambda c: reply(
            c, ok(N.CREDENTIALS), fail(N.READ_BALANCE, "permission_denied"), fail(N.TRADE, "permission_denied"),
            fail(N.FUTURES_BALANCE, "permission_denied"), withdraw=True,
        ),
        "withdraw_enabled",
    ),
    (
        "a withdraw right beats a rejected IP",
        ("spot",),
        lambda c: reply(c, ok(N.PERMISSIONS), fail(N.TRADE, "ip_not_allowed"), withdraw=True),
        "withdraw_enabled",
    ),
    (
        "an outage beats an invalid key (the key might be fine)",
        ("spot",),
        lambda c: reply(c, fail(N.EXCHANGE_STATUS, "exchange_unavailable"), fail(N.CREDENTIALS, "invalid_key")),
        "exchange_unavailable",
    ),
    (
        "throttling beats an invalid key",
        ("spot",),
        lambda c: reply(c, fail(N.READ_BALANCE, "rate_limited"), fail(N.CREDENTIALS, "invalid_key")),
        "rate_limited",
    ),
    (
        "an outage beats throttling, throttling beats clock skew",
        ("spot",),
        lambda c: reply(
            c, fail(N.TRADE, "clock_skew"), fail(N.READ_BALANCE, "rate_limited"),
            fail(N.EXCHANGE_STATUS, "exchange_unavailable"),
        ),
        "exchange_unavailable",
    ),
    (
        "clock skew beats a wrong passphrase",
        ("spot",),
        lambda c: reply(c, fail(N.CREDENTIALS, "invalid_passphrase"), fail(N.TRADE, "clock_skew")),
        "clock_skew",
    ),
    (
        "an invalid key beats a rejected IP",
        ("spot",),
        lambda c: reply(c, fail(N.READ_BALANCE, "ip_not_allowed"), fail(N.CREDENTIALS, "invalid_key")),
        "invalid_key",
    ),
    (
        "a wrong passphrase beats a rejected IP",
        ("spot",),
        lambda c: reply(c, fail(N.READ_BALANCE, "ip_not_allowed"), fail(N.CREDENTIALS, "invalid_passphrase")),
        "invalid_passphrase",
    ),
    (
        "a rejected IP beats missing permissions",
        ("spot",),
        lambda c: reply(c, ok(N.CREDENTIALS), fail(N.TRADE, "ip_not_allowed"), read=False),
        "ip_not_allowed",
    ),
    (
        "no read beats no trade",
        ("spot",),
        lambda c: reply(c, ok(N.CREDENTIALS), read=False, trade=False),
        "no_read_permission",
    ),
    (
        "no trade beats no futures",
        ("spot", "futures"),
        lambda c: reply(c, ok(N.CREDENTIALS), trade=False, futures=False),
        "no_trade_permission",
    ),
    (
        "no futures beats an unconfirmed withdrawal",
        ("futures",),
        lambda c: reply(c, ok(N.CREDENTIALS), futures=False, withdraw=None),
        "no_futures_permission",
    ),
]


@pytest.mark.parametrize(("why", "markets", "build", "expected"), PRECEDENCE_CASES, ids=[c[0] for c in PRECEDENCE_CASES])
def test_precedence(why: str, markets: tuple[str, ...], build: Callable[[TestRequested], ProbeReply], expected: str) -> None:
    cmd = request(markets=markets)  # type: ignore[arg-type]
    result = run(cmd, build(cmd))
    assert result.error is not None and result.error.code == expected, why


# ----------------------------------------------------------------------------- probe errors and edges


@pytest.mark.parametrize(
    ("probe", "markets", "expected"),
    [
        (N.READ_BALANCE, ("spot",), "no_read_permission"),
        (N.CREDENTIALS, ("spot",), "no_read_permission"),
        (N.TRADE, ("spot",), "no_trade_permission"),
        (N.FUTURES_BALANCE, ("futures",), "no_futures_permission"),
    ],
)
def test_permission_denied_maps_by_the_probe_that_hit_it(probe: ProbeName, markets: tuple[str, ...], expected: str) -> None:
    cmd = request(markets=markets)  # type: ignore[arg-type]
    # Introspection says nothing about rights: only the refusal speaks.
    rep = reply(cmd, ok(N.EXCHANGE_STATUS), fail(probe, "permission_denied"), read=None, trade=None, source="inferred")
    result = run(cmd, rep)
    assert result.error is not None and result.error.code == expected
    assert check(result, "api_key")[0] == "ok"  # the exchange authenticated the key, then refused


def test_denied_introspection_is_not_a_fact_and_withdrawal_stays_unconfirmed() -> None:
    cmd = request()
    rep = reply(cmd, ok(N.CREDENTIALS), ok(N.READ_BALANCE), ok(N.TRADE), fail(N.PERMISSIONS, "permission_denied"),
                read=None, trade=None, withdraw=None, ip_restricted=None, source="inferred")
    result = run(cmd, rep)
    assert result.error is not None and result.error.code == "withdraw_unconfirmed"
    assert result.permissions.read is True and result.permissions.trade is True


def test_attested_withdrawal_passes_when_the_exchange_cannot_tell() -> None:
    cmd = request(attested=True)
    result = run(cmd, reply(cmd, withdraw=None))
    assert result.status == "passed"
    assert check(result, "withdraw_disabled") == ("ok", "The exchange does not tell; you confirmed withdrawal is disabled.")
    assert result.permissions.withdraw is None


def test_attestation_never_overrides_a_reported_withdraw_right() -> None:
    cmd = request(attested=True)
    result = run(cmd, reply(cmd, withdraw=True))
    assert result.status == "failed" and result.error is not None and result.error.code == "withdraw_enabled"


@pytest.mark.parametrize("attested", [False, True])
def test_a_reply_without_evidence_is_never_online(attested: bool) -> None:
    cmd = request(attested=attested)
    empty = ProbeReply(test_id=cmd.test_id, connection_id=cmd.connection_id, exchange=cmd.exchange)
    result = run(cmd, empty)
    assert result.status == "failed"
    assert result.error is not None and result.error.code == "exchange_unavailable"


def test_connector_error_withdraw_enabled_is_a_withdraw_right() -> None:
    cmd = request()
    rep = reply(cmd, ok(N.CREDENTIALS), fail(N.PERMISSIONS, "withdraw_enabled"), withdraw=None)
    result = run(cmd, rep)
    assert result.error is not None and result.error.code == "withdraw_enabled"
    assert result.permissions.withdraw is True


def test_unknown_probe_failure_is_platform_trouble_not_the_key() -> None:
    cmd = request()
    rep = reply(cmd, ok(N.EXCHANGE_STATUS), fail(N.CREDENTIALS, "unknown", detail="internal error (KeyError)"))
    result = run(cmd, rep)
    assert result.error is not None and result.error.code == "exchange_unavailable"
    assert check(result, "api_key")[0] != "failed"


@pytest.mark.parametrize(
    ("detail", "shown"),
    [
        ("secret not found", "no stored credentials"),
        ("vault unavailable", "secret store is unavailable"),
        ("vault forbidden", "could not read the credentials"),
        ("wrong exchange", "wrong exchange connector"),
        ("anything else", "could not run the test"),
    ],
)
def test_reply_level_errors_are_retryable_platform_trouble(detail: str, shown: str) -> None:
    cmd = request()
    rep = ProbeReply(
        test_id=cmd.test_id, connection_id=cmd.connection_id, exchange=cmd.exchange,
        error=ProbeError(code="unknown", detail=detail),
    )
    result = run(cmd, rep)
    assert result.error is not None and result.error.code == "exchange_unavailable"
    status, text = check(result, "exchange_status")
    assert status == "failed" and shown in text
    assert {c.name: c.status.value for c in result.checks}["api_key"] == "skipped"


def test_connector_that_did_not_answer_is_named_in_the_check() -> None:
    cmd = request()
    rep = ProbeReply(
        test_id=cmd.test_id, connection_id=cmd.connection_id, exchange=cmd.exchange,
        error=ProbeError(code=ErrorCode.EXCHANGE_UNAVAILABLE, detail=CONNECTOR_UNREACHABLE),
    )
    assert "connector did not answer" in check(run(cmd, rep), "exchange_status")[1]


def test_blocked_test_skips_what_it_could_not_see() -> None:
    cmd = request(markets=("spot", "futures"))
    result = run(cmd, SCENARIOS[ErrorCode.INVALID_KEY][1](cmd))
    statuses = {c.name: c.status.value for c in result.checks}
    assert statuses == {
        "exchange_status": "ok",
        "api_key": "failed",
        "read": "skipped",
        "trade": "skipped",
        "withdraw_disabled": "skipped",
        "futures": "skipped",
        "ip_whitelist": "skipped",
    }
    assert all("key was not accepted" in c.detail for c in result.checks if c.status.value == "skipped")
    assert not {w.code for w in result.warnings} & {"no_ip_whitelist", "permission_unconfirmed"}


def test_ip_not_allowed_lists_the_platform_ips_and_marks_the_key_restricted() -> None:
    cmd = request()
    result = run(cmd, SCENARIOS[ErrorCode.IP_NOT_ALLOWED][1](cmd))
    status, detail = check(result, "ip_whitelist")
    assert status == "failed" and "203.0.113.7, 203.0.113.8" in detail
    assert result.ip_restricted is True


def test_check_details_carry_exchange_codes_but_never_the_connectors_free_text() -> None:
    cmd = request()
    leaky = "Signature for this request is not valid. secret=Zx9-very-secret-Q"
    rep = reply(cmd, fail(N.CREDENTIALS, "invalid_key", exchange_code="700002", http_status=400, detail=leaky))
    result = run(cmd, rep)
    assert "exchange code 700002" in check(result, "api_key")[1]
    assert "very-secret" not in result.model_dump_json()


def test_judge_is_pure_and_copies_the_attempt() -> None:
    cmd = request(attempt=3)
    rep = reply(cmd, expires_in_days=3)
    first, second = run(cmd, rep), run(cmd, rep)
    assert first == second
    assert first.attempt == 3 and first.test_id == cmd.test_id and first.next_retry_at is None
    assert first.key_expires_in_days == 3


# ----------------------------------------------------------------------------- warnings


def codes(result: TestResult) -> list[str]:
    return [w.code for w in result.warnings]


@pytest.mark.parametrize("ip_restricted", [False, None])
def test_missing_or_unknown_ip_whitelist_is_a_warning_with_the_egress_ips(ip_restricted: bool | None) -> None:
    cmd = request()
    result = run(cmd, reply(cmd, ip_restricted=ip_restricted))
    assert result.status == "passed"
    (warning,) = [w for w in result.warnings if w.code == "no_ip_whitelist"]
    assert warning.egress_ips == IPS
    assert check(result, "ip_whitelist")[0] == "warning"


def test_restricted_key_has_no_ip_warning() -> None:
    cmd = request()
    result = run(cmd, reply(cmd, ip_restricted=True))
    assert codes(result) == [] and check(result, "ip_whitelist")[0] == "ok"


@pytest.mark.parametrize(("days", "warned"), [(0, True), (1, True), (14, True), (15, False), (90, False)])
def test_key_expiring_within_the_setting_warns_with_days_left(days: int, warned: bool) -> None:
    cmd = request(exchange="mexc")
    result = run(cmd, reply(cmd, expires_in_days=days), days=14)
    expiring = [w for w in result.warnings if w.code == "key_expiring"]
    assert bool(expiring) == warned
    if warned:
        assert expiring[0].days_left == days
        assert result.status == "passed"


def test_expiry_warning_names_the_date() -> None:
    cmd = request()
    (warning,) = [w for w in run(cmd, reply(cmd, expires_in_days=5)).warnings if w.code == "key_expiring"]
    assert "5 days" in warning.message and "2026-03-06" in warning.message


@pytest.mark.parametrize(
    ("reused", "code", "text"),
    [
        ("same_user", "key_reused", "another of your connections"),
        ("other_user", "key_reused_elsewhere", "already connected elsewhere"),
    ],
)
def test_key_reuse_warns_without_naming_anyone(reused: str, code: str, text: str) -> None:
    cmd = request(key_reused=reused)
    result = run(cmd, reply(cmd))
    assert result.status == "passed"
    (warning,) = result.warnings
    assert warning.code == code and text in warning.message
    assert "user" not in warning.message.replace("your", "")


def test_key_reuse_warning_also_shows_on_a_failed_test() -> None:
    cmd = request(key_reused="other_user")
    assert "key_reused_elsewhere" in codes(run(cmd, reply(cmd, withdraw=True)))


def test_no_key_reuse_no_warning() -> None:
    cmd = request(key_reused="none")
    assert codes(run(cmd, reply(cmd))) == []
