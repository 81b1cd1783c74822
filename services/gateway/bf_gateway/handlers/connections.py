"""Connection use cases: add, rename, rotate, test, attest, delete, read.

Order of effects, chosen so that a failure leaves nothing half-stored and a retry works:

* add: validate (the command) -> fingerprint the key (Vault transit; no state) -> Vault
  write -> view (create-if-absent) -> fingerprint entry -> ``ConnectionAdded`` and
  ``TestRequested``. Any failure after the Vault write undoes what was stored (secret
  destroyed, view and fingerprint removed) and answers 503. The fingerprint is computed
  first so that a transit failure cannot strand a secret, and so the key-reuse warning is
  in the view from the start.
* rotate: Vault write (new version) -> view -> fingerprint entries -> events. A Vault version
  cannot be taken back, so later failures answer 503 and a retry writes one more version.
* test and attest: the events go out first, then the view: a view never says "testing" or
  "attested" for a command that was not sent (the alerter turns ``ConnectionAttested`` into
  the user's immutable audit record).
* delete: Vault destroy -> ``ConnectionDeleted`` -> fingerprint entry -> view. The view goes
  last so that a failed delete can be retried by the user.

The key-reuse warning is on *every* connection that shares a key, not only on the one just
added: after an add, a rotation or a delete changes who uses a key, the other connections
on it get their flag recomputed (:func:`_share_reuse`). That step is best effort: a failure
leaves a stale warning for a while, never a lost change, so the user's request still succeeds.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bf_shared import subjects
from bf_shared.logs import forget_secret, register_secret
from bf_shared.masking import mask_api_key
from bf_shared.messages import (
    ConnectionAdded,
    ConnectionAttested,
    ConnectionCredentialsRotated,
    ConnectionDeleted,
    ConnectionRenamed,
    TestReason,
    TestRequested,
)
from bf_shared.vault import Credentials, SecretWriter, VaultError

from bf_gateway.adapters.kv import KvError
from bf_gateway.adapters.publisher import PublishFailed, Publisher
from bf_gateway.adapters.repositories import ConnectionStore, FingerprintStore
from bf_gateway.domain import rules
from bf_gateway.domain.commands import AddConnection, Rename, RotateCredentials, passphrase_for
from bf_gateway.domain.connections import (
    ConnectionView,
    KeyReuse,
    attested,
    awaiting_test,
    credentials_rotated,
    new_view,
    renamed,
    reuse_changed,
)
from bf_gateway.domain.errors import Conflict, FieldProblem, InvalidInput, NotFound, Unavailable
from bf_gateway.handlers.locks import UserLocks

log = logging.getLogger(__name__)

NOT_FOUND = "No such connection."
#: A test requested this recently is still the answer to "test now": clicking Test twice
#: does not double the calls made to the exchange with the user's key.
COALESCE_TESTS = timedelta(seconds=30)


@dataclass(frozen=True)
class ConnectionDeps:
    views: ConnectionStore
    fingerprints: FingerprintStore
    vault: SecretWriter
    publisher: Publisher
    clock: Callable[[], datetime]
    new_id: Callable[[], str]
    max_per_user: int = 100
    locks: UserLocks = field(default_factory=UserLocks)


@contextlib.contextmanager
def _unavailable(what: str) -> Iterator[None]:
    """Translate a dependency failure into :class:`Unavailable` (no secret in the message)."""
    try:
        yield
    except VaultError:
        raise Unavailable(f"The secret store is unavailable; {what}. Try again in a moment.") from None
    except (KvError, PublishFailed):
        raise Unavailable(f"The platform's message bus is unavailable; {what}. Try again in a moment.") from None


@contextlib.contextmanager
def _registered(credentials: Credentials) -> Iterator[None]:
    """Make the values unloggable while this request handles them."""
    values = [credentials.api_key, credentials.secret, credentials.passphrase]
    plain = [v.get_secret_value() for v in values if v is not None]
    for value in plain:
        register_secret(value)
    try:
        yield
    finally:
        for value in plain:
            forget_secret(value)


def key_reuse(owners: dict[str, str], user_id: str, connection_id: str | None = None) -> KeyReuse:
    """Who else uses the key: another user's connection weighs more than the user's own."""
    others = {cid: uid for cid, uid in owners.items() if cid != connection_id}
    if any(uid != user_id for uid in others.values()):
        return "other_user"
    return "same_user" if others else "none"


def _test_requested(view: ConnectionView, test_id: str, reason: TestReason) -> TestRequested:
    return TestRequested(
        test_id=test_id,
        connection_id=view.id,
        user_id=view.user_id,
        exchange=view.exchange,
        markets=view.markets,
        reason=reason,
        withdraw_attested=view.withdraw_attested,
        secret_version=view.secret_version,
        key_reused=view.key_reused,
    )


def _set_reuse(fingerprint: str, reuse: KeyReuse, now: datetime) -> Callable[[ConnectionView], ConnectionView | None]:
    return lambda view: reuse_changed(view, fingerprint, reuse, now)


async def _share_reuse(fingerprint: str, deps: ConnectionDeps, *, changed: str) -> None:
    """Recompute the key-reuse flag of every connection on ``fingerprint`` after ``changed``
    joined or left it (its own flag too: two users adding one key at once may each have seen
    the key unused). Best effort: see the module docstring."""
    try:
        owners = await deps.fingerprints.owners(fingerprint)
        now = deps.clock()
        for connection_id, owner in owners.items():
            reuse = key_reuse(owners, owner, connection_id)
            await deps.views.mutate(owner, connection_id, _set_reuse(fingerprint, reuse, now))
    except KvError as e:
        log.warning("key-reuse flags of the connections sharing %s's key not updated (%s)", changed, type(e).__name__)


async def _owned(deps: ConnectionDeps, user_id: str, connection_id: str) -> ConnectionView:
    with _unavailable("nothing was changed"):
        view = await deps.views.get(user_id, connection_id)
    if view is None:
        raise NotFound(NOT_FOUND)
    return view


async def list_connections(user_id: str, deps: ConnectionDeps) -> list[ConnectionView]:
    """The user's connections, oldest first."""
    with _unavailable("the list cannot be read"):
        return await deps.views.list(user_id)


