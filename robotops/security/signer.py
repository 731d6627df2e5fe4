"""The orchestrator's side: sign approval statements and orders with its two keys.

Two keys, two jobs: the approval key signs only statements made from recorded human approvals,
the order key signs the orders that carry them. A fleet can trust them separately, and a leak
of the order key alone cannot make a deploy look approved. Keys are read (or made) on first
use, so a client that only reads the fleet never touches them.
"""

from __future__ import annotations

import secrets
import time
from functools import cached_property
from pathlib import Path

from robotops.security.envelope import SignedEnvelope, seal
from robotops.security.keys import SigningKey, load_or_create_key
from robotops.security.orders import ApprovalStatement, DeployOrder, OrderAction


def new_nonce() -> str:
    """128 random bits, hex: never repeats in practice, so a ledger row marks a single use."""
    return secrets.token_hex(16)


class OrderSigner:
    """Signs statements and orders with the keys in ``keys_dir`` (made 0600 when missing).

    Args:
        keys_dir: folder of ``approvals.key`` and ``orchestrator.key`` (and their ``.pub``).
        order_ttl_s: how long an order stays valid after it is signed.
        approval_ttl_s: how long a statement stays valid when the approval has no expiry.
    """

    def __init__(self, keys_dir: Path, order_ttl_s: int = 600, approval_ttl_s: int = 3600):
        self.keys_dir = Path(keys_dir)
        self.order_ttl_s, self.approval_ttl_s = int(order_ttl_s), int(approval_ttl_s)

    @cached_property
    def approval_key(self) -> SigningKey:
        return load_or_create_key(self.keys_dir / "approvals.key", "approvals@orchestrator")

    @cached_property
    def order_key(self) -> SigningKey:
        return load_or_create_key(self.keys_dir / "orchestrator.key", "orders@orchestrator")

    def statement(self, statement: ApprovalStatement) -> SignedEnvelope:
        """Sign what a person approved (built by the caller from the approval record)."""
        return seal(statement, self.approval_key)

    def order(
        self,
        action: OrderAction,
        policy_version: str,
        artifact_sha256: str,
        robot_ids: list[str],
        deployment_id: str,
        approval: SignedEnvelope | None = None,
    ) -> SignedEnvelope:
        """Sign an order for exactly these robots and this deployment, valid for the TTL."""
        now = int(time.time())
        order = DeployOrder(
            order_id=f"{deployment_id}:{action}:{now}",
            action=action,
            policy_version=policy_version,
            artifact_sha256=artifact_sha256,
            robot_ids=robot_ids,
            deployment_id=deployment_id,
            approval=approval,
            issued_at=now,
            expires_at=now + self.order_ttl_s,
            nonce=new_nonce(),
        )
        return seal(order, self.order_key)
