"""``/api/v1/auth/*`` and ``/api/v1/me``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from bf_gateway.adapters.tokens import Claims
from bf_gateway.domain.commands import Login, Register
from bf_gateway.domain.errors import TooManyAttempts, Unauthenticated
from bf_gateway.entrypoints.security import deps_of, principal
from bf_gateway.entrypoints.views import TokenOut, UserOut, user_out
from bf_gateway.handlers import auth

router = APIRouter(prefix="/api/v1", tags=["auth"])

Caller = Annotated[Claims, Depends(principal)]


@router.post("/auth/register", status_code=201, response_model=UserOut)
async def register(body: Register, request: Request) -> UserOut:
    """Create an account (email is normalised to lower case; password 10–1024 characters)."""
    return user_out(await auth.register(body, deps_of(request).auth))


@router.post("/auth/login", response_model=TokenOut)
async def login(body: Login, request: Request) -> TokenOut:
    """A bearer token valid ``expires_in`` seconds. Wrong email or password: 401; too many tries: 429."""
    deps = deps_of(request)
    client_ip = request.client.host if request.client else "unknown"
    try:
        issued = await auth.login(body, client_ip, deps.auth)
    except TooManyAttempts:
        deps.metrics.logins.labels("limited").inc()
        raise
    except Unauthenticated:
        deps.metrics.logins.labels("failed").inc()
        raise
    deps.metrics.logins.labels("ok").inc()
    return TokenOut(access_token=issued.token, expires_in=issued.expires_in)


@router.post("/auth/logout", status_code=204)
async def logout(caller: Caller, request: Request) -> Response:
    """Revoke the token used for this call (until it would have expired)."""
    await auth.logout(caller, deps_of(request).auth)
    return Response(status_code=204)


@router.get("/me", response_model=UserOut)
async def me(caller: Caller, request: Request) -> UserOut:
    """The caller's account."""
    return user_out(await auth.me(caller, deps_of(request).auth))
