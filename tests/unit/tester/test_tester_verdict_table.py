"""Every permission combination x market set x exchange x attestation, against an oracle.

The oracle below restates DESIGN.md's policy in the simplest possible terms; it shares no
code with ``bf_tester.domain``. The replies are shaped like the connector's: the probe of
a right that is on succeeds, the probe of a right that is off is refused, a right the
exchange does not report leaves its probe unable to say.
"""

from __future__ import annotations

import itertools

import pytest

from bf_shared.messages import Market, ProbeName, ProbeOutcome

from bf_tester.domain.verdict import judge

from .fakes import T0, fail, ok, reply, request

TRI = (True, False, None)
MARKET_SETS: tuple[tuple[Market, ...], ...] = (("spot",), ("futures",), ("spot", "futures"))
EXCHANGES = ("mexc", "kucoin")
IPS = ("203.0.113.7", "203.0.113.8")


def oracle(
    read: bool | None,
    trade: bool | None,
    withdraw: bool | None,
    futures: bool | None,
    markets: tuple[str, ...],
    attested: bool,
) -> tuple[str, str | None]:
    """(status, error code) as DESIGN.md states the policy."""
    if withdraw is True:
        return "failed", "withdraw_enabled"  # never Online, whatever else holds
    if read is False:
        return "failed", "no_read_permission"
    if "spot" in markets and trade is False:
        return "failed", "no_trade_permission"
    if "futures" in markets and futures is False:
        return "failed", "no_futures_permission"
    if withdraw is None and not attested:
        return "failed", "withdraw_unconfirmed"
    return "passed", None


def expected_check(value: bool | None, wanted: bool) -> str:
    if not wanted:
        return "skipped"
    return {True: "ok", False: "failed", None: "warning"}[value]


def probe_for(name: ProbeName, value: bool | None) -> ProbeOutcome:
    if value is True:
        return ok(name)
    if value is False:
        return fail(name, "permission_denied", exchange_code="700007")
    return fail(name, "not_supported")


CASES = list(itertools.product(EXCHANGES, MARKET_SETS, TRI, TRI, TRI, TRI, (False, True)))


@pytest.mark.parametrize(
    ("exchange", "markets", "read", "trade", "withdraw", "futures", "attested"),
    CASES,
    ids=[f"{e}-{'+'.join(m)}-r{r}-t{t}-w{w}-f{f}-a{a}" for e, m, r, t, w, f, a in CASES],
)
def test_verdict_matches_policy_oracle(
    exchange: str,
    markets: tuple[Market, ...],
    read: bool | None,
    trade: bool | None,
    withdraw: bool | None,
    futures: bool | None,
    attested: bool,
) -> None:
    cmd = request(exchange=exchange, markets=markets, attested=attested)
    outcomes = [ok(ProbeName.EXCHANGE_STATUS), ok(ProbeName.CREDENTIALS), ok(ProbeName.PERMISSIONS)]
    outcomes.append(probe_for(ProbeName.READ_BALANCE, read))
    if "spot" in markets:
        outcomes.append(probe_for(ProbeName.TRADE, trade))
    if "futures" in markets:
        # A readable futures account says nothing about the right to trade futures.
        outcomes.append(probe_for(ProbeName.FUTURES_BALANCE, False) if futures is False else ok(ProbeName.FUTURES_BALANCE))
    rep = reply(
        cmd,
        *outcomes,
        read=read,
        trade=trade,
        withdraw=withdraw,
        futures=futures,
        ip_restricted=True,
    )

    result = judge(cmd, rep, started_at=T0, finished_at=T0, egress_ips=IPS, expiry_warning_days=14, now=T0)

    status, code = oracle(read, trade, withdraw, futures, markets, attested)
    assert (result.status, result.error.code if result.error else None) == (status, code)
    checks = {c.name: c.status.value for c in result.checks}
    assert checks["read"] == expected_check(read, True)
    assert checks["trade"] == expected_check(trade, "spot" in markets)
    assert checks["futures"] == expected_check(futures, "futures" in markets)
    expected_withdraw = {True: "failed", False: "ok", None: "ok" if attested else "failed"}[withdraw]
    assert checks["withdraw_disabled"] == expected_withdraw
    assert checks["exchange_status"] == checks["api_key"] == checks["ip_whitelist"] == "ok"
    unconfirmed = read is None or ("spot" in markets and trade is None) or ("futures" in markets and futures is None)
    assert ("permission_unconfirmed" in {w.code for w in result.warnings}) == unconfirmed
    # Passed exactly when there is no error, and then no check failed.
    assert (result.status == "passed") == (result.error is None)
    if result.status == "passed":
        assert "failed" not in checks.values()
