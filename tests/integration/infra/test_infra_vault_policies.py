"""The Vault policies hold against a real OpenBao: who may write, read and fingerprint secrets."""

from __future__ import annotations

from pathlib import Path

import hvac
import hvac.exceptions
import pytest

from bf_launch.vault import OpenBaoServer
from bf_launch.vault_bootstrap import SERVICES, VaultAccess, bootstrap

PATH = "connections/infra-policy-1"
SECRET = {"api_key": "policy-key-0001", "secret": "policy-secret-0001"}


def login(access: VaultAccess, service: str) -> hvac.Client:
    client = hvac.Client(url=access.addr, timeout=5)
    creds = access.approles[service]
    client.auth.approle.login(role_id=creds.role_id, secret_id=creds.secret_id)
    return client


def write(client: hvac.Client, path: str = PATH) -> None:
    client.secrets.kv.v2.create_or_update_secret(path=path, secret=SECRET, mount_point="secret")


def read(client: hvac.Client, path: str = PATH) -> dict[str, str]:
    result = client.secrets.kv.v2.read_secret_version(path=path, mount_point="secret", raise_on_deleted_version=True)
    return dict(result["data"]["data"])


def hmac_of(client: hvac.Client) -> str:
    result = client.secrets.transit.generate_hmac(name="api-key-fingerprint", hash_input="a2V5", mount_point="transit")
    return str(result["data"]["hmac"])


def test_every_service_has_an_approle_that_logs_in(vault_server: VaultAccess) -> None:
    assert set(vault_server.approles) == set(SERVICES)
    for service in SERVICES:
        assert login(vault_server, service).is_authenticated()


def test_gateway_writes_and_fingerprints_but_reading_back_is_forbidden(vault_server: VaultAccess) -> None:
    gateway = login(vault_server, "gateway")
    write(gateway)
    write(gateway)  # a rotation is an update: a new version
    assert hmac_of(gateway).startswith("vault:v1:")

    with pytest.raises(hvac.exceptions.Forbidden):
        read(gateway)
    with pytest.raises(hvac.exceptions.Forbidden):
        gateway.secrets.kv.v2.list_secrets(path="connections", mount_point="secret")
    assert read(vault_server.client()) == SECRET  # what it wrote is really there


def test_connector_reads_but_cannot_write_delete_or_fingerprint(vault_server: VaultAccess) -> None:
    write(login(vault_server, "gateway"), "connections/infra-policy-2")
    connector = login(vault_server, "connector")

    assert read(connector, "connections/infra-policy-2") == SECRET
    with pytest.raises(hvac.exceptions.Forbidden):
        write(connector, "connections/infra-policy-2")
    with pytest.raises(hvac.exceptions.Forbidden):
        connector.secrets.kv.v2.delete_metadata_and_all_versions(path="connections/infra-policy-2", mount_point="secret")
    with pytest.raises(hvac.exceptions.Forbidden):
        hmac_of(connector)


@pytest.mark.parametrize("service", ["tester", "runner", "alerter"])
def test_services_without_secret_access_can_neither_read_nor_write(vault_server: VaultAccess, service: str) -> None:
    write(login(vault_server, "gateway"), "connections/infra-policy-3")
    client = login(vault_server, service)

    with pytest.raises(hvac.exceptions.Forbidden):
        read(client, "connections/infra-policy-3")
    with pytest.raises(hvac.exceptions.Forbidden):
        write(client, "connections/infra-policy-3")
    with pytest.raises(hvac.exceptions.Forbidden):
        hmac_of(client)


def test_bootstrap_is_idempotent_and_rotation_revokes_old_secret_ids(tmp_path: Path) -> None:
    # Its own server: rotating the session server's secret_ids would log other tests out.
    with OpenBaoServer.dev(tmp_path) as server:
        first = bootstrap(server.addr, server.root_token)
        write(login(first, "gateway"))
        second = bootstrap(server.addr, server.root_token)  # re-run: nothing breaks, data kept

        assert second.approles["gateway"].role_id == first.approles["gateway"].role_id
        assert login(first, "connector").is_authenticated()  # without rotation both stay valid
        assert read(login(second, "connector")) == SECRET

        rotated = bootstrap(server.addr, server.root_token, rotate_secret_ids=True)
        assert login(rotated, "connector").is_authenticated()
        for stale in (first, second):
            with pytest.raises(hvac.exceptions.InvalidRequest):
                login(stale, "connector")
