"""API tokens with roles. Tokens live in a JSON file; the first run writes one per role.

The role decides what an endpoint allows; approval rules (four eyes) are enforced again by the
approval service, whatever the API layer lets through.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import get_args

from pydantic import BaseModel

from robotops.memory.approval_models import Actor, Role

ROLE_RANK = {"viewer": 0, "engineer": 1, "approver": 2, "admin": 3}


class TokenRecord(BaseModel):
    name: str
    role: Role


def ensure_tokens(path: Path) -> dict[str, TokenRecord]:
    """Load the token file, creating one token per role (owner-only file) if there is none."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tokens = {
            secrets.token_urlsafe(24): {"name": f"{role}-1", "role": role}
            for role in get_args(Role)
        }
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(tokens, f, indent=2)
    raw = json.loads(path.read_text())
    return {token: TokenRecord.model_validate(rec) for token, rec in raw.items()}


def actor_for(tokens: dict[str, TokenRecord], token: str | None) -> Actor | None:
    """The person behind a bearer token, compared in constant time."""
    if not token:
        return None
    for known, rec in tokens.items():
        if secrets.compare_digest(known, token):
            return Actor(name=rec.name, role=rec.role)
    return None


def allows(actor: Actor, minimum: Role) -> bool:
    return ROLE_RANK[actor.role] >= ROLE_RANK[minimum]
