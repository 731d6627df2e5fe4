"""Ed25519 signing keys in files: created on first use, readable by their owner only.

A private key file holds the raw 32-byte seed, base64; its ``.pub`` sibling the raw public key.
The key id is the first 16 hex digits of the public key's sha256, so a verifier can name the
key an envelope claims without trusting anything else in it.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from robotops.errors import ConfigError


def key_id_of(public_raw: bytes) -> str:
    """The id a public key is known by: short, derived, impossible to claim for another key."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


def public_raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class SigningKey:
    """A private key with its id and the name of what it signs for (``approvals``, ...)."""

    name: str
    private: Ed25519PrivateKey

    @property
    def public_b64(self) -> str:
        return base64.b64encode(public_raw(self.private.public_key())).decode()

    @property
    def key_id(self) -> str:
        return key_id_of(public_raw(self.private.public_key()))

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message)


def load_or_create_key(path: Path, name: str) -> SigningKey:
    """The key at ``path``, made (mode 0600) when missing; refuse a key others can read."""
    path = Path(path)
    if not path.exists():
        _create(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(
            f"private key {path} is readable by others (mode {mode:o}); run chmod 600 {path}"
        )
    try:
        seed = base64.b64decode(path.read_text().strip(), validate=True)
        private = Ed25519PrivateKey.from_private_bytes(seed)
    except ValueError as exc:
        raise ConfigError(f"private key {path} is not a base64 Ed25519 seed: {exc}") from exc
    key = SigningKey(name=name, private=private)
    _write_public(path.with_suffix(".pub"), key.public_b64)
    return key


def _create(path: Path) -> None:
    """Write a new seed (mode 0600) and link it into place: no one ever sees a partial key,
    and when two processes race, both end up using the one that landed first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(base64.b64encode(os.urandom(32)).decode() + "\n")
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


def _write_public(path: Path, public_b64: str) -> None:
    if not path.exists() or path.read_text().strip() != public_b64:
        path.write_text(public_b64 + "\n")
