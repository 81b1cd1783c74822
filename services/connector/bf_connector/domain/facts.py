"""From probe results to :class:`~bf_shared.messages.KeyFacts`: who may claim what, and how strongly.

Three kinds of evidence exist, from strongest to weakest:

1. **a refusal** — the exchange answered "permission denied" to an action: that right is off,
   whatever else says otherwise;
2. **introspection** — a permission endpoint listed the key's rights;
3. **inference** — an action succeeded (a balance read, a test order) or the account says an
   action is impossible (MEXC ``canWithdraw: false``).

Rules that keep a weak signal from becoming a false "safe":

* ``withdraw`` is only ever ``True`` or ``False`` from introspection, or ``False`` from an
  account-level "cannot withdraw"; otherwise it stays ``None`` (unknown) and the user must
  attest (DESIGN.md, Policy).
* ``futures`` (the right to *trade* futures) is never ``True`` because the futures balance
  could be read: reading is not trading. Only introspection or an accepted futures test order
  sets it; a refused futures call sets it ``False``.
"""

from __future__ import annotations

from typing import Literal

from bf_shared.messages import Frozen, KeyFacts, Permissions, ProbeError


class Introspection(Frozen):
    """What a permission endpoint said about the key (``None`` = the endpoint does not say)."""

    read: bool | None = None
    trade: bool | None = None
    withdraw: bool | None = None
    futures: bool | None = None
    ip_restricted: bool | None = None
    expires_in_days: int | None = None


class AccountHints(Frozen):
    """Account-level flags that can only ever *deny* a right (a ``true`` proves nothing per key)."""

    can_trade: Literal[False] | None = None
    can_withdraw: Literal[False] | None = None


class PermissionReport(Frozen):
    """The result of the permissions probe: introspection when available, hints otherwise."""

    introspection: Introspection | None = None
    hints: AccountHints = AccountHints()


class Evidence(Frozen):
    """What the action probes showed: ``True`` it worked, ``False`` refused, ``None`` no answer."""

    read: bool | None = None
    trade: bool | None = None
    futures_read: bool | None = None
    futures_trade: bool | None = None


def evidence_of(error: ProbeError | None) -> bool | None:
    """``True`` when a call succeeded, ``False`` when refused for want of permission, else ``None``.

    Any other failure (bad key, exchange down, a parameter the exchange disliked) says nothing
    about the right itself.
    """
    if error is None:
        return True
    if error.code == "permission_denied":
        return False
    return None


def _first(*values: bool | None) -> bool | None:
    return next((v for v in values if v is not None), None)


def derive_key_facts(report: PermissionReport | None, evidence: Evidence) -> KeyFacts:
    """Combine introspection, account hints and action evidence into the key's facts."""
    intro = report.introspection if report is not None else None
    hints = report.hints if report is not None else AccountHints()
    i = intro or Introspection()

    def refused(*observed: bool | None) -> bool:
        return any(v is False for v in observed)

    read = False if refused(evidence.read) else _first(evidence.read, i.read)
    trade = False if refused(evidence.trade, hints.can_trade) else _first(i.trade, evidence.trade)
    withdraw = _first(i.withdraw, hints.can_withdraw)
    futures = (
        False
        if refused(evidence.futures_read, evidence.futures_trade)
        else _first(i.futures, evidence.futures_trade)
    )
    observed = (evidence.read, evidence.trade, evidence.futures_read, evidence.futures_trade,
                hints.can_trade, hints.can_withdraw)
    source: Literal["introspection", "inferred", "none"]
    if intro is not None:
        source = "introspection"
    elif any(v is not None for v in observed):
        source = "inferred"
    else:
        source = "none"
    return KeyFacts(
        permissions=Permissions(read=read, trade=trade, withdraw=withdraw, futures=futures),
        ip_restricted=i.ip_restricted,
        expires_in_days=i.expires_in_days,
        source=source,
    )