async def get_connection(user_id: str, connection_id: str, deps: ConnectionDeps) -> ConnectionView:
    """One of the user's connections; another user's id is :class:`NotFound`."""
    return await _owned(deps, user_id, connection_id)


async def add_connection(cmd: AddConnection, user_id: str, deps: ConnectionDeps) -> ConnectionView:
    """Store the key in Vault, create the view, and request the first test."""
    credentials = Credentials(api_key=cmd.api_key, secret=cmd.secret, passphrase=cmd.passphrase)
    async with deps.locks.hold(user_id):
        with _unavailable("nothing was saved"):
            existing = await deps.views.list(user_id)
        if any(v.name.casefold() == cmd.name.casefold() for v in existing):
            raise Conflict(f"You already have a connection named “{cmd.name}”.", code="duplicate_name", field="name")
        if len(existing) >= deps.max_per_user:
            raise Conflict(f"You can have at most {deps.max_per_user} connections.", code="limit_reached")
        with _registered(credentials):
            api_key = credentials.api_key.get_secret_value()
            with _unavailable("nothing was saved"):
                fingerprint = await deps.vault.fingerprint(api_key)
                owners = await deps.fingerprints.owners(fingerprint)
            connection_id = deps.new_id()
            try:
                version = await deps.vault.put(connection_id, credentials)
            except VaultError:
                # A write that timed out may still have landed: do not leave it behind.
                with contextlib.suppress(Exception):
                    await deps.vault.destroy(connection_id)
                raise Unavailable("The secret store is unavailable; nothing was saved. Try again in a moment.") from None
            test_id = deps.new_id()
            view = new_view(
                connection_id=connection_id,
                user_id=user_id,
                exchange=cmd.exchange,
                name=cmd.name,
                markets=cmd.markets,
                api_key_masked=mask_api_key(api_key),
                key_fingerprint=fingerprint,
                key_reused=key_reuse(owners, user_id),
                secret_version=version,
                test_id=test_id,
                now=deps.clock(),
            )
            await _store_new(view, test_id, deps)
    await _share_reuse(view.key_fingerprint, deps, changed=view.id)
    return view


