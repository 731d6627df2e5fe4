"""Keys, envelopes, verify_order and the nonce ledger, on real keys and a real SQLite file."""

from __future__ import annotations

import os
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from signing_support import other_signer, statement

from robotops.errors import ConfigError, ReplayError, SecurityError
from robotops.security.envelope import SignedEnvelope, seal
from robotops.security.keys import load_or_create_key
from robotops.security.local import TRUST_FILE, pair_local, read_token
from robotops.security.nonces import NonceLedger
from robotops.security.orders import ApprovalStatement, DeployOrder
from robotops.security.signer import OrderSigner
from robotops.security.trust import TrustedKeys, load_trust
from robotops.security.verify import verify_order

SHA = "a" * 64
OTHER_SHA = "b" * 64


@pytest.fixture
def signer(tmp_path: Path) -> OrderSigner:
    return OrderSigner(tmp_path / "data" / "keys")


@pytest.fixture
def trust(tmp_path: Path, signer: OrderSigner) -> TrustedKeys:
    pair_local(tmp_path / "fleet", tmp_path / "data")
    return load_trust(tmp_path / "fleet" / TRUST_FILE)


def order(signer: OrderSigner, robots: list[str], sha: str = SHA, **kw: object) -> SignedEnvelope:
    approval = statement(signer, sha, robots)
    return signer.order("deploy", "v2", sha, robots, "d1", approval=approval, **kw)


def test_keys_are_owner_only_and_stable(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path / "k" / "a.key", "a")
    assert stat.S_IMODE((tmp_path / "k" / "a.key").stat().st_mode) == 0o600
    assert load_or_create_key(tmp_path / "k" / "a.key", "a").key_id == key.key_id
    os.chmod(tmp_path / "k" / "a.key", 0o644)
    with pytest.raises(ConfigError, match="readable by others"):
        load_or_create_key(tmp_path / "k" / "a.key", "a")


def test_pairing_trusts_both_keys_in_their_roles_and_shares_the_token(
    tmp_path: Path, signer: OrderSigner, trust: TrustedKeys
) -> None:
    roles = {k.key_id: k.roles for k in trust.keys}
    assert roles == {signer.approval_key.key_id: ["approval"], signer.order_key.key_id: ["order"]}
    assert read_token(tmp_path / "fleet" / "fleet_token") == read_token(
        tmp_path / "data" / "fleet_token"
    )


def test_a_good_order_verifies(signer: OrderSigner, trust: TrustedKeys) -> None:
    verified = verify_order(order(signer, ["101"]), trust, time.time(), ["101"], SHA)
    assert verified.statement is not None and verified.statement.approver == "alice"


def test_no_trusted_keys_refuses_everything(signer: OrderSigner) -> None:
    with pytest.raises(SecurityError, match="no trusted keys"):
        verify_order(order(signer, ["101"]), TrustedKeys(), time.time(), ["101"], SHA)


@pytest.mark.parametrize(
    "field, value", [("policy_version", "v666"), ("robot_ids", ["101", "102"]), ("nonce", "0" * 32)]
)
def test_any_changed_field_breaks_the_signature(
    signer: OrderSigner, trust: TrustedKeys, field: str, value: object
) -> None:
    signed = order(signer, ["101"])
    tampered = signed.model_copy(update={"payload": {**signed.payload, field: value}})
    with pytest.raises(SecurityError, match="signature does not verify"):
        verify_order(tampered, trust, time.time(), ["101"], SHA)


def test_a_key_is_trusted_only_for_its_role(signer: OrderSigner, trust: TrustedKeys) -> None:
    """The approval key cannot sign orders, nor the order key approvals."""
    body = DeployOrder.model_validate(order(signer, ["101"]).payload)
    with pytest.raises(SecurityError, match="trusted for approval, not order"):
        verify_order(seal(body, signer.approval_key), trust, time.time(), ["101"], SHA)
    approval = ApprovalStatement.model_validate(statement(signer, SHA, ["101"]).payload)
    self_approved = seal(approval, signer.order_key)
    signed = signer.order("deploy", "v2", SHA, ["101"], "d1", approval=self_approved)
    with pytest.raises(SecurityError, match="trusted for order, not approval"):
        verify_order(signed, trust, time.time(), ["101"], SHA)


def test_other_keys_expiry_robots_and_artifact_are_each_refused(
    tmp_path: Path, signer: OrderSigner, trust: TrustedKeys
) -> None:
    now = time.time()
    forged = order(other_signer(tmp_path), ["101"])
    with pytest.raises(SecurityError, match="unknown key"):
        verify_order(forged, trust, now, ["101"], SHA)
    with pytest.raises(SecurityError, match="expired"):
        verify_order(order(signer, ["101"]), trust, now + 3600, ["101"], SHA)
    with pytest.raises(SecurityError, match="not signed for 102"):
        verify_order(order(signer, ["101"]), trust, now, ["101", "102"], SHA)
    with pytest.raises(SecurityError, match="signed for 102 too"):
        verify_order(order(signer, ["101", "102"]), trust, now, ["101"], SHA)
    with pytest.raises(SecurityError, match="artifact"):
        verify_order(order(signer, ["101"]), trust, now, ["101"], OTHER_SHA)
    with pytest.raises(SecurityError, match="deployment"):
        verify_order(order(signer, ["101"]), trust, now, ["101"], SHA, deployment_id="d2")


def test_the_embedded_approval_is_checked_too(signer: OrderSigner, trust: TrustedKeys) -> None:
    now = time.time()
    stale = statement(signer, SHA, ["101"], expires_in_s=-1)
    with pytest.raises(SecurityError, match="approval apr-1 .* expired"):
        verify_order(
            signer.order("deploy", "v2", SHA, ["101"], "d1", stale), trust, now, ["101"], SHA
        )
    wider = statement(signer, SHA, ["101", "102"])
    with pytest.raises(SecurityError, match="approval apr-1 .* robot set differs"):
        verify_order(
            signer.order("deploy", "v2", SHA, ["101"], "d1", wider), trust, now, ["101"], SHA
        )
    other = statement(signer, OTHER_SHA, ["101"])
    with pytest.raises(SecurityError, match="approval apr-1 .* artifact"):
        verify_order(
            signer.order("deploy", "v2", SHA, ["101"], "d1", other), trust, now, ["101"], SHA
        )
    train = statement(signer, SHA, ["101"], action="train")
    with pytest.raises(SecurityError, match="approves train"):
        verify_order(
            signer.order("deploy", "v2", SHA, ["101"], "d1", train), trust, now, ["101"], SHA
        )
    with pytest.raises(SecurityError, match="carries no approval"):
        verify_order(signer.order("deploy", "v2", SHA, ["101"], "d1"), trust, now, ["101"], SHA)


def test_the_ledger_binds_a_nonce_once_even_under_50_parallel_claims(tmp_path: Path) -> None:
    ledger = NonceLedger(tmp_path / "nonces.db")

    def claim(n: int) -> str:
        try:
            ledger.claim("order", "n" * 32, f"d{n}")
        except ReplayError:
            return "replay"
        return "ok"

    with ThreadPoolExecutor(50) as pool:
        results = list(pool.map(claim, range(50)))
    assert results.count("ok") == 1 and results.count("replay") == 49
    winner = ledger.bound_to("order", "n" * 32)
    assert ledger.claim("order", "n" * 32, winner or "") is False  # the same one again: a retry
