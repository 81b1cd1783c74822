"""Users of the platform, as stored in the ``bf_users`` KV bucket."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal

from bf_shared.messages import Frozen


class User(Frozen):
    """One account: ``email`` is the normalised (lower-case) address; the hash is argon2id."""

    schema_version: Literal[1] = 1
    id: str
    email: str
    password_hash: str
    created_at: datetime


def user_key(email: str) -> str:
    """KV key of a user: ``email.<sha256(email)>`` (KV keys cannot hold every email character)."""
    return "email." + hashlib.sha256(email.encode()).hexdigest()