async def _store_new(view: ConnectionView, test_id: str, deps: ConnectionDeps) -> None:
    stored, announced = False, False
    try:
        await deps.views.create(view)
        stored = True
        await deps.fingerprints.add(view.key_fingerprint, view.id, view.user_id)
        added = ConnectionAdded(
            connection_id=view.id,
            user_id=view.user_id,
            exchange=view.exchange,
            name=view.name,
            markets=view.markets,
            api_key_masked=view.api_key_masked,
            secret_version=view.secret_version,
            occurred_at=view.created_at,
        )
        await deps.publisher.publish(subjects.CONNECTION_ADDED, added)
        announced = True
        await deps.publisher.publish(subjects.TEST_REQUESTED, _test_requested(view, test_id, TestReason.ADDED))
    except (KvError, PublishFailed):
        await _undo_add(view, deps, stored=stored, announced=announced)
        raise Unavailable("The platform's message bus is unavailable; nothing was saved. Try again in a moment.") from None


async def _undo_add(view: ConnectionView, deps: ConnectionDeps, *, stored: bool, announced: bool) -> None:
    """Best effort: whatever cannot be undone is logged (by id only) for an operator."""
    steps: list[tuple[str, Callable[[], Awaitable[None]]]] = [
        ("destroy the secret", lambda: deps.vault.destroy(view.id)),
    ]
    if stored:
        steps.append(("remove the fingerprint", lambda: deps.fingerprints.remove(view.key_fingerprint, view.id)))
        steps.append(("remove the view", lambda: deps.views.delete(view.user_id, view.id)))
    if announced:
        deleted = ConnectionDeleted(connection_id=view.id, user_id=view.user_id, exchange=view.exchange)
        steps.append(("announce the deletion", lambda: deps.publisher.publish(subjects.CONNECTION_DELETED, deleted)))
    for what, step in steps:
        try:
            await step()
        except Exception as e:  # keep undoing the rest
            log.error("undoing connection %s: could not %s (%s)", view.id, what, type(e).__name__)


async def rename_connection(connection_id: str, cmd: Rename, user_id: str, deps: ConnectionDeps) -> ConnectionView:
    """Give the connection a new name (unique per user, case-insensitive)."""
    async with deps.locks.hold(user_id):
        with _unavailable("nothing was changed"):
            views = await deps.views.list(user_id)
        current = next((v for v in views if v.id == connection_id), None)
        if current is None:
            raise NotFound(NOT_FOUND)
        if any(v.id != connection_id and v.name.casefold() == cmd.name.casefold() for v in views):
            raise Conflict(f"You already have a connection named “{cmd.name}”.", code="duplicate_name", field="name")
        if current.name == cmd.name:
            return current
        now = deps.clock()
        with _unavailable("the name was not changed"):
            view = await deps.views.mutate(user_id, connection_id, lambda v: renamed(v, cmd.name, now))
            if view is None:
                raise NotFound(NOT_FOUND)
            event = ConnectionRenamed(connection_id=connection_id, user_id=user_id, name=cmd.name)
            await deps.publisher.publish(subjects.CONNECTION_RENAMED, event)
    return view


