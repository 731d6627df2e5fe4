"""Credentials on one machine: where keys and tokens live, and pairing a local fleet.

Orchestrator side (under the data dir): ``keys/approvals.key``, ``keys/orchestrator.key``
(0600) and ``fleet_token`` (the bearer credential its fleet client sends). Fleet side (under
the fleet dir): ``trust.json`` (public keys it accepts), ``fleet_token`` (the credential it
requires, made on first start) and ``nonces.db`` (used nonces). :func:`pair_local` connects
the two on one machine (the demo, tests, a laptop): the fleet trusts the orchestrator's
public keys and the orchestrator holds the fleet's token.
"""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from robotops.errors import ConfigError
from robotops.security.signer import OrderSigner
from robotops.security.trust import load_trust, save_trust

TRUST_FILE, TOKEN_FILE, NONCE_DB = "trust.json", "fleet_token", "nonces.db"


@dataclass(frozen=True)
class FleetCredentials:
    """What a fleet client needs to be let in and to be obeyed."""

    token: str | None
    signer: OrderSigner | None


def read_token(path: Path) -> str | None:
    """The token in ``path`` (None when there is no file); refuse a file others can read."""
    path = Path(path)
    if not path.is_file():
        return None
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(f"token file {path} is readable by others (mode {mode:o}); chmod 600")
    token = path.read_text().strip()
    if len(token) < 32:
        raise ConfigError(f"token file {path} holds {len(token)} characters; need at least 32")
    return token


def write_token(path: Path, token: str) -> None:
    """Write ``token`` owner-only, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token + "\n")
    os.replace(tmp, path)


def ensure_token(path: Path) -> str:
    """The token in ``path``, made (256 random bits) on first use."""
    token = read_token(path)
    if token is None:
        write_token(path, secrets.token_urlsafe(32))
        token = read_token(path)
    assert token is not None
    return token


def trust_signer(fleet_dir: Path, signer: OrderSigner) -> None:
    """Make the fleet at ``fleet_dir`` trust ``signer``'s approval and order keys."""
    path = Path(fleet_dir) / TRUST_FILE
    trust = load_trust(path).with_key(signer.approval_key, ["approval"])
    save_trust(path, trust.with_key(signer.order_key, ["order"]))


def pair_local(fleet_dir: Path, data_dir: Path) -> FleetCredentials:
    """Pair an orchestrator (``data_dir``) with a fleet (``fleet_dir``) on this machine.

    Creates whatever is missing: the orchestrator's keys, the fleet's token; adds the keys to
    the fleet's trust file and copies the token to ``data_dir/fleet_token``. Idempotent.
    """
    signer = OrderSigner(Path(data_dir) / "keys")
    trust_signer(fleet_dir, signer)
    token = ensure_token(Path(fleet_dir) / TOKEN_FILE)
    if read_token(Path(data_dir) / TOKEN_FILE) != token:
        write_token(Path(data_dir) / TOKEN_FILE, token)
    return FleetCredentials(token=token, signer=signer)
