"""Errors and warnings speak the caller's language; unknown codes keep the tester's text."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from bf_shared.codes import TEXTS, ErrorCode
from bf_shared.messages import Permissions, TestError, TestFailed, TestResult, TestWarning

from bf_gateway import i18n
from bf_gateway.handlers.projector import project
from bf_gateway.testing import InMemoryGateway

from .conftest import API, Headers, mexc_body


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("fr-FR,fr;q=0.9,en;q=0.8", "fr"),
        ("bg-BG", "bg"),
        ("de-DE,bg;q=0.5,fr;q=0.4", "bg"),
        ("en;q=0.2,fr;q=0.3", "fr"),
        ("fr, en", "fr"),
        ("fr;q=0,bg;q=0", "en"),
        ("de", "en"),
        ("", "en"),
        (None, "en"),
        ("fr;q=nonsense", "en"),
    ],
)
def test_pick_language_honours_q_values_and_falls_back_to_english(header: str | None, lang: str) -> None:
    assert i18n.pick_language(header) == lang


def test_every_error_code_and_warning_has_english_french_and_bulgarian_texts() -> None:
    codes = [str(c) for c in ErrorCode] + ["no_ip_whitelist", "key_expiring", "key_reused", "key_reused_elsewhere"]
    for lang in i18n.SUPPORTED:
        for code in codes:
            assert code in i18n.CATALOGUES[lang], (lang, code)
    assert i18n.translate("invalid_key", "en") == i18n.Text(*TEXTS[ErrorCode.INVALID_KEY])


def test_translate_fills_templates_and_knows_when_it_does_not_know() -> None:
    expiring = i18n.translate("key_expiring", "fr", days_left=7)
    whitelist = i18n.translate("no_ip_whitelist", "en", egress_ips=["203.0.113.10", "203.0.113.11"])

    assert expiring is not None and expiring.cause == "La clé expire dans 7 jours."
    assert whitelist is not None and whitelist.remedy.endswith(": 203.0.113.10, 203.0.113.11.")
    assert i18n.translate("invalid_key", "xx") == i18n.translate("invalid_key", "en")
    assert i18n.translate("brand_new_code", "fr") is None


async def _failed_connection(client: httpx.AsyncClient, gw: InMemoryGateway, headers: Headers) -> str:
    view = (await client.post(f"{API}/connections", headers=headers, json=mexc_body())).json()
    now = datetime(2025, 1, 6, 9, 0, 5, tzinfo=UTC)
    result = TestResult(
        test_id=view["current_test"]["test_id"], status="failed", started_at=now, finished_at=now, checks=(),
        permissions=Permissions(), ip_restricted=False,
        error=TestError(code=ErrorCode.INVALID_KEY, cause="english cause", remedy="english remedy"),
        warnings=(
            TestWarning(code="no_ip_whitelist", message="english warning"),
            TestWarning(code="shiny_new_warning", message="Tester's own words."),
        ),
    )
    event = TestFailed(connection_id=view["id"], user_id=view_user(gw), exchange="mexc", result=result)
    assert await project(event, gw.deps.projector) == "applied"
    return str(view["id"])


def view_user(gw: InMemoryGateway) -> str:
    [entry] = gw.connections_kv.data.values()
    return entry.key.split(".")[0]


async def test_a_failed_test_reads_in_french_with_the_platform_ips(client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers) -> None:
    cid = await _failed_connection(client, gw, alice)

    r = await client.get(f"{API}/connections/{cid}", headers={**alice, "Accept-Language": "fr-CH, fr;q=0.9"})

    body = r.json()
    assert body["status"] == "failed"
    assert body["last_test"]["error"] == {
        "code": "invalid_key",
        "cause": i18n.CATALOGUES["fr"]["invalid_key"].cause,
        "remedy": i18n.CATALOGUES["fr"]["invalid_key"].remedy,
    }
    known, unknown = body["warnings"]
    assert known["code"] == "no_ip_whitelist" and known["egress_ips"] == list(gw.egress_ips)
    assert known["message"] == i18n.CATALOGUES["fr"]["no_ip_whitelist"].cause
    assert "203.0.113.10, 203.0.113.11" in known["remedy"]
    assert unknown == {"code": "shiny_new_warning", "message": "Tester's own words.", "remedy": "", "egress_ips": [], "days_left": None}


async def test_without_accept_language_texts_are_english(client: httpx.AsyncClient, gw: InMemoryGateway, alice: Headers) -> None:
    cid = await _failed_connection(client, gw, alice)

    body = (await client.get(f"{API}/connections/{cid}", headers=alice)).json()

    assert body["last_test"]["error"]["cause"] == TEXTS[ErrorCode.INVALID_KEY][0]
