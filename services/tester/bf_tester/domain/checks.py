"""The checks the dashboard shows, in a fixed order, each with a short English detail.

| name | meaning |
|---|---|
| ``exchange_status`` | the exchange answered (not down, not throttling us, accepted our clock) |
| ``api_key`` | the exchange accepted the key, secret and passphrase |
| ``read`` | the key can read balances, orders and positions |
| ``trade`` | the key can trade spot (skipped when spot is not wanted) |
| ``withdraw_disabled`` | the key cannot withdraw (or the user confirmed it where the exchange cannot tell) |
| ``futures`` | the key has futures rights (skipped when futures are not wanted) |
| ``ip_whitelist`` | the key is restricted to the platform's IPs (a warning when it is not) |

A check is ``failed`` only when the verdict has an error that explains it; a capability the
exchange did not confirm is a ``warning`` (the test could look, the exchange did not say);
anything the test could not look at because an earlier error stopped it is ``skipped``.

While a test runs, :func:`provisional_check` shows what one probe outcome settles on its own,
worded as the verdict words it, so the dashboard can list checks as their probes finish. It
never guesses: an outcome that needs the other facts to mean something (the permission
introspection, a readable futures account, an exchange that "cannot tell") shows nothing
until the verdict, whose checks replace every provisional one.
"""

from __future__ import annotations

from collections.abc import Sequence

from bf_shared.codes import ErrorCode
from bf_shared.messages import Check, CheckStatus, Market, ProbeError, ProbeName, ProbeOutcome

from bf_tester.domain.facts import CONNECTOR_UNREACHABLE, Facts, Incident, classify

CHECK_NAMES: tuple[str, ...] = (
    "exchange_status",
    "api_key",
    "read",
    "trade",
    "withdraw_disabled",
    "futures",
    "ip_whitelist",
)

OK, WARNING, FAILED, SKIPPED = CheckStatus.OK, CheckStatus.WARNING, CheckStatus.FAILED, CheckStatus.SKIPPED

# Why later checks were not run, by the blocking code that stopped them.
_BLOCKED_BY: dict[ErrorCode, str] = {
    ErrorCode.EXCHANGE_UNAVAILABLE: "Not checked: the exchange did not answer.",
    ErrorCode.RATE_LIMITED: "Not checked: the exchange is throttling requests.",
    ErrorCode.CLOCK_SKEW: "Not checked: the exchange rejected the request time.",
    ErrorCode.INVALID_KEY: "Not checked: the key was not accepted.",
    ErrorCode.INVALID_PASSPHRASE: "Not checked: the passphrase was not accepted.",
    ErrorCode.IP_NOT_ALLOWED: "Not checked: the exchange rejects the platform's IP.",
}

_RETRYABLE_DETAIL: dict[ErrorCode, str] = {
    ErrorCode.EXCHANGE_UNAVAILABLE: "The exchange is down, in maintenance or not answering.",
    ErrorCode.RATE_LIMITED: "The exchange is throttling requests.",
    ErrorCode.CLOCK_SKEW: "The exchange rejected the request time.",
}


# The connector's stable reasons for a reply where no probe could run (its handlers module).
_PLATFORM_DETAIL: dict[str, str] = {
    "secret not found": "The platform found no stored credentials for this connection.",
    "vault unavailable": "The platform's secret store is unavailable; retried automatically.",
    "vault forbidden": "The platform could not read the credentials; retried automatically.",
    "wrong exchange": "The test reached the wrong exchange connector; retried automatically.",
}


# (granted, refused) wording of the capabilities a connection needs.
_CAPABILITY_TEXT: dict[str, tuple[str, str]] = {
    "read": ("Balances can be read.", "The key cannot read balances."),
    "trade": ("The key can trade spot.", "The key cannot trade."),
    "futures": ("The key has futures rights.", "The key has no futures rights."),
}

_REACHABLE = Check(name="exchange_status", status=OK, detail="The exchange is reachable.")
_KEY_ACCEPTED = Check(name="api_key", status=OK, detail="The exchange accepts the key.")
_CAN_WITHDRAW = Check(
    name="withdraw_disabled", status=FAILED, detail="The key can withdraw funds; it will never be used."
)


