"""Who is calling: the bearer token of ``Authorization``, or ``?access_token=`` for the live feed.

The query parameter exists only because a browser's ``EventSource`` cannot set headers; it
is accepted on the SSE route alone, and log lines mask ``access_token=`` values.
"""

from __future__ import annotations

from fastapi import Request

from bf_gateway.adapters.tokens import Claims
from bf_gateway.deps import Deps
from bf_gateway.domain.errors import Unauthenticated
from bf_gateway.handlers.auth import authenticate

MAX_TOKEN_LENGTH = 4096
MISSING = "Authentication required: send the header Authorization: Bearer <access_token>."


def deps_of(request: Request) -> Deps:
    """The app's wired dependencies."""
    deps: Deps = request.app.state.deps
    return deps


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("The Authorization header must be: Bearer <access_token>.", token_error=True)
    return token.strip()


async def _verified(request: Request, token: str | None) -> Claims:
    if token is None:
        raise Unauthenticated(MISSING)
    if len(token) > MAX_TOKEN_LENGTH:
        raise Unauthenticated("Invalid access token: it is too long.", token_error=True)
    claims = await authenticate(token, deps_of(request).auth)
    request.state.claims = claims
    return claims


async def principal(request: Request) -> Claims:
    """The caller, from ``Authorization: Bearer``; 401 otherwise."""
    return await _verified(request, _bearer(request))


async def principal_for_stream(request: Request) -> Claims:
    """The caller of the live feed: the header, else the ``access_token`` query parameter."""
    token = _bearer(request)
    return await _verified(request, token if token is not None else request.query_params.get("access_token"))
