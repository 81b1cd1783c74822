"""HvacVault's Kubernetes login mode against a scripted Vault HTTP API on loopback."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from bf_shared.settings import VaultSettings
from bf_shared.vault import HvacVault


class FakeVaultApi:
    """Just enough of Vault: kubernetes login, one KV v2 read; tokens can be expired."""

    def __init__(self) -> None:
        self.logins: list[dict[str, str]] = []
        self.valid_tokens: set[str] = set()

    async def login(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.logins.append(body)
        if body.get("role") != "connector" or not body.get("jwt", "").startswith("sa-jwt-"):
            return web.json_response({"errors": ["permission denied"]}, status=403)
        token = f"hvs.token{len(self.logins)}"
        self.valid_tokens.add(token)
        return web.json_response({"auth": {"client_token": token, "lease_duration": 3600, "renewable": True}})

    async def read(self, request: web.Request) -> web.Response:
        if request.headers.get("X-Vault-Token") not in self.valid_tokens:
            return web.json_response({"errors": ["permission denied"]}, status=403)
        data = {"api_key": "k" * 16, "secret": "s" * 32}
        return web.json_response({"data": {"data": data, "metadata": {"version": 1}}})


async def serve(api: FakeVaultApi) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/v1/auth/kube-test/login", api.login)
    app.router.add_get("/v1/secret/data/connections/{cid}", api.read)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]


async def test_kubernetes_login_uses_the_service_account_token_and_relogs_with_the_rotated_one(tmp_path: Path) -> None:
    api = FakeVaultApi()
    runner, addr = await serve(api)
    token_file = tmp_path / "token"
    token_file.write_text("sa-jwt-first\n")
    try:
        settings = VaultSettings(addr=addr, auth_method="kubernetes", k8s_role="connector", k8s_mount="kube-test",
                                 k8s_token_path=str(token_file))
        vault = HvacVault(settings)
        creds = await vault.read("c1")
        assert creds.secret.get_secret_value() == "s" * 32
        assert api.logins == [{"role": "connector", "jwt": "sa-jwt-first"}]

        # The Vault token expires and the kubelet rotated the projected token: log in again with the new one.
        api.valid_tokens.clear()
        token_file.write_text("sa-jwt-second")
        await vault.read("c1")
        assert [login["jwt"] for login in api.logins] == ["sa-jwt-first", "sa-jwt-second"]
    finally:
        await runner.cleanup()


def test_approle_stays_the_default() -> None:
    settings = VaultSettings()
    assert settings.auth_method == "approle" and settings.k8s_role == ""


def test_auth_method_is_read_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("BACKFUTURE_VAULT_AUTH_METHOD", "kubernetes")
    monkeypatch.setenv("BACKFUTURE_VAULT_K8S_ROLE", "gateway")
    settings = VaultSettings()
    assert (settings.auth_method, settings.k8s_role) == ("kubernetes", "gateway")
