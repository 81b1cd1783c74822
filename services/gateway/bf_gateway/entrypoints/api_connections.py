"""``/api/v1/connections``: add, list, read, rename, rotate, test, attest, delete.

Every route is scoped to the caller: another user's connection id answers 404, exactly
like an id that never existed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from bf_gateway.adapters.tokens import Claims
from bf_gateway.domain.commands import AddConnection, Attest, Rename, RotateCredentials
from bf_gateway.domain.connections import ConnectionView
from bf_gateway.entrypoints.security import deps_of, principal
from bf_gateway.entrypoints.views import ConnectionListOut, ConnectionOut, TestAcceptedOut, connection_out
from bf_gateway.handlers import connections as handlers
from bf_gateway.i18n import pick_language

router = APIRouter(prefix="/api/v1/connections", tags=["connections"])

Caller = Annotated[Claims, Depends(principal)]


def _out(view: ConnectionView, request: Request) -> ConnectionOut:
    lang = pick_language(request.headers.get("accept-language"))
    return connection_out(view, lang, deps_of(request).egress_ips)


@router.post("", status_code=201, response_model=ConnectionOut)
async def add(body: AddConnection, caller: Caller, request: Request, response: Response) -> ConnectionOut:
    """Store the key in Vault and start the first test (status ``testing``)."""
    view = await handlers.add_connection(body, caller.user_id, deps_of(request).connections)
    response.headers["Location"] = f"{router.prefix}/{view.id}"
    return _out(view, request)


@router.get("", response_model=ConnectionListOut)
async def list_all(caller: Caller, request: Request) -> ConnectionListOut:
    """The caller's connections, oldest first."""
    views = await handlers.list_connections(caller.user_id, deps_of(request).connections)
    return ConnectionListOut(connections=[_out(v, request) for v in views])


@router.get("/{connection_id}", response_model=ConnectionOut)
async def get_one(connection_id: str, caller: Caller, request: Request) -> ConnectionOut:
    """One connection with its status and last test."""
    view = await handlers.get_connection(caller.user_id, connection_id, deps_of(request).connections)
    return _out(view, request)


@router.patch("/{connection_id}", response_model=ConnectionOut)
async def rename(connection_id: str, body: Rename, caller: Caller, request: Request) -> ConnectionOut:
    """Rename (names are unique per user, ignoring case)."""
    view = await handlers.rename_connection(connection_id, body, caller.user_id, deps_of(request).connections)
    return _out(view, request)


@router.put("/{connection_id}/credentials", response_model=ConnectionOut)
async def rotate(connection_id: str, body: RotateCredentials, caller: Caller, request: Request) -> ConnectionOut:
    """Replace the key (a new Vault version) and re-test; a previous attestation is dropped."""
    view = await handlers.rotate_credentials(connection_id, body, caller.user_id, deps_of(request).connections)
    return _out(view, request)


@router.post("/{connection_id}/test", status_code=202, response_model=TestAcceptedOut)
async def start_test(connection_id: str, caller: Caller, request: Request) -> TestAcceptedOut:
    """Start a new test; within 30 s of the last request the pending test's id is returned."""
    test_id = await handlers.request_test(connection_id, caller.user_id, deps_of(request).connections)
    return TestAcceptedOut(test_id=test_id)


@router.post("/{connection_id}/attestations", response_model=ConnectionOut)
async def attest(connection_id: str, body: Attest, caller: Caller, request: Request) -> ConnectionOut:
    """Confirm withdrawal is disabled on the key (recorded with who and when, audited, re-tested)."""
    view = await handlers.attest_withdraw_disabled(connection_id, caller.user_id, deps_of(request).connections)
    return _out(view, request)


@router.delete("/{connection_id}", status_code=204)
async def delete(connection_id: str, caller: Caller, request: Request) -> Response:
    """Destroy every version of the secret, stop the strategies (event), remove the connection."""
    await handlers.delete_connection(connection_id, caller.user_id, deps_of(request).connections)
    return Response(status_code=204)