def ip_list(egress_ips: Sequence[str]) -> str:
    """The platform's IPs as a phrase for details and warnings."""
    return ", ".join(egress_ips) if egress_ips else "the platform's server IPs"


def _ref(error: ProbeError) -> str:
    """The exchange's own reference for an error (code, HTTP status), never free text."""
    parts = []
    if error.exchange_code:
        parts.append(f"exchange code {error.exchange_code}")
    if error.http_status:
        parts.append(f"HTTP {error.http_status}")
    if error.retry_after_s:
        parts.append(f"retry after {error.retry_after_s:g} s")
    return f" ({', '.join(parts)})" if parts else ""


def _why_skipped(facts: Facts) -> str:
    blocker = facts.blocker()
    return _BLOCKED_BY[blocker.code] if blocker is not None else "Not checked."


def _unavailable(code: ErrorCode, error: ProbeError) -> Check:
    return Check(name="exchange_status", status=FAILED, detail=_RETRYABLE_DETAIL[code] + _ref(error))


def _key_refused(code: ErrorCode, error: ProbeError) -> Check:
    text = (
        "The exchange does not accept this key or secret."
        if code == ErrorCode.INVALID_KEY
        else "The exchange does not accept the passphrase."
    )
    return Check(name="api_key", status=FAILED, detail=text + _ref(error))


def _ip_rejected(egress_ips: Sequence[str]) -> Check:
    return Check(
        name="ip_whitelist",
        status=FAILED,
        detail=f"The exchange rejects the platform's IP; add {ip_list(egress_ips)} to the key's whitelist.",
    )


def _exchange_status(facts: Facts) -> Check:
    retryable = facts.first(*_RETRYABLE_DETAIL)
    if retryable is not None:
        if retryable.error.detail == CONNECTOR_UNREACHABLE:
            detail = "The platform's exchange connector did not answer; retried automatically."
        elif retryable.probe is None:
            detail = _PLATFORM_DETAIL.get(retryable.error.detail, "The platform could not run the test.")
        else:
            return _unavailable(retryable.code, retryable.error)
        return Check(name="exchange_status", status=FAILED, detail=detail)
    if facts.exchange_reached:
        return _REACHABLE
    return Check(name="exchange_status", status=SKIPPED, detail=_why_skipped(facts))


def _api_key(facts: Facts) -> Check:
    bad: Incident | None = facts.first(ErrorCode.INVALID_KEY, ErrorCode.INVALID_PASSPHRASE)
    if bad is not None:
        return _key_refused(bad.code, bad.error)
    if facts.key_accepted:
        return _KEY_ACCEPTED
    return Check(name="api_key", status=SKIPPED, detail=_why_skipped(facts))


def _capability(name: str, value: bool | None, facts: Facts) -> Check:
    yes, no = _CAPABILITY_TEXT[name]
    if value is False:
        return Check(name=name, status=FAILED, detail=no)
    if value is True:
        return Check(name=name, status=OK, detail=yes)
    if facts.blocked:
        return Check(name=name, status=SKIPPED, detail=_why_skipped(facts))
    return Check(name=name, status=WARNING, detail="The exchange did not confirm this permission.")


def _withdraw(facts: Facts, attested: bool) -> Check:
    value = facts.permissions.withdraw
    if value is True:
        return _CAN_WITHDRAW
    if value is False:
        return Check(name="withdraw_disabled", status=OK, detail="Withdrawal is disabled.")
    if attested:
        return Check(
            name="withdraw_disabled",
            status=OK,
            detail="The exchange does not tell; you confirmed withdrawal is disabled.",
        )
    if facts.blocked:
        return Check(name="withdraw_disabled", status=SKIPPED, detail=_why_skipped(facts))
    return Check(
        name="withdraw_disabled",
        status=FAILED,
        detail="The exchange does not tell whether the key can withdraw; confirm it is disabled.",
    )


