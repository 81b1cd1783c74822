"""``GET/PUT /api/v1/notifications``: the caller's alert settings, stored for the alerter.

Stored in KV ``bf_notifications`` under the user's id (see :mod:`bf_shared.notifications`
for why the webhook signing secret lives there and not in Vault). The secret is never
returned after the response that created it; ``GET`` shows it masked.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import SecretStr

from bf_shared.logs import register_secret
from bf_shared.messages import utcnow
from bf_shared.notifications import NotificationSettings, mask_webhook_secret, new_webhook_secret

from bf_gateway.adapters.kv import KvUnavailable
from bf_gateway.adapters.tokens import Claims
from bf_gateway.domain.errors import FieldProblem, InvalidInput, Unavailable
from bf_gateway.entrypoints.security import principal
from bf_gateway.notifications.bus import OpsRouteDeps, lifespan, ops_deps
from bf_gateway.notifications.models import (
    MIN_SECRET,
    NotificationsIn,
    NotificationsOut,
    NotificationsSaved,
    webhook_url_problem,
)

router = APIRouter(prefix="/api/v1", tags=["notifications"], lifespan=lifespan)

Caller = Annotated[Claims, Depends(principal)]
Ops = Annotated[OpsRouteDeps, Depends(ops_deps)]


async def _load(deps: OpsRouteDeps, user_id: str) -> NotificationSettings | None:
    try:
        entry = await deps.notifications.get(user_id)
    except KvUnavailable:
        raise Unavailable("The settings store is unavailable; try again.") from None
    return NotificationSettings.from_kv(entry.value) if entry is not None and entry.value else None


def _out(s: NotificationSettings | None) -> NotificationsOut:
    if s is None:
        return NotificationsOut(webhook_url=None, webhook_secret_masked=None, telegram_chat_id=None,
                                enabled_rules=list(NotificationSettings(user_id="-").enabled_rules), updated_at=None)
    secret = s.webhook_secret.get_secret_value() if s.webhook_secret else None
    return NotificationsOut(
        webhook_url=s.webhook_url,
        webhook_secret_masked=mask_webhook_secret(secret) if secret else None,
        telegram_chat_id=s.telegram_chat_id,
        enabled_rules=list(s.enabled_rules),
        updated_at=s.updated_at,
    )


@router.get("/notifications", response_model=NotificationsOut)
async def get_notifications(caller: Caller, deps: Ops) -> NotificationsOut:
    """The caller's notification settings (defaults when never saved)."""
    return _out(await _load(deps, caller.user_id))


@router.put("/notifications", response_model=NotificationsSaved)
async def put_notifications(body: NotificationsIn, caller: Caller, deps: Ops) -> NotificationsSaved:
    """Replace the caller's settings; a new signing secret is returned once, when generated."""
    problems: list[FieldProblem] = []
    if body.webhook_url is not None:
        problem = webhook_url_problem(body.webhook_url, deps.allow_private_webhooks)
        if problem:
            problems.append(FieldProblem("webhook_url", problem))
    own = body.webhook_secret.get_secret_value() if body.webhook_secret else None
    if own is not None:
        register_secret(own)
        if len(own) < MIN_SECRET:
            problems.append(FieldProblem("webhook_secret", f"webhook_secret must be at least {MIN_SECRET} characters"))
    if problems:
        raise InvalidInput(problems)
    current = await _load(deps, caller.user_id)
    secret = current.webhook_secret if current else None
    generated: str | None = None
    if own is not None:
        secret = SecretStr(own)
    elif body.rotate_secret or (secret is None and body.webhook_url is not None):
        generated = new_webhook_secret()
        register_secret(generated)
        secret = SecretStr(generated)
    saved = NotificationSettings(
        user_id=caller.user_id,
        webhook_url=body.webhook_url,
        webhook_secret=secret,
        telegram_chat_id=body.telegram_chat_id,
        enabled_rules=tuple(dict.fromkeys(body.enabled_rules)),
        updated_at=utcnow(),
    )
    try:
        await deps.notifications.put(caller.user_id, saved.to_kv())
    except KvUnavailable:
        raise Unavailable("The settings were not saved; try again.") from None
    return NotificationsSaved(**_out(saved).model_dump(), webhook_secret=generated)
