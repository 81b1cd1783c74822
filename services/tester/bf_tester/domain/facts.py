"""What a probe reply says about a key, reduced to exchange-agnostic facts.

The connector reports raw outcomes per probe plus what the exchange said about the key
(:class:`~bf_shared.messages.KeyFacts`). This module folds them into one :class:`Facts`
value that the verdict policy reads. Rules, in the order they matter:

* A probe error is classified by *which probe* hit it: ``permission_denied`` on the balance
  probe means "cannot read", on the test order "cannot trade", on the futures balance
  "no futures rights". A denied signed call (``credentials``) also means "cannot read": the
  exchange authenticated the key and then refused to show the account.
* ``permission_denied`` on the introspection probe itself and ``not_supported`` anywhere
  are not facts: the exchange simply did not tell.
* A reply-level error (nothing could run, e.g. the connector could not read the secret) is
  platform trouble unless it names a key problem: ``permission_denied`` there is the
  connector's own access, not the key's.
* ``unknown`` errors (and a reply that carries no evidence at all) are treated as
  ``exchange_unavailable``: the platform could not establish anything, so the test is
  retried (bounded) instead of blaming the key or trusting it.
* For capabilities we need (read, trade, futures) negative evidence wins: any ``False``
  (the connector's KeyFacts or a denied probe) makes the capability ``False``; otherwise a
  ``True`` from KeyFacts, a readable balance (read) or an accepted test order (trade) makes
  it ``True``; otherwise it is unknown.
* Withdrawal is taken from introspection only; no probe could ever prove it is off.
"""

from __future__ import annotations

from dataclasses import dataclass

from bf_shared.codes import RETRYABLE, ErrorCode
from bf_shared.messages import Permissions, ProbeError, ProbeName, ProbeOutcome, ProbeReply

#: Set by the tester (never by the connector) when the connector did not answer in time.
CONNECTOR_UNREACHABLE = "connector_unreachable"

#: Codes that stop the tester from learning anything else about the key, most telling first:
#: while the exchange misbehaves, an auth error may be a symptom rather than the key's fault.
BLOCKING: tuple[ErrorCode, ...] = (
    ErrorCode.EXCHANGE_UNAVAILABLE,
    ErrorCode.RATE_LIMITED,
    ErrorCode.CLOCK_SKEW,
    ErrorCode.INVALID_KEY,
    ErrorCode.INVALID_PASSPHRASE,
    ErrorCode.IP_NOT_ALLOWED,
)

# Probes whose success proves the exchange accepted a signed call with this key.
_SIGNED: frozenset[ProbeName] = frozenset(
    {
        ProbeName.CREDENTIALS,
        ProbeName.READ_BALANCE,
        ProbeName.PERMISSIONS,
        ProbeName.TRADE,
        ProbeName.FUTURES_BALANCE,
    }
)

# Which capability a denial on a probe takes away (None: the denial says nothing).
_DENIAL_TAKES: dict[ProbeName | None, str | None] = {
    ProbeName.READ_BALANCE: "read",
    ProbeName.CREDENTIALS: "read",
    ProbeName.TRADE: "trade",
    ProbeName.FUTURES_BALANCE: "futures",
    ProbeName.PERMISSIONS: None,
    ProbeName.EXCHANGE_STATUS: None,
}

# Which capability a successful probe proves. A readable futures account proves nothing
# about the right to trade futures (reading is not trading): that comes from introspection
# or the connector's futures test order, both already folded into KeyFacts.
_SUCCESS_PROVES: dict[ProbeName, str] = {
    ProbeName.READ_BALANCE: "read",
    ProbeName.TRADE: "trade",
}

# Error codes that the exchange only returns after it authenticated the key.
_AUTHENTICATED: frozenset[str] = frozenset(
    {
        "permission_denied",
        ErrorCode.NO_READ_PERMISSION,
        ErrorCode.NO_TRADE_PERMISSION,
        ErrorCode.NO_FUTURES_PERMISSION,
        ErrorCode.WITHDRAW_ENABLED,
    }
)

_PERMISSION_CODES: dict[ErrorCode, str] = {
    ErrorCode.NO_READ_PERMISSION: "read",
    ErrorCode.NO_TRADE_PERMISSION: "trade",
    ErrorCode.NO_FUTURES_PERMISSION: "futures",
}