def _ip_whitelist(facts: Facts, egress_ips: Sequence[str]) -> Check:
    ips = ip_list(egress_ips)
    if facts.first(ErrorCode.IP_NOT_ALLOWED) is not None:
        return _ip_rejected(egress_ips)
    if facts.ip_restricted is True:
        return Check(name="ip_whitelist", status=OK, detail="The key is restricted to whitelisted IPs.")
    if facts.ip_restricted is False:
        return Check(
            name="ip_whitelist",
            status=WARNING,
            detail=f"No IP whitelist; restrict the key to {ips}.",
        )
    if facts.blocked:
        return Check(name="ip_whitelist", status=SKIPPED, detail=_why_skipped(facts))
    return Check(
        name="ip_whitelist",
        status=WARNING,
        detail=f"The exchange does not say whether the key is IP-restricted; restrict it to {ips}.",
    )


def build_checks(
    facts: Facts, *, markets: Sequence[Market], attested: bool, egress_ips: Sequence[str]
) -> tuple[Check, ...]:
    """The seven checks, in :data:`CHECK_NAMES` order (pure)."""
    p = facts.permissions
    if "spot" in markets:
        trade = _capability("trade", p.trade, facts)
    else:
        trade = Check(name="trade", status=SKIPPED, detail="Spot market not requested.")
    if "futures" in markets:
        futures = _capability("futures", p.futures, facts)
    else:
        futures = Check(name="futures", status=SKIPPED, detail="Futures market not requested.")
    return (
        _exchange_status(facts),
        _api_key(facts),
        _capability("read", p.read, facts),
        trade,
        _withdraw(facts, attested),
        futures,
        _ip_whitelist(facts, egress_ips),
    )


# What a succeeded probe settles on its own. Not futures_balance: a readable futures account
# is not the right to trade futures (that comes from introspection or the futures test order,
# folded into the reply's key facts). Not permissions: it feeds withdraw_disabled and
# ip_whitelist, which only the verdict can word.
_SUCCEEDED: dict[ProbeName, Check] = {
    ProbeName.EXCHANGE_STATUS: _REACHABLE,
    ProbeName.CREDENTIALS: _KEY_ACCEPTED,
    ProbeName.READ_BALANCE: Check(name="read", status=OK, detail=_CAPABILITY_TEXT["read"][0]),
    ProbeName.TRADE: Check(name="trade", status=OK, detail=_CAPABILITY_TEXT["trade"][0]),
}


def _wanted(name: str, markets: Sequence[Market]) -> bool:
    """False for the check of a market the connection did not ask for (the verdict skips it)."""
    return (name != "trade" or "spot" in markets) and (name != "futures" or "futures" in markets)


def provisional_check(
    outcome: ProbeOutcome, *, markets: Sequence[Market], egress_ips: Sequence[str]
) -> Check | None:
    """The check one probe outcome settles by itself, or None when it takes the verdict (pure).

    A success shows its check ``ok`` (``exchange_status``, ``api_key``, ``read``, ``trade``).
    An error is read as :func:`~bf_tester.domain.facts.gather` reads it, whichever probe hit
    it: a retryable one fails ``exchange_status``, a refused key or passphrase fails
    ``api_key``, a rejected IP fails ``ip_whitelist``, a denied right fails that right's
    check, a key that can withdraw fails ``withdraw_disabled``. An error that is no fact
    (``not_supported``, a denied introspection) shows nothing.
    """
    if outcome.ok:
        check = _SUCCEEDED.get(outcome.name)
        return check if check is not None and _wanted(check.name, markets) else None
    error = outcome.error or ProbeError(code="unknown")
    kind = classify(error, outcome.name)
    if isinstance(kind, ErrorCode):
        if kind in _RETRYABLE_DETAIL:
            return _unavailable(kind, error)
        if kind in (ErrorCode.INVALID_KEY, ErrorCode.INVALID_PASSPHRASE):
            return _key_refused(kind, error)
        if kind == ErrorCode.IP_NOT_ALLOWED:
            return _ip_rejected(egress_ips)
        return None
    if kind == "withdraw":
        return _CAN_WITHDRAW
    if kind in _CAPABILITY_TEXT and _wanted(kind, markets):
        return Check(name=kind, status=FAILED, detail=_CAPABILITY_TEXT[kind][1])
    return None
