"""Routes of the web dashboard, included by the gateway app.

The dashboard is plain HTML, CSS and ES modules shipped in ``static/``: nothing is built at
run time. ``GET /`` is the page; ``/app/...`` its assets; ``/app/locales/<lang>.json`` the
interface texts (the page's own catalogue plus the test-check texts of
:mod:`bf_gateway.i18n`, so each text has exactly one home); ``/app/config.json`` the
strategy presets and pair groups the strategy form pre-fills. None of it depends on the
user, and none of it ever contains a secret: the page gets everything else from ``/api/v1``
with the user's token.

Every answer carries a strict Content-Security-Policy (scripts, styles and connections only
from this origin, no inline script, no framing): a page that handles exchange keys must not
run anything it did not ship.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, JSONResponse, Response

from bf_gateway.web.config import page_config
from bf_gateway.web.texts import locale_texts

STATIC = Path(__file__).parent / "static"

SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    # Assets are small and change with each release: revalidate every time (ETag makes it cheap).
    "Cache-Control": "no-cache",
}

MEDIA_TYPES: dict[str, str] = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
}

router = APIRouter(include_in_schema=False)


def _asset(path: str) -> Path:
    """The file under ``static/`` for ``path``; 404 for anything outside it or not servable."""
    candidate = (STATIC / path).resolve()
    if not candidate.is_relative_to(STATIC.resolve()) or not candidate.is_file():
        raise HTTPException(status_code=404)
    if candidate.suffix not in MEDIA_TYPES:
        raise HTTPException(status_code=404)
    return candidate


@router.get("/")
async def index() -> FileResponse:
    """The dashboard page."""
    return FileResponse(STATIC / "index.html", media_type=MEDIA_TYPES[".html"], headers=SECURITY_HEADERS)


@router.get("/app/config.json")
async def config() -> JSONResponse:
    """The strategy presets and pair groups the strategy form pre-fills."""
    return JSONResponse(page_config(), headers=SECURITY_HEADERS)


@router.get("/app/locales/{lang}.json")
async def locale(lang: str) -> JSONResponse:
    """The interface texts of one language (``en``, ``fr``, ``bg``)."""
    texts: dict[str, Any] | None = locale_texts(lang)
    if texts is None:
        raise HTTPException(status_code=404)
    return JSONResponse(texts, headers=SECURITY_HEADERS)


@router.get("/app/{path:path}")
async def asset(path: str) -> Response:
    """A stylesheet, script or catalogue of the dashboard."""
    file = _asset(path)
    return FileResponse(file, media_type=MEDIA_TYPES[file.suffix], headers=SECURITY_HEADERS)
