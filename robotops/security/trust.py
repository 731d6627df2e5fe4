"""The fleet side's trust configuration: which public keys may sign what.

A JSON file (``FLEET_DIR/trust.json`` for the simulated fleet)::

    {"keys": [{"key_id": "...", "public_key": "<base64 raw Ed25519>",
               "roles": ["approval"], "name": "approvals@orchestrator"}]}

Role ``approval`` may sign approval statements (what a person approved), role ``order`` may
sign deploy and rollback orders (what the orchestrator asks the robots to do). A fleet with no
keys trusts nothing and refuses every order.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, Field, ValidationError, model_validator

from robotops.errors import ConfigError
from robotops.security.keys import SigningKey, key_id_of

Role = Literal["approval", "order"]


class TrustedKey(BaseModel):
    """One public key and the roles it may sign in."""

    key_id: str
    public_key: str = Field(description="base64 of the raw 32-byte Ed25519 public key")
    roles: list[Role] = Field(min_length=1)
    name: str = ""

    @model_validator(mode="after")
    def _id_matches_key(self) -> TrustedKey:
        """A key id that is not the key's own would let one key pose as another."""
        if key_id_of(self.raw()) != self.key_id:
            raise ValueError(f"key_id {self.key_id} is not the id of its public key")
        return self

    def raw(self) -> bytes:
        raw = base64.b64decode(self.public_key, validate=True)
        if len(raw) != 32:
            raise ValueError(f"public key of {self.key_id or '?'} is {len(raw)} bytes, not 32")
        return raw

    def public(self) -> Ed25519PublicKey:
        return Ed25519PublicKey.from_public_bytes(self.raw())


class TrustedKeys(BaseModel):
    """The keys a fleet trusts, by id."""

    keys: list[TrustedKey] = Field(default_factory=list)

    def find(self, key_id: str) -> TrustedKey | None:
        return next((k for k in self.keys if k.key_id == key_id), None)

    def __bool__(self) -> bool:
        return bool(self.keys)

    def with_key(self, key: SigningKey, roles: list[Role]) -> TrustedKeys:
        """These keys plus ``key`` in ``roles`` (replacing an older entry for the same id)."""
        entry = TrustedKey(key_id=key.key_id, public_key=key.public_b64, roles=roles, name=key.name)
        return TrustedKeys(keys=[k for k in self.keys if k.key_id != key.key_id] + [entry])


def load_trust(path: Path) -> TrustedKeys:
    """The trust file at ``path``; no file means no trusted keys (every order is refused)."""
    path = Path(path)
    if not path.is_file():
        return TrustedKeys()
    try:
        return TrustedKeys.model_validate(json.loads(path.read_text()))
    except (ValueError, ValidationError) as exc:
        raise ConfigError(f"trust file {path} is not valid: {exc}") from exc


def save_trust(path: Path, trust: TrustedKeys) -> None:
    """Write the trust file atomically (readers see the old or the new one, never half)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(trust.model_dump(mode="json"), indent=2, sort_keys=True))
    os.replace(tmp, path)
