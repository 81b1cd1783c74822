"""The connection read model (``bf_connections`` KV) and the pure transitions users cause.

A view is what the API shows about one connection, stored as JSON under
``<user_id>.<connection_id>``. It never holds a secret: only the masked API key and the
key's fingerprint (a keyed HMAC from Vault transit, useless without Vault's key).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from bf_shared.messages import Frozen, Market, TestReason, TestResult

ConnectionStatus = Literal["untested", "testing", "online", "failed"]
KeyReuse = Literal["none", "same_user", "other_user"]


class Attestation(Frozen):
    """The user's statement that withdrawal is disabled on the key: who and when."""

    withdraw_disabled: Literal[True] = True
    by: str
    at: datetime


class PendingTest(Frozen):
    """The test the connection waits for (requested by the gateway or seen starting)."""

    test_id: str
    reason: TestReason | None = None
    since: datetime
    started_at: datetime | None = None
    attempt: int = 1


class ConnectionView(Frozen):
    """One connection as stored in the read model."""

    schema_version: Literal[1] = 1
    id: str
    user_id: str
    exchange: str
    name: str
    markets: tuple[Market, ...]
    api_key_masked: str
    key_fingerprint: str
    key_reused: KeyReuse = "none"
    secret_version: int
    status: ConnectionStatus
    pending_test: PendingTest | None = None
    last_test: TestResult | None = None
    attestation: Attestation | None = None
    created_at: datetime
    updated_at: datetime

    @property
    def withdraw_attested(self) -> bool:
        """Whether the user confirmed withdrawal is disabled on the current key."""
        return self.attestation is not None


def new_view(
    *,
    connection_id: str,
    user_id: str,
    exchange: str,
    name: str,
    markets: tuple[Market, ...],
    api_key_masked: str,
    key_fingerprint: str,
    key_reused: KeyReuse,
    secret_version: int,
    test_id: str,
    now: datetime,
) -> ConnectionView:
    """A freshly added connection: its first test is already requested, so it is ``testing``."""
    return ConnectionView(
        id=connection_id,
        user_id=user_id,
        exchange=exchange,
        name=name,
        markets=markets,
        api_key_masked=api_key_masked,
        key_fingerprint=key_fingerprint,
        key_reused=key_reused,
        secret_version=secret_version,
        status="testing",
        pending_test=PendingTest(test_id=test_id, reason=TestReason.ADDED, since=now),
        created_at=now,
        updated_at=now,
    )


def renamed(view: ConnectionView, name: str, now: datetime) -> ConnectionView:
    """The view under a new name."""
    return view.model_copy(update={"name": name, "updated_at": now})


def awaiting_test(view: ConnectionView, test_id: str, reason: TestReason, now: datetime) -> ConnectionView:
    """The view waiting for ``test_id``, unless that test's result has already arrived."""
    if view.last_test is not None and view.last_test.test_id == test_id:
        return view
    pending = PendingTest(test_id=test_id, reason=reason, since=now)
    return view.model_copy(update={"status": "testing", "pending_test": pending, "updated_at": now})


def credentials_rotated(
    view: ConnectionView,
    *,
    api_key_masked: str,
    key_fingerprint: str,
    key_reused: KeyReuse,
    secret_version: int,
    test_id: str,
    now: datetime,
) -> ConnectionView:
    """The view with a new key, waiting for its test.

    An attestation is about one key: the new key was never confirmed, so it is dropped
    (the user attests again if that exchange cannot report withdrawal).
    """
    rotated = view.model_copy(
        update={
            "api_key_masked": api_key_masked,
            "key_fingerprint": key_fingerprint,
            "key_reused": key_reused,
            "secret_version": secret_version,
            "attestation": None,
        }
    )
    return awaiting_test(rotated, test_id, TestReason.ROTATED, now)


def reuse_changed(view: ConnectionView, fingerprint: str, key_reused: KeyReuse, now: datetime) -> ConnectionView | None:
    """The view with a new key-reuse flag, or ``None`` when nothing changes (same flag, or the
    view moved to another key meanwhile: its own rotation decides then)."""
    if view.key_fingerprint != fingerprint or view.key_reused == key_reused:
        return None
    return view.model_copy(update={"key_reused": key_reused, "updated_at": now})


def attested(view: ConnectionView, user_id: str, test_id: str, now: datetime) -> ConnectionView:
    """The view with the user's withdrawal attestation recorded, waiting for the re-test."""
    with_attestation = view.model_copy(update={"attestation": Attestation(by=user_id, at=now)})
    return awaiting_test(with_attestation, test_id, TestReason.ATTESTED, now)