@dataclass(frozen=True, slots=True)
class Incident:
    """One blocking error and where it happened (``probe`` None: the reply as a whole)."""

    code: ErrorCode
    probe: ProbeName | None
    error: ProbeError


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything the verdict needs, independent of the exchange."""

    incidents: tuple[Incident, ...]
    permissions: Permissions
    ip_restricted: bool | None
    expires_in_days: int | None
    key_accepted: bool
    exchange_reached: bool

    def codes(self) -> frozenset[ErrorCode]:
        """The blocking codes observed."""
        return frozenset(i.code for i in self.incidents)

    @property
    def blocked(self) -> bool:
        """True when an error kept the tester from learning the key's rights."""
        return bool(self.incidents)

    def blocker(self) -> Incident | None:
        """The incident that best explains why the test could not see more."""
        return self.first(*BLOCKING)

    def first(self, *codes: ErrorCode) -> Incident | None:
        """The first incident with one of ``codes``, in the order the codes are given."""
        for code in codes:
            for incident in self.incidents:
                if incident.code == code:
                    return incident
        return None


def classify(error: ProbeError, probe: ProbeName | None) -> ErrorCode | str | None:
    """What one error says: an ErrorCode for a blocking error, the capability name
    (``read``, ``trade``, ``futures``, ``withdraw``) for a denial, None for no fact.

    ``probe`` is the probe that hit the error (None: the reply as a whole).
    """
    code = error.code
    if code == "permission_denied":
        if probe is None:
            return ErrorCode.EXCHANGE_UNAVAILABLE
        return _DENIAL_TAKES.get(probe)
    if code == "not_supported":
        return None
    if code == "unknown":
        return ErrorCode.EXCHANGE_UNAVAILABLE
    code = ErrorCode(code)
    if code in _PERMISSION_CODES:
        return _PERMISSION_CODES[code]
    if code == ErrorCode.WITHDRAW_ENABLED:
        return "withdraw"
    if code == ErrorCode.WITHDRAW_UNCONFIRMED:  # a verdict, not a fact: ignore
        return None
    return code


def _merge(stated: bool | None, denied: bool, proven: bool) -> bool | None:
    if denied or stated is False:
        return False
    if stated is True or proven:
        return True
    return None


def gather(reply: ProbeReply) -> Facts:
    """Fold a probe reply into :class:`Facts` (pure)."""
    incidents: list[Incident] = []
    denied: set[str] = set()
    proven: set[str] = set()
    key_accepted = reply.key.source == "introspection"
    reached = False

    errors: list[tuple[ProbeError, ProbeName | None]] = []
    if reply.error is not None:
        errors.append((reply.error, None))
    for outcome in reply.outcomes:
        reached = reached or _reached(outcome)
        if outcome.ok:
            if outcome.name in _SIGNED:
                key_accepted = True
            if outcome.name in _SUCCESS_PROVES:
                proven.add(_SUCCESS_PROVES[outcome.name])
        elif outcome.error is not None:
            errors.append((outcome.error, outcome.name))
        else:  # a failed outcome without an error: the connector could not say why
            errors.append((ProbeError(code="unknown"), outcome.name))

    for error, probe in errors:
        kind = classify(error, probe)
        if isinstance(kind, ErrorCode):
            incidents.append(Incident(kind, probe, error))
            continue
        if probe in _SIGNED and error.code in _AUTHENTICATED:
            key_accepted = True  # the exchange authenticated the key, then refused the call
        if kind is not None:
            denied.add(kind)

    stated = reply.key.permissions
    withdraw = True if "withdraw" in denied else stated.withdraw
    permissions = Permissions(
        read=_merge(stated.read, "read" in denied, "read" in proven),
        trade=_merge(stated.trade, "trade" in denied, "trade" in proven),
        withdraw=withdraw,
        futures=_merge(stated.futures, "futures" in denied, "futures" in proven),
    )
    if not incidents and not key_accepted:
        # Nothing failed, yet nothing proves the key works: never judge on no evidence.
        incidents.append(Incident(ErrorCode.EXCHANGE_UNAVAILABLE, None, ProbeError(code="unknown")))

    ip_restricted = reply.key.ip_restricted
    if ip_restricted is None and any(i.code == ErrorCode.IP_NOT_ALLOWED for i in incidents):
        ip_restricted = True  # the exchange enforces a whitelist that lacks our IP
    return Facts(
        incidents=tuple(incidents),
        permissions=permissions,
        ip_restricted=ip_restricted,
        expires_in_days=reply.key.expires_in_days,
        key_accepted=key_accepted,
        exchange_reached=reached or key_accepted,
    )


def _reached(outcome: ProbeOutcome) -> bool:
    if outcome.ok:
        return True
    code = outcome.error.code if outcome.error is not None else "unknown"
    return code not in RETRYABLE and code != "unknown"
