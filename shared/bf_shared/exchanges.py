"""The catalogue of supported exchanges: what the user must enter and which markets exist.

Venue behaviour (URLs, permission introspection, error codes) lives in the connector's
``exchanges/<venue>.py``; this catalogue is what every other service may know. Adding an
exchange is one entry here plus one connector venue file and its simulator fixtures.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

CredentialField = Literal["api_key", "secret", "passphrase"]


class ExchangeInfo(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    name: str
    credential_fields: tuple[CredentialField, ...]
    markets: tuple[Literal["spot", "futures"], ...]
    # Whether the exchange's API reports if a key can withdraw. When False, the
    # connection needs the user's attestation before it can be Online.
    reports_withdraw_permission: bool
    # Where the user creates an API key (shown in the dashboard).
    api_key_page: str
    # Keys without a bound IP expire on some exchanges.
    key_expires_without_ip: bool = False


EXCHANGES: dict[str, ExchangeInfo] = {
    "mexc": ExchangeInfo(
        id="mexc",
        name="MEXC",
        credential_fields=("api_key", "secret"),
        markets=("spot", "futures"),
        # apiKeyInfo is UNCONFIRMED (EXCHANGES.md): when it does not answer, withdraw is unknown.
        reports_withdraw_permission=True,
        api_key_page="https://www.mexc.com/user/openapi",
        key_expires_without_ip=True,
    ),
    "kucoin": ExchangeInfo(
        id="kucoin",
        name="KuCoin",
        credential_fields=("api_key", "secret", "passphrase"),
        markets=("spot", "futures"),
        reports_withdraw_permission=True,
        api_key_page="https://www.kucoin.com/account/api",
    ),
}


def get_exchange(exchange_id: str) -> ExchangeInfo | None:
    """The catalogue entry, or None for an unsupported exchange."""
    return EXCHANGES.get(exchange_id)
