"""bf_shared.vault.HvacVault against a real OpenBao with the services' own AppRoles."""

from __future__ import annotations

import uuid

import pytest
from pydantic import SecretStr

from bf_launch.vault_bootstrap import VaultAccess
from bf_shared.vault import Credentials, HvacVault, SecretNotFound, VaultForbidden

KEY = "hv-key-7f3a9c21e0"
SECRET = "hv-secret-d41d8cd98f00"
PASSPHRASE = "hv-pass-0b1c2d"


def connection_id() -> str:
    return f"infra-{uuid.uuid4().hex[:12]}"


def creds(key: str = KEY, passphrase: str | None = PASSPHRASE) -> Credentials:
    return Credentials(
        api_key=SecretStr(key),
        secret=SecretStr(SECRET),
        passphrase=SecretStr(passphrase) if passphrase else None,
    )


async def test_put_read_rotate_destroy_round_trip(vault_server: VaultAccess) -> None:
    gateway = HvacVault(vault_server.settings("gateway"))
    connector = HvacVault(vault_server.settings("connector"))
    cid = connection_id()

    assert await gateway.put(cid, creds()) == 1
    got = await connector.read(cid)
    assert (got.api_key.get_secret_value(), got.secret.get_secret_value()) == (KEY, SECRET)
    assert got.passphrase is not None and got.passphrase.get_secret_value() == PASSPHRASE

    assert await gateway.put(cid, creds("hv-key-rotated-01", passphrase=None)) == 2
    latest = await connector.read(cid)
    assert latest.api_key.get_secret_value() == "hv-key-rotated-01" and latest.passphrase is None
    assert (await connector.read(cid, version=1)).api_key.get_secret_value() == KEY

    await gateway.destroy(cid)
    with pytest.raises(SecretNotFound):
        await connector.read(cid)
    with pytest.raises(SecretNotFound):
        await connector.read(cid, version=1)
    await gateway.destroy(cid)  # idempotent


async def test_gateway_reading_a_secret_raises_vault_forbidden(vault_server: VaultAccess) -> None:
    gateway = HvacVault(vault_server.settings("gateway"))
    cid = connection_id()
    await gateway.put(cid, creds())

    with pytest.raises(VaultForbidden) as raised:
        await gateway.read(cid)
    assert KEY not in str(raised.value) and SECRET not in str(raised.value)


async def test_connector_writing_raises_vault_forbidden(vault_server: VaultAccess) -> None:
    connector = HvacVault(vault_server.settings("connector"))
    with pytest.raises(VaultForbidden):
        await connector.put(connection_id(), creds())


async def test_reading_a_connection_that_never_existed_is_not_found(vault_server: VaultAccess) -> None:
    connector = HvacVault(vault_server.settings("connector"))
    with pytest.raises(SecretNotFound):
        await connector.read(connection_id())


async def test_fingerprint_is_stable_per_key_and_reveals_nothing(vault_server: VaultAccess) -> None:
    gateway = HvacVault(vault_server.settings("gateway"))
    again = HvacVault(vault_server.settings("gateway"))  # another process: same transit key

    first = await gateway.fingerprint(KEY)
    assert await again.fingerprint(KEY) == first
    assert await gateway.fingerprint(KEY + "x") != first
    assert KEY not in first and len(first) == 32


async def test_gateway_destroys_the_keys_a_rotation_replaced(vault_server: VaultAccess) -> None:
    gateway = HvacVault(vault_server.settings("gateway"))
    connector = HvacVault(vault_server.settings("connector"))
    cid = connection_id()
    await gateway.put(cid, creds())
    await gateway.put(cid, creds("hv-key-rotated-02"))
    assert await gateway.put(cid, creds("hv-key-rotated-03")) == 3

    await gateway.destroy_versions_before(cid, 3)

    for old in (1, 2):
        with pytest.raises(SecretNotFound):
            await connector.read(cid, version=old)
    assert (await connector.read(cid)).api_key.get_secret_value() == "hv-key-rotated-03"
    await gateway.destroy_versions_before(cid, 3)  # idempotent
    await gateway.destroy_versions_before(cid, 1)  # nothing before the first version
    await gateway.destroy(cid)
