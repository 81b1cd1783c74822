"""``provisional_check``: what one probe outcome shows while the test runs, and that it never
says something the verdict would not."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bf_shared.codes import ErrorCode
from bf_shared.messages import (
    Check,
    CheckStatus,
    KeyFacts,
    Market,
    Permissions,
    ProbeError,
    ProbeName,
    ProbeOutcome,
    ProbeReply,
    TestRequested,
)

from bf_tester.domain.checks import provisional_check
from bf_tester.domain.verdict import judge

from .fakes import T0, fail, ok, request

IPS = ("203.0.113.7", "203.0.113.8")
MARKETS: list[tuple[Market, ...]] = [("spot",), ("futures",), ("spot", "futures")]
CODES = [c.value for c in ErrorCode] + ["permission_denied", "not_supported", "unknown"]
OK, FAILED = CheckStatus.OK, CheckStatus.FAILED


def _check(outcome: ProbeOutcome, markets: tuple[Market, ...] = ("spot", "futures")) -> Check | None:
    return provisional_check(outcome, markets=markets, egress_ips=IPS)


def _runs(name: ProbeName, markets: tuple[Market, ...]) -> bool:
    """Whether the connector runs probe ``name`` for ``markets``."""
    return (name != ProbeName.TRADE or "spot" in markets) and (name != ProbeName.FUTURES_BALANCE or "futures" in markets)


def _verdict_checks(cmd: TestRequested, *outcomes: ProbeOutcome, key: KeyFacts = KeyFacts()) -> dict[str, Check]:
    reply = ProbeReply(test_id=cmd.test_id, connection_id=cmd.connection_id, exchange=cmd.exchange, outcomes=outcomes, key=key)
    result = judge(cmd, reply, started_at=T0, finished_at=T0, egress_ips=IPS, expiry_warning_days=14, now=T0)
    return {c.name: c for c in result.checks}


@pytest.mark.parametrize(
    ("probe", "check"),
    [
        (ProbeName.EXCHANGE_STATUS, Check(name="exchange_status", status=OK, detail="The exchange is reachable.")),
        (ProbeName.CREDENTIALS, Check(name="api_key", status=OK, detail="The exchange accepts the key.")),
        (ProbeName.READ_BALANCE, Check(name="read", status=OK, detail="Balances can be read.")),
        (ProbeName.TRADE, Check(name="trade", status=OK, detail="The key can trade spot.")),
    ],
)
def test_a_probe_that_succeeded_shows_its_check_ok(probe: ProbeName, check: Check) -> None:
    assert _check(ok(probe)) == check


@pytest.mark.parametrize("probe", [ProbeName.PERMISSIONS, ProbeName.FUTURES_BALANCE])
def test_successes_that_prove_no_check_by_themselves_wait_for_the_verdict(probe: ProbeName) -> None:
    # Introspection feeds withdrawal and the whitelist; a readable futures account is not the right to trade futures.
    assert _check(ok(probe)) is None


@pytest.mark.parametrize(
    ("outcome", "name", "detail"),
    [
        (fail(ProbeName.READ_BALANCE, "exchange_unavailable", http_status=503), "exchange_status",
         "The exchange is down, in maintenance or not answering. (HTTP 503)"),
        (fail(ProbeName.TRADE, "rate_limited", retry_after_s=5), "exchange_status",
         "The exchange is throttling requests. (retry after 5 s)"),
        (fail(ProbeName.CREDENTIALS, "unknown"), "exchange_status", "The exchange is down, in maintenance or not answering."),
        (ProbeOutcome(name=ProbeName.CREDENTIALS, ok=False), "exchange_status",
         "The exchange is down, in maintenance or not answering."),
        (fail(ProbeName.CREDENTIALS, "invalid_key", exchange_code="700002"), "api_key",
         "The exchange does not accept this key or secret. (exchange code 700002)"),
        (fail(ProbeName.CREDENTIALS, "invalid_passphrase"), "api_key", "The exchange does not accept the passphrase."),
        (fail(ProbeName.READ_BALANCE, "ip_not_allowed"), "ip_whitelist",
         "The exchange rejects the platform's IP; add 203.0.113.7, 203.0.113.8 to the key's whitelist."),
        (fail(ProbeName.READ_BALANCE, "permission_denied"), "read", "The key cannot read balances."),
        (fail(ProbeName.TRADE, "no_trade_permission"), "trade", "The key cannot trade."),
        (fail(ProbeName.FUTURES_BALANCE, "permission_denied"), "futures", "The key has no futures rights."),
        (fail(ProbeName.PERMISSIONS, "withdraw_enabled"), "withdraw_disabled",
         "The key can withdraw funds; it will never be used."),
    ],
)
def test_an_error_fails_the_check_it_explains(outcome: ProbeOutcome, name: str, detail: str) -> None:
    assert _check(outcome) == Check(name=name, status=FAILED, detail=detail)


@pytest.mark.parametrize(
    "outcome",
    [
        fail(ProbeName.PERMISSIONS, "permission_denied"),  # the introspection call itself: no fact
        fail(ProbeName.EXCHANGE_STATUS, "permission_denied"),
        fail(ProbeName.TRADE, "not_supported"),  # the exchange could not tell
        fail(ProbeName.READ_BALANCE, "withdraw_unconfirmed"),  # a verdict, never a fact
    ],
)
def test_an_error_that_is_no_fact_shows_nothing(outcome: ProbeOutcome) -> None:
    assert _check(outcome) is None


def test_a_market_not_asked_for_shows_no_check() -> None:
    assert _check(ok(ProbeName.TRADE), ("futures",)) is None
    assert _check(fail(ProbeName.TRADE, "no_trade_permission"), ("futures",)) is None
    assert _check(fail(ProbeName.FUTURES_BALANCE, "no_futures_permission"), ("spot",)) is None


@pytest.mark.parametrize(
    ("markets", "probe", "code"),
    [(m, p, c) for m in MARKETS for p in ProbeName if _runs(p, m) for c in ("ok", "no error", *CODES)],
)
def test_with_every_other_probe_fine_the_provisional_check_is_the_verdicts(
    markets: tuple[Market, ...], probe: ProbeName, code: str
) -> None:
    if code == "ok":
        outcome = ok(probe)
    elif code == "no error":
        outcome = ProbeOutcome(name=probe, ok=False)
    else:
        outcome = fail(probe, code, http_status=503, exchange_code="42")
    check = provisional_check(outcome, markets=markets, egress_ips=IPS)
    others = [ok(n) for n in ProbeName if n != probe and _runs(n, markets)]
    verdict = _verdict_checks(request(markets=markets), outcome, *others)
    if check is not None:
        assert verdict[check.name] == check


_errors = st.builds(
    ProbeError,
    code=st.sampled_from(CODES),
    exchange_code=st.none() | st.sampled_from(["700006", "400004"]),
    http_status=st.none() | st.sampled_from([401, 403, 429, 503]),
)
_outcomes = st.builds(
    ProbeOutcome, name=st.sampled_from(list(ProbeName)), ok=st.booleans(), error=st.none() | _errors
).map(lambda o: o if not o.ok else o.model_copy(update={"error": None}))
_tri = st.sampled_from([True, False, None])


@settings(max_examples=300, deadline=None)
@given(
    outcome=_outcomes,
    others=st.lists(_outcomes, max_size=6),
    markets=st.sampled_from(MARKETS),
    stated=st.builds(Permissions, read=_tri, trade=_tri, withdraw=_tri, futures=_tri),
    source=st.sampled_from(["introspection", "inferred", "none"]),
)
def test_a_provisional_failure_is_never_contradicted_by_the_verdict(
    outcome: ProbeOutcome,
    others: list[ProbeOutcome],
    markets: tuple[Market, ...],
    stated: Permissions,
    source: str,
) -> None:
    check = provisional_check(outcome, markets=markets, egress_ips=IPS)
    if check is None or check.status != FAILED:
        return
    key = KeyFacts(permissions=stated, source=source)  # type: ignore[arg-type]
    verdict = _verdict_checks(request(markets=markets), outcome, *others, key=key)
    assert verdict[check.name].status == FAILED
