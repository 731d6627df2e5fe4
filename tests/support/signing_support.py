"""Signed statements and orders for tests: real keys, real signatures, chosen fields."""

from __future__ import annotations

import time
from pathlib import Path

from robotops.security.envelope import SignedEnvelope
from robotops.security.orders import ApprovalStatement
from robotops.security.signer import OrderSigner, new_nonce

EVIDENCE = "e" * 64


def statement(
    signer: OrderSigner,
    artifact_sha256: str,
    robot_ids: list[str],
    *,
    approval_id: str = "apr-1",
    action: str = "deploy",
    expires_in_s: int = 600,
    nonce: str | None = None,
) -> SignedEnvelope:
    """A signed approval statement for exactly these robots and this artifact."""
    now = int(time.time())
    return signer.statement(
        ApprovalStatement(
            approval_id=approval_id,
            approver="alice",
            action=action,
            artifact_sha256=artifact_sha256,
            robot_ids=robot_ids,
            evidence_sha256=EVIDENCE,
            issued_at=now,
            expires_at=now + expires_in_s,
            nonce=nonce or new_nonce(),
        )
    )


def other_signer(tmp: Path) -> OrderSigner:
    """Keys no fleet trusts: what an attacker who made their own keys signs with."""
    return OrderSigner(tmp / "attacker-keys")
