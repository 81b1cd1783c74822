"""Warnings: things a passed test still wants the user to act on.

| code | when |
|---|---|
| ``no_ip_whitelist`` | the key is not IP-restricted, or the exchange does not say (lists the egress IPs) |
| ``key_expiring`` | the exchange says the key expires within ``expiry_warning_days`` (``days_left``) |
| ``permission_unconfirmed`` | the exchange did not confirm a right the connection needs (read, spot trade, futures) |
| ``key_reused`` | the same API key is used by another connection of this user |
| ``key_reused_elsewhere`` | the same API key is connected by someone else (nothing more is said) |

Warnings that depend on what the test saw are only emitted when the test could look
(no blocking error); the key-reuse warnings come from the gateway and are always shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bf_shared.messages import Market, TestRequested, TestWarning

from bf_tester.domain.checks import ip_list
from bf_tester.domain.facts import Facts


def _expiry(days: int, now: datetime) -> TestWarning:
    if days <= 0:
        message = "The API key has expired on the exchange; create a new one."
    else:
        on = (now + timedelta(days=days)).date().isoformat()
        plural = "day" if days == 1 else "days"
        message = (
            f"The API key expires in {days} {plural} (around {on}); renew it, or restrict it to "
            "the platform's IPs where the exchange then keeps it valid."
        )
    return TestWarning(code="key_expiring", message=message, days_left=max(days, 0))


def _unconfirmed(facts: Facts, markets: Sequence[Market]) -> TestWarning | None:
    p = facts.permissions
    missing = []
    if p.read is None:
        missing.append("read")
    if "spot" in markets and p.trade is None:
        missing.append("spot trading")
    if "futures" in markets and p.futures is None:
        missing.append("futures")
    if not missing:
        return None
    return TestWarning(
        code="permission_unconfirmed",
        message=(
            f"The exchange did not confirm these rights: {', '.join(missing)}. "
            "Strategies fail if the key lacks them."
        ),
    )


def build_warnings(
    facts: Facts,
    request: TestRequested,
    *,
    egress_ips: Sequence[str],
    expiry_warning_days: int,
    now: datetime,
) -> tuple[TestWarning, ...]:
    """The warnings of one test, in a stable order (pure)."""
    out: list[TestWarning] = []
    if not facts.blocked:
        if facts.ip_restricted is not True:
            lead = "This key has no IP whitelist" if facts.ip_restricted is False else (
                "The exchange does not say whether this key has an IP whitelist"
            )
            out.append(
                TestWarning(
                    code="no_ip_whitelist",
                    message=f"{lead}. Restrict it to {ip_list(egress_ips)}.",
                    egress_ips=tuple(egress_ips),
                )
            )
        unconfirmed = _unconfirmed(facts, request.markets)
        if unconfirmed is not None:
            out.append(unconfirmed)
    days = facts.expires_in_days
    if days is not None and days <= expiry_warning_days:
        out.append(_expiry(days, now))
    if request.key_reused == "same_user":
        out.append(
            TestWarning(
                code="key_reused",
                message="This API key is also used by another of your connections.",
            )
        )
    elif request.key_reused == "other_user":
        out.append(
            TestWarning(
                code="key_reused_elsewhere",
                message="This API key is already connected elsewhere.",
            )
        )
    return tuple(out)
