"""What users ask the gateway to do, validated where the data enters.

Each model is frozen, rejects unknown fields, and holds secrets as ``SecretStr``. Field
rules come from :mod:`bf_gateway.domain.rules`; a broken rule becomes a pydantic error of
type ``bf_rule`` whose message is the user-facing text (the HTTP layer shows it as is).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, SecretStr, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from bf_shared.exchanges import EXCHANGES
from bf_shared.messages import Frozen, Market

from bf_gateway.domain import rules

RULE_ERROR = "bf_rule"


def _rule(check: Callable[[object], Any]) -> BeforeValidator:
    def validate(value: object) -> Any:
        try:
            return check(value)
        except rules.RuleViolation as e:
            raise PydanticCustomError(RULE_ERROR, str(e)) from None

    return BeforeValidator(validate)


def _login_password(value: object) -> str:
    # Only a bound: an old account's password is checked against its hash, not today's rules.
    if not isinstance(value, str) or not 1 <= len(value) <= rules.PASSWORD_MAX:
        raise rules.RuleViolation(f"password must be 1–{rules.PASSWORD_MAX} characters")
    return value


def _optional_passphrase(value: object) -> str | None:
    # Forms send "" for an untouched field: that is "not given".
    return None if value is None or value == "" else rules.passphrase(value)


Email = Annotated[str, _rule(rules.email)]
NewPassword = Annotated[SecretStr, _rule(rules.password)]
Password = Annotated[SecretStr, _rule(_login_password)]
Name = Annotated[str, _rule(rules.connection_name)]
ApiKey = Annotated[SecretStr, _rule(lambda v: rules.credential("api_key", v))]
Secret = Annotated[SecretStr, _rule(lambda v: rules.credential("secret", v))]
Passphrase = Annotated[SecretStr | None, _rule(_optional_passphrase)]


def passphrase_for(exchange_id: str | None, value: object) -> str | None:
    """The passphrase, required or refused according to the exchange's credential fields."""
    given = _optional_passphrase(value)
    info = EXCHANGES.get(exchange_id or "")
    if info is None:  # the exchange's own error is reported on its field
        return given
    if rules.needs_passphrase(info) and given is None:
        raise rules.RuleViolation(f"{info.name} needs the API passphrase")
    if not rules.needs_passphrase(info) and given is not None:
        raise rules.RuleViolation(f"{info.name} keys have no passphrase; leave passphrase out")
    return given


class Register(Frozen):
    """``POST /auth/register``."""

    email: Email
    password: NewPassword


class Login(Frozen):
    """``POST /auth/login``."""

    email: Email
    password: Password


class AddConnection(Frozen):
    """``POST /connections``. Field order matters: later validators read ``exchange``."""

    exchange: Annotated[str, _rule(lambda v: rules.exchange(v).id)]
    name: Name
    api_key: ApiKey
    secret: Secret
    passphrase: SecretStr | None = Field(default=None, validate_default=True)
    markets: tuple[Market, ...]

    @field_validator("passphrase", mode="before")
    @classmethod
    def _passphrase(cls, v: object, info: ValidationInfo) -> str | None:
        try:
            return passphrase_for(info.data.get("exchange"), v)
        except rules.RuleViolation as e:
            raise PydanticCustomError(RULE_ERROR, str(e)) from None

    @field_validator("markets", mode="before")
    @classmethod
    def _markets(cls, v: object, info: ValidationInfo) -> tuple[str, ...]:
        # With an unknown exchange only the shape can be checked (against any exchange's markets).
        exchange = EXCHANGES.get(info.data.get("exchange") or "") or next(iter(EXCHANGES.values()))
        try:
            return rules.markets(exchange, v)
        except rules.RuleViolation as e:
            raise PydanticCustomError(RULE_ERROR, str(e)) from None


class RotateCredentials(Frozen):
    """``PUT /connections/{id}/credentials``; the passphrase rule needs the connection's exchange."""

    api_key: ApiKey
    secret: Secret
    passphrase: Passphrase = None


class Rename(Frozen):
    """``PATCH /connections/{id}``."""

    name: Name


def _must_be_true(value: object) -> bool:
    if value is not True:
        raise rules.RuleViolation("withdraw_disabled must be true: confirm that withdrawal is disabled on this key")
    return True


class Attest(Frozen):
    """``POST /connections/{id}/attestations``: only ``{"withdraw_disabled": true}`` is accepted."""

    withdraw_disabled: Annotated[Literal[True], _rule(_must_be_true)]
