"""A signed envelope: a payload, the id of the key that signed it, and the Ed25519 signature.

The signature covers ``robotops/<kind>\\n`` followed by the payload's canonical JSON, so a
signature made for one kind of statement can never be passed off as another kind, and any
change to any field (or a field added) breaks it.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, TypeVar

from cryptography.exceptions import InvalidSignature
from pydantic import BaseModel, Field, ValidationError

from robotops.errors import SecurityError
from robotops.security.canonical import canonical_json
from robotops.security.keys import SigningKey
from robotops.security.trust import Role, TrustedKeys

M = TypeVar("M", bound=BaseModel)


class SignedEnvelope(BaseModel):
    """What travels: the payload as plain JSON, who signed it, and the signature (base64)."""

    payload: dict[str, Any]
    key_id: str = Field(max_length=64)
    signature: str = Field(max_length=200)


def _message(payload: dict[str, Any]) -> bytes:
    kind = str(payload.get("kind", ""))
    return f"robotops/{kind}\n".encode() + canonical_json(payload)


def seal(payload: BaseModel, key: SigningKey) -> SignedEnvelope:
    """Sign ``payload`` (a model with a ``kind`` field) with ``key``."""
    body = payload.model_dump(mode="json")
    signature = base64.b64encode(key.sign(_message(body))).decode()
    return SignedEnvelope(payload=body, key_id=key.key_id, signature=signature)


def open_envelope(envelope: SignedEnvelope, trust: TrustedKeys, role: Role, model: type[M]) -> M:
    """The payload as ``model`` if a key trusted for ``role`` signed exactly these bytes.

    Raises:
        SecurityError: unknown key, key not trusted for this role, bad signature, or a payload
            that is not a ``model``; the message says which.
    """
    what = model.__name__
    key = trust.find(envelope.key_id)
    if key is None:
        raise SecurityError("signature", f"{what} signed by unknown key {envelope.key_id!r}")
    if role not in key.roles:
        raise SecurityError(
            "signature",
            f"{what} signed by key {key.key_id} ({key.name}), which is trusted for "
            f"{', '.join(key.roles)}, not {role}",
        )
    try:
        key.public().verify(
            base64.b64decode(envelope.signature, validate=True), _message(envelope.payload)
        )
    except (InvalidSignature, binascii.Error, ValueError) as exc:
        raise SecurityError(
            "signature", f"{what} signature does not verify with key {key.key_id}"
        ) from exc
    try:
        return model.model_validate(envelope.payload)
    except ValidationError as exc:
        raise SecurityError("payload", f"signed {what} is malformed: {exc}") from exc
