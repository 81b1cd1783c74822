import pytest
from pydantic import SecretStr

from bf_shared.vault import Credentials, FakeVault, SecretNotFound, VaultForbidden


def _creds(secret: str = "s3cr3t-value") -> Credentials:
    return Credentials(api_key=SecretStr("key-123456789"), secret=SecretStr(secret))


async def test_versions_read_and_destroy() -> None:
    v = FakeVault()
    assert await v.put("c1", _creds("one-secret")) == 1
    assert await v.put("c1", _creds("two-secret")) == 2
    assert (await v.read("c1")).secret.get_secret_value() == "two-secret"
    assert (await v.read("c1", 1)).secret.get_secret_value() == "one-secret"
    await v.destroy("c1")
    with pytest.raises(SecretNotFound):
        await v.read("c1")


async def test_fingerprint_is_stable_and_does_not_contain_the_key() -> None:
    v = FakeVault()
    fp = await v.fingerprint("key-123456789")
    assert fp == await v.fingerprint("key-123456789") != await v.fingerprint("key-987654321")
    assert "key-123456789" not in fp


async def test_writer_without_read_policy_is_forbidden() -> None:
    v = FakeVault(can_read=False)
    await v.put("c1", _creds())
    with pytest.raises(VaultForbidden):
        await v.read("c1")


def test_credentials_repr_hides_values() -> None:
    assert "s3cr3t-value" not in repr(_creds()) and "s3cr3t-value" not in str(_creds())


@pytest.mark.parametrize("bad_id", ["../x", "a/b", "", "x y"])
async def test_connection_ids_cannot_escape_the_path(bad_id: str) -> None:
    with pytest.raises(ValueError):
        await FakeVault().put(bad_id, _creds())
