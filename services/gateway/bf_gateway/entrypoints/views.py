"""Response bodies, rendered in the caller's language (``Accept-Language``: en, fr, bg).

``cause``/``remedy`` of a test error and the warnings' texts come from
:func:`bf_gateway.i18n.translate`; a code it does not know keeps the tester's English text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from bf_shared.exchanges import ExchangeInfo
from bf_shared.messages import Check, Permissions, TestResult, TestWarning

from bf_gateway import i18n
from bf_gateway.domain.connections import ConnectionStatus, ConnectionView, KeyReuse
from bf_gateway.domain.users import User

#: The warning the gateway itself raises for a key that another connection also uses.
REUSE_WARNINGS: dict[KeyReuse, str] = {"same_user": "key_reused", "other_user": "key_reused_elsewhere"}


class TestErrorOut(BaseModel):
    __test__ = False

    code: str
    cause: str
    remedy: str


class WarningOut(BaseModel):
    code: str
    message: str
    remedy: str
    egress_ips: list[str] = []
    days_left: int | None = None


class LastTestOut(BaseModel):
    test_id: str
    status: Literal["passed", "failed"]
    started_at: datetime
    finished_at: datetime
    attempt: int
    checks: list[Check]
    permissions: Permissions
    ip_restricted: bool | None
    error: TestErrorOut | None
    warnings: list[WarningOut]
    next_retry_at: datetime | None
    key_expires_in_days: int | None


class CurrentTestOut(BaseModel):
    """The test the connection is waiting for while its status is ``testing``."""

    test_id: str
    reason: str | None
    requested_at: datetime
    started_at: datetime | None
    attempt: int


class AttestationOut(BaseModel):
    withdraw_disabled: bool
    by: str
    at: datetime


class ConnectionOut(BaseModel):
    id: str
    exchange: str
    name: str
    markets: list[str]
    api_key_masked: str
    status: ConnectionStatus
    current_test: CurrentTestOut | None
    last_test: LastTestOut | None
    withdraw_attested: bool
    attestation: AttestationOut | None
    warnings: list[WarningOut]
    created_at: datetime
    updated_at: datetime


class ConnectionListOut(BaseModel):
    connections: list[ConnectionOut]


class TestAcceptedOut(BaseModel):
    __test__ = False

    test_id: str


class UserOut(BaseModel):
    id: str
    email: str
    created_at: datetime


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class ExchangesOut(BaseModel):
    exchanges: list[ExchangeInfo]
    egress_ips: list[str]


def user_out(user: User) -> UserOut:
    return UserOut(id=user.id, email=user.email, created_at=user.created_at)


def warning_out(warning: TestWarning, lang: str, egress_ips: tuple[str, ...]) -> WarningOut:
    """A tester warning in ``lang``; a missing egress list is filled with the platform's."""
    ips = list(warning.egress_ips or (egress_ips if warning.code == "no_ip_whitelist" else ()))
    text = i18n.translate(warning.code, lang, days_left=warning.days_left, egress_ips=ips)
    message, remedy = (text.cause, text.remedy) if text else (warning.message, "")
    return WarningOut(code=warning.code, message=message, remedy=remedy, egress_ips=ips, days_left=warning.days_left)


def last_test_out(result: TestResult, lang: str, egress_ips: tuple[str, ...]) -> LastTestOut:
    error = None
    if result.error is not None:
        text = i18n.translate(result.error.code, lang)
        cause, remedy = (text.cause, text.remedy) if text else (result.error.cause, result.error.remedy)
        error = TestErrorOut(code=result.error.code, cause=cause, remedy=remedy)
    return LastTestOut(
        test_id=result.test_id,
        status=result.status,
        started_at=result.started_at,
        finished_at=result.finished_at,
        attempt=result.attempt,
        checks=list(result.checks),
        permissions=result.permissions,
        ip_restricted=result.ip_restricted,
        error=error,
        warnings=[warning_out(w, lang, egress_ips) for w in result.warnings],
        next_retry_at=result.next_retry_at,
        key_expires_in_days=result.key_expires_in_days,
    )


def connection_out(view: ConnectionView, lang: str, egress_ips: tuple[str, ...] = ()) -> ConnectionOut:
    """The API's view of a connection: masked key only, texts in ``lang``.

    ``warnings`` is what to show now: the last test's warnings, except that key reuse is
    the view's current flag (the gateway keeps it for every connection on a key as others
    join or leave), not what the key looked like when that test was requested.
    """
    last = last_test_out(view.last_test, lang, egress_ips) if view.last_test else None
    reuse_codes = set(REUSE_WARNINGS.values())
    warnings = [w for w in last.warnings if w.code not in reuse_codes] if last else []
    reuse_code = REUSE_WARNINGS.get(view.key_reused)
    if reuse_code:
        warnings.append(warning_out(TestWarning(code=reuse_code, message=reuse_code), lang, egress_ips))
    pending = view.pending_test
    current = (
        CurrentTestOut(
            test_id=pending.test_id,
            reason=pending.reason,
            requested_at=pending.since,
            started_at=pending.started_at,
            attempt=pending.attempt,
        )
        if pending and view.status == "testing"
        else None
    )
    attestation = view.attestation
    return ConnectionOut(
        id=view.id,
        exchange=view.exchange,
        name=view.name,
        markets=list(view.markets),
        api_key_masked=view.api_key_masked,
        status=view.status,
        current_test=current,
        last_test=last,
        withdraw_attested=view.withdraw_attested,
        attestation=AttestationOut(withdraw_disabled=True, by=attestation.by, at=attestation.at) if attestation else None,
        warnings=warnings,
        created_at=view.created_at,
        updated_at=view.updated_at,
    )
