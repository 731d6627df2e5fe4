"""Attacks on the store itself: edits to the SQLite file (an approvals row, an audit line, a
chain recomputed without the key) make authorization refuse, naming the first bad record;
the service refuses to start on a tampered log; the key file is owner-only."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path

import pytest

from robotops.errors import ConfigError
from robotops.memory.approval_models import Actor, ApprovalCreate, Decision
from robotops.memory.approvals import ApprovalStore, TamperedStoreError, load_or_create_key
from robotops.tools.approvals.errors import ApprovalTamperedError
from robotops.tools.approvals.service import ApprovalService

SHA = "9" * 64
STEWARD = Actor(name="rollout-steward", role="engineer", is_agent=True)
RAJ = Actor(name="raj", role="approver")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "catalog.db"


def _svc(db: Path) -> ApprovalService:
    return ApprovalService(ApprovalStore(f"sqlite:///{db}"))


def _ask(svc: ApprovalService) -> str:
    body = ApprovalCreate(action="deploy", artifact_sha256=SHA, targets=["101"], reason="canary")
    return svc.request(body, STEWARD, caused_by="maya").id


def _use(svc: ApprovalService, approval_id: str, key: str = "dep-1"):
    return svc.authorize(approval_id, "deploy", SHA, ["101"], idempotency_key=key, actor="t")


def _sql(db: Path, statement: str, *args) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute(statement, args)


def test_a_pending_request_set_to_approved_in_the_file_is_refused(db: Path):
    svc = _svc(db)
    pending = _ask(svc)
    _sql(db, "update approvals set status='approved', decided_by='raj' where id=?", pending)
    with pytest.raises(ApprovalTamperedError, match=f"approval {pending} row says approved"):
        _use(svc, pending)
    assert svc.store.audit_log(pending)[-1].event == "refused"


def test_a_rejected_request_flipped_to_approved_names_the_decision_record(db: Path):
    svc = _svc(db)
    rid = _ask(svc)
    svc.decide(rid, Decision(approve=False, comment="no"), RAJ)
    seq = svc.store.audit_log(rid)[-1].seq
    _sql(db, "update approvals set status='approved' where id=?", rid)
    with pytest.raises(
        ApprovalTamperedError, match=f"audit log says rejected by raj \\(seq {seq}\\)"
    ):
        _use(svc, rid)


def test_a_used_approval_reset_for_a_replay_is_refused(db: Path):
    svc = _svc(db)
    rid = _ask(svc)
    svc.decide(rid, Decision(approve=True), RAJ)
    _use(svc, rid, "dep-1")
    _sql(db, "update approvals set status='approved', used_by=NULL where id=?", rid)
    with pytest.raises(ApprovalTamperedError, match="audit log says used"):
        _use(svc, rid, "dep-2")


def test_widened_targets_in_the_file_are_refused(db: Path):
    svc = _svc(db)
    rid = _ask(svc)
    svc.decide(rid, Decision(approve=True), RAJ)
    _sql(db, """update approvals set targets='["101","102"]' where id=?""", rid)
    with pytest.raises(ApprovalTamperedError, match="differs from what audit record seq 1"):
        svc.authorize(rid, "deploy", SHA, ["101", "102"], idempotency_key="d", actor="t")


def test_an_edited_audit_line_stops_every_authorization_and_the_service_start(db: Path):
    svc = _svc(db)
    rid = _ask(svc)
    other = _ask(svc)
    svc.decide(rid, Decision(approve=True), RAJ)
    svc.decide(other, Decision(approve=True), RAJ)
    _sql(db, """update audit_log set detail='{"decision":"approved","comment":"x"}' where seq=3""")
    with pytest.raises(ApprovalTamperedError, match="audit record seq 3 fails verification"):
        _use(svc, other)
    with pytest.raises(TamperedStoreError, match="audit record seq 3"):
        _svc(db)  # start-up


def test_a_chain_recomputed_without_the_key_is_still_refused(db: Path):
    """An attacker who rewrites the rows and recomputes plain sha256 hashes: the HMAC fails."""
    svc = _svc(db)
    rid = _ask(svc)
    svc.decide(rid, Decision(approve=False), RAJ)
    with sqlite3.connect(db) as conn:
        rows = conn.execute("select seq, at, actor, event, request_id, detail from audit_log")
        prev = "0" * 64
        for seq, at, actor, event, request_id, detail in rows.fetchall():
            if event == "rejected":
                event = "approved"
            body = json.dumps([prev, seq, at, actor, event, request_id, json.loads(detail)])
            digest = hashlib.sha256(body.encode()).hexdigest()
            conn.execute(
                "update audit_log set event=?, prev_hash=?, hash=? where seq=?",
                (event, prev, digest, seq),
            )
            prev = digest
        conn.execute("update approvals set status='approved' where id=?", (rid,))
    with pytest.raises(ApprovalTamperedError, match="audit record seq 1 fails verification"):
        _use(svc, rid)


def test_the_key_file_is_created_owner_only_and_a_readable_one_is_refused(tmp_path: Path):
    key = tmp_path / "audit.key"
    assert load_or_create_key(key) == load_or_create_key(key)
    assert oct(os.stat(key).st_mode & 0o777) == "0o600"
    os.chmod(key, 0o644)
    with pytest.raises(ConfigError, match="readable by others"):
        load_or_create_key(key)


def test_another_key_does_not_verify_the_log(db: Path, tmp_path: Path):
    svc = _svc(db)
    _ask(svc)
    with pytest.raises(TamperedStoreError, match="seq 1"):
        ApprovalService(ApprovalStore(f"sqlite:///{db}", key_file=tmp_path / "other.key"))
