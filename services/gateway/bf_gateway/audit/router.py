"""``GET /api/v1/audit?limit=50&before=<cursor>``: the caller's records, newest first.

Owner only by construction: the stream is read with the caller's own subject filter
(``bf.audit.<user_id>.>``); no parameter can name another user.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from bf_shared.audit import AuditRecord

from bf_gateway.adapters.tokens import Claims
from bf_gateway.domain.errors import Unavailable
from bf_gateway.entrypoints.security import principal
from bf_gateway.notifications.bus import OpsRouteDeps, lifespan, ops_deps

router = APIRouter(prefix="/api/v1", tags=["audit"], lifespan=lifespan)


class AuditItem(AuditRecord):
    """One record with its position in the trail (the paging cursor)."""

    sequence: int


class AuditPageOut(BaseModel):
    """Newest first; pass ``next_before`` as ``before`` for the next (older) page."""

    items: list[AuditItem]
    next_before: int | None


@router.get("/audit", response_model=AuditPageOut)
async def audit(
    caller: Annotated[Claims, Depends(principal)],
    deps: Annotated[OpsRouteDeps, Depends(ops_deps)],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> AuditPageOut:
    """The caller's audit trail: connection changes, tests, attestations, strategy changes."""
    try:
        page = await deps.audit.page(caller.user_id, limit, before)
    except Exception as e:
        raise Unavailable(f"The audit trail is unavailable ({type(e).__name__}); try again.") from None
    items = [AuditItem(**record.model_dump(), sequence=seq) for seq, record in page.records]
    return AuditPageOut(items=items, next_before=page.next_before)
