"""Approval requests and the append-only, hash-chained audit log, in SQL.

Same portable SQLAlchemy as the catalog (SQLite file by default, PostgreSQL by URL). Rows are
only ever inserted into the audit table; :meth:`ApprovalStore.verify_audit` recomputes the
chain so a changed or deleted line is detected.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, Text, create_engine, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from robotops.errors import NotFoundError
from robotops.memory.approval_models import ApprovalPublic, AuditEntry

GENESIS = "0" * 64


class _Base(DeclarativeBase):
    pass


class ApprovalRow(_Base):
    __tablename__ = "approvals"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    action: Mapped[str] = mapped_column(String(32))
    artifact_sha256: Mapped[str] = mapped_column(String(64), index=True)
    targets: Mapped[list] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict] = mapped_column(JSON)
    risk: Mapped[str] = mapped_column(String(8))
    thread_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    requested_by: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    decision_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    used_by: Mapped[str | None] = mapped_column(String(128), nullable=True)


class AuditRow(_Base):
    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(128))
    event: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    detail: Mapped[dict] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


def _entry_hash(
    prev: str, seq: int, at: datetime, actor: str, event: str, request_id: str | None, detail: dict
) -> str:
    body = json.dumps(
        [prev, seq, at.isoformat(), actor, event, request_id, detail], sort_keys=True, default=str
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


class ApprovalStore:
    """Requests and audit lines; every write happens in one transaction with its audit line."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = create_engine(url)
        _Base.metadata.create_all(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    @staticmethod
    def public(row: ApprovalRow) -> ApprovalPublic:
        data = {c.name: getattr(row, c.name) for c in ApprovalRow.__table__.columns}
        for key in ("created_at", "decided_at"):
            if data[key] is not None:
                data[key] = _aware(data[key])
        return ApprovalPublic.model_validate(data)

    def get_row(self, session: Session, request_id: str) -> ApprovalRow:
        row = session.get(ApprovalRow, request_id, with_for_update=True)
        if row is None:
            raise NotFoundError("approval request", request_id)
        return row

    def get(self, request_id: str) -> ApprovalPublic:
        with self.transaction() as s:
            return self.public(self.get_row(s, request_id))

    def list(self, status: str | None = None) -> list[ApprovalPublic]:
        with self.transaction() as s:
            query = select(ApprovalRow).order_by(ApprovalRow.created_at)
            if status:
                query = query.where(ApprovalRow.status == status)
            return [self.public(r) for r in s.scalars(query)]

    def audit(
        self,
        session: Session,
        actor: str,
        event: str,
        request_id: str | None,
        detail: dict[str, Any],
    ) -> None:
        """Append one audit line, chained to the previous one."""
        last = session.scalars(select(AuditRow).order_by(AuditRow.seq.desc()).limit(1)).first()
        seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS)
        at = datetime.now(UTC)
        session.add(
            AuditRow(
                seq=seq,
                at=at,
                actor=actor,
                event=event,
                request_id=request_id,
                detail=detail,
                prev_hash=prev,
                hash=_entry_hash(prev, seq, at, actor, event, request_id, detail),
            )
        )

    def audit_log(self) -> list[AuditEntry]:
        with self.transaction() as s:
            rows = s.scalars(select(AuditRow).order_by(AuditRow.seq)).all()
            return [
                AuditEntry(
                    seq=r.seq,
                    at=_aware(r.at),
                    actor=r.actor,
                    event=r.event,
                    request_id=r.request_id,
                    detail=r.detail,
                    prev_hash=r.prev_hash,
                    hash=r.hash,
                )
                for r in rows
            ]

    def verify_audit(self) -> int | None:
        """The seq of the first line that does not chain, or None when the log is intact."""
        prev, expected_seq = GENESIS, 1
        for e in self.audit_log():
            want = _entry_hash(prev, e.seq, e.at, e.actor, e.event, e.request_id, e.detail)
            if e.seq != expected_seq or e.prev_hash != prev or e.hash != want:
                return e.seq
            prev, expected_seq = e.hash, e.seq + 1
        return None
