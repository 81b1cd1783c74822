"""One error body for every failure: ``{"error": {"code", "message", "fields": [...]}}``.

Validation messages are the rules' own words (``name must be 1–64 characters``). Pydantic's
``input`` (the rejected value, possibly a pasted secret) and FastAPI's copy of the raw body
are never used: nothing a client sent comes back in an error.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from bf_shared.vault import VaultError

from bf_gateway.adapters.kv import KvError
from bf_gateway.adapters.publisher import PublishFailed
from bf_gateway.domain.commands import RULE_ERROR
from bf_gateway.domain.errors import (
    Conflict,
    FieldProblem,
    GatewayError,
    InvalidInput,
    NotFound,
    TooManyAttempts,
    Unauthenticated,
    Unavailable,
)

log = logging.getLogger(__name__)

REALM = 'Bearer realm="backfuture"'
_PLAIN_NAME = re.compile(r"^[a-z][a-z_]{0,23}$")

_STATUS: list[tuple[type[GatewayError], int]] = [
    (InvalidInput, 422),
    (NotFound, 404),
    (Conflict, 409),
    (Unauthenticated, 401),
    (TooManyAttempts, 429),
    (Unavailable, 503),
]


def error_response(
    status: int,
    code: str,
    message: str,
    fields: list[FieldProblem] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The JSON error body with ``status``."""
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = [{"field": p.field, "message": p.message} for p in fields]
    return JSONResponse({"error": body}, status_code=status, headers=dict(headers or {}))


def _field_name(loc: tuple[Any, ...]) -> str:
    """``("body", "markets", 0)`` -> ``markets``: where the value sits, without list indexes."""
    if loc and loc[0] in {"body", "query", "path", "header"}:
        loc = loc[1:]
    return ".".join(str(p) for p in loc if not isinstance(p, int))


def _problem(error: dict[str, Any]) -> FieldProblem:
    field = _field_name(tuple(error.get("loc", ())))
    kind = error.get("type", "")
    if not field:  # the body as a whole
        if kind == "missing":
            return FieldProblem("body", "the request needs a JSON object body")
        return FieldProblem("body", "the body must be a JSON object (Content-Type: application/json)")
    if kind == RULE_ERROR:
        return FieldProblem(field, str(error.get("msg", f"{field} is invalid")))
    if kind == "missing":
        return FieldProblem(field, f"{field} is required")
    if kind == "extra_forbidden":
        # The name itself is client input: repeat it only if it cannot be a pasted credential.
        if _PLAIN_NAME.match(field):
            return FieldProblem(field, f"{field} is not a known field; remove it")
        return FieldProblem("body", "the body has a field this route does not accept; remove it")
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return FieldProblem(field, f"{field} has the wrong type")
    return FieldProblem(field, f"{field} is invalid")


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    broken = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if broken is not None:
        reason = str((broken.get("ctx") or {}).get("error", "syntax error"))
        position = broken.get("loc", ("body", "?"))[-1]
        return error_response(
            400, "malformed_json", f"The request body is not valid JSON ({reason} at character {position})."
        )
    problems: list[FieldProblem] = []
    for error in errors:
        problem = _problem(error)
        if problem not in problems:
            problems.append(problem)
    return error_response(422, "validation_error", "Some fields need fixing.", problems)


async def _gateway_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GatewayError)
    status = next((s for cls, s in _STATUS if isinstance(exc, cls)), 400)
    headers: dict[str, str] = {}
    fields = list(exc.problems) if isinstance(exc, InvalidInput) else None
    if isinstance(exc, Conflict) and exc.field:
        fields = [FieldProblem(exc.field, exc.message)]
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = f'{REALM}, error="invalid_token"' if exc.token_error else REALM
    if isinstance(exc, TooManyAttempts):
        headers["Retry-After"] = str(exc.retry_after_s)
    if isinstance(exc, Unavailable):
        headers["Retry-After"] = "5"
    return error_response(status, exc.code, exc.message, fields, headers)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return error_response(404, "not_found", "No such route.")
    if exc.status_code == 405:
        return error_response(405, "method_not_allowed", "This route does not accept that method.", headers=exc.headers)
    message = exc.detail if isinstance(exc.detail, str) else "The request cannot be processed."
    return error_response(exc.status_code, "http_error", message, headers=exc.headers)


async def _dependency_down(_: Request, exc: Exception) -> JSONResponse:
    # Handlers translate these where they can say what was (not) done; this is the net below.
    log.warning("a dependency failed while handling a request: %s", type(exc).__name__)
    return error_response(
        503, "unavailable", "A platform service is unavailable. Try again in a moment.", headers={"Retry-After": "5"}
    )


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    # Type and frames only: an exception's text (a pydantic error, say) could quote a secret.
    frames = " <- ".join(f"{f.name}@{f.filename.rsplit('/', 1)[-1]}:{f.lineno}" for f in reversed(traceback.extract_tb(exc.__traceback__)))
    log.error("unexpected %s while handling a request: %s", type(exc).__name__, frames)
    return error_response(500, "internal_error", "Something went wrong on our side. Try again later.")


def install(app: FastAPI) -> None:
    """Register the error handlers on ``app``."""
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(GatewayError, _gateway_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for unavailable in (KvError, VaultError, PublishFailed):
        app.add_exception_handler(unavailable, _dependency_down)
    app.add_exception_handler(Exception, _unexpected)