async def rotate_credentials(
    connection_id: str, cmd: RotateCredentials, user_id: str, deps: ConnectionDeps
) -> ConnectionView:
    """Store a new key version, and re-test the connection with it."""
    async with deps.locks.hold(user_id):
        current = await _owned(deps, user_id, connection_id)
        given = cmd.passphrase.get_secret_value() if cmd.passphrase is not None else None
        try:
            passphrase_for(current.exchange, given)
        except rules.RuleViolation as e:
            raise InvalidInput([FieldProblem("passphrase", str(e))]) from None
        credentials = Credentials(api_key=cmd.api_key, secret=cmd.secret, passphrase=cmd.passphrase)
        with _registered(credentials):
            api_key = credentials.api_key.get_secret_value()
            with _unavailable("the key was not changed"):
                fingerprint = await deps.vault.fingerprint(api_key)
                reuse = key_reuse(await deps.fingerprints.owners(fingerprint), user_id, connection_id)
                version = await deps.vault.put(connection_id, credentials)
            test_id, now = deps.new_id(), deps.clock()
            with _unavailable("the new key is stored but not yet in use; send it again"):
                view = await deps.views.mutate(
                    user_id,
                    connection_id,
                    lambda v: credentials_rotated(
                        v,
                        api_key_masked=mask_api_key(api_key),
                        key_fingerprint=fingerprint,
                        key_reused=reuse,
                        secret_version=version,
                        test_id=test_id,
                        now=now,
                    ),
                )
                if view is None:  # deleted meanwhile: do not leave the new version behind
                    await deps.vault.destroy(connection_id)
                    raise NotFound(NOT_FOUND)
                if current.key_fingerprint != fingerprint:
                    await deps.fingerprints.remove(current.key_fingerprint, connection_id)
                await deps.fingerprints.add(fingerprint, connection_id, user_id)
                rotated = ConnectionCredentialsRotated(
                    connection_id=connection_id,
                    user_id=user_id,
                    exchange=view.exchange,
                    api_key_masked=view.api_key_masked,
                    secret_version=version,
                )
                await deps.publisher.publish(subjects.CONNECTION_CREDENTIALS_ROTATED, rotated)
                await deps.publisher.publish(subjects.TEST_REQUESTED, _test_requested(view, test_id, TestReason.ROTATED))
    # The replaced keys serve nothing any more: destroy them, so only the current key is ever
    # readable. Best effort: the rotation itself is done; a failure is logged by id only.
    try:
        await deps.vault.destroy_versions_before(connection_id, version)
    except VaultError:
        log.warning("connection %s: replaced key versions not destroyed (vault unavailable)", connection_id)
    if current.key_fingerprint != fingerprint:
        await _share_reuse(current.key_fingerprint, deps, changed=connection_id)
        await _share_reuse(fingerprint, deps, changed=connection_id)
    return view


async def request_test(connection_id: str, user_id: str, deps: ConnectionDeps) -> str:
    """Ask for a new test; returns its id (or the id of one requested moments ago).

    A background periodic re-check of an Online connection (pending, status still
    ``online``) is not reused: the user asked to watch a test, so one is requested and the
    connection shows ``testing`` until it reports.
    """
    current = await _owned(deps, user_id, connection_id)
    now = deps.clock()
    pending = current.pending_test
    if pending is not None and now - (pending.started_at or pending.since) < COALESCE_TESTS:
        background = pending.reason == TestReason.PERIODIC and current.status == "online"
        if not background:
            return pending.test_id
    test_id = deps.new_id()
    with _unavailable("no test was started"):
        await deps.publisher.publish(subjects.TEST_REQUESTED, _test_requested(current, test_id, TestReason.MANUAL))
        await deps.views.mutate(user_id, connection_id, lambda v: awaiting_test(v, test_id, TestReason.MANUAL, now))
    return test_id


async def attest_withdraw_disabled(connection_id: str, user_id: str, deps: ConnectionDeps) -> ConnectionView:
    """Record the user's confirmation that the key cannot withdraw (audited from the event), re-test."""
    current = await _owned(deps, user_id, connection_id)
    test_id, now = deps.new_id(), deps.clock()
    confirmed = attested(current, user_id, test_id, now)
    event = ConnectionAttested(connection_id=connection_id, user_id=user_id, occurred_at=now)
    with _unavailable("the confirmation was not recorded"):
        await deps.publisher.publish(subjects.CONNECTION_ATTESTED, event)
        await deps.publisher.publish(subjects.TEST_REQUESTED, _test_requested(confirmed, test_id, TestReason.ATTESTED))
        view = await deps.views.mutate(user_id, connection_id, lambda v: attested(v, user_id, test_id, now))
    if view is None:
        raise NotFound(NOT_FOUND)
    return view


async def delete_connection(connection_id: str, user_id: str, deps: ConnectionDeps) -> None:
    """Destroy every version of the secret, announce it (strategies stop), drop the view."""
    async with deps.locks.hold(user_id):
        current = await _owned(deps, user_id, connection_id)
        with _unavailable("the connection was not deleted"):
            await deps.vault.destroy(connection_id)
            event = ConnectionDeleted(connection_id=connection_id, user_id=user_id, exchange=current.exchange)
            await deps.publisher.publish(subjects.CONNECTION_DELETED, event)
            await deps.fingerprints.remove(current.key_fingerprint, connection_id)
            await deps.views.delete(user_id, connection_id)
    await _share_reuse(current.key_fingerprint, deps, changed=connection_id)
