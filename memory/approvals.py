"""Approval requests and the append-only, keyed (HMAC-SHA256) audit log, in SQL.

Same portable SQLAlchemy as the catalog (SQLite file by default, PostgreSQL by URL). Rows are
only ever inserted into the audit table. Each line's hash is an HMAC over the line and the
previous hash with a secret key that lives outside the database (an owner-only file), so
whoever can edit the database file cannot rewrite the chain: :meth:`ApprovalStore.check_audit`
names the first line that does not verify.

Writers are serialized so that the chain's ``seq`` never collides and a compare-and-set is
really atomic: SQLite transactions start with ``BEGIN IMMEDIATE`` (one writer at a time, the
others wait for the lock), PostgreSQL appends take a transaction-scoped advisory lock.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Integer,
    String,
    Text,
    create_engine,
    event,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from robotops.errors import ConfigError, NotFoundError, RobotOpsError
from robotops.memory.approval_models import ApprovalPublic, AuditEntry

GENESIS = "0" * 64
KEY_FILE = "audit.key"
_PG_AUDIT_LOCK = 0x526F626F  # any constant: the advisory lock every audit append takes
SQLITE_LOCK_WAIT_S = 60.0


class TamperedStoreError(RobotOpsError):
    """The audit log or an approval row does not verify against the keyed chain."""


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
    caused_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    binding: Mapped[dict | None] = mapped_column(JSON, nullable=True)


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


# Columns added after the first release: added in place to an older database on open.
_ADDED_COLUMNS = {"caused_by": "VARCHAR(128)", "binding": "JSON"}


def _entry_hash(
    key: bytes,
    prev: str,
    seq: int,
    at: datetime,
    actor: str,
    event: str,
    request_id: str | None,
    detail: dict,
) -> str:
    body = json.dumps(
        [prev, seq, _aware(at).isoformat(), actor, event, request_id, detail],
        sort_keys=True,
        default=str,
    )
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def load_or_create_key(path: Path) -> bytes:
    """The audit key at ``path``, created (32 random bytes, mode 0600) on first use.

    A key file others can read is refused: anyone holding the key can rewrite the chain.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(
            f"audit key {path} is readable by others (mode {mode:o}); run chmod 600 {path}"
        )
    key = path.read_text().strip()
    if len(key) < 32:
        raise ConfigError(f"audit key {path} is too short ({len(key)} chars, need >= 32)")
    return key.encode()


def default_key_path(url: str) -> Path:
    """Beside the SQLite file (the data dir by default); other databases must name a key."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        raise ConfigError(
            f"the audit key of {parsed.get_backend_name()} approval stores must be named: "
            "pass key_file (DATA_DIR/audit.key by default from the settings)"
        )
    return Path(parsed.database).resolve().parent / KEY_FILE


def _serialized_engine(url: str) -> Engine:
    """An engine whose SQLite transactions take the write lock when they begin."""
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(url)
    engine = create_engine(url, connect_args={"timeout": SQLITE_LOCK_WAIT_S})

    @event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class ApprovalStore:
    """Requests and audit lines; every write happens in one transaction with its audit line.

    Args:
        url: SQLAlchemy URL (SQLite file or PostgreSQL).
        key_file: the audit key's file; beside the SQLite file when omitted.
        key: the key itself (settings), instead of a file.
    """

    def __init__(self, url: str, key_file: Path | None = None, key: bytes | None = None) -> None:
        self.engine: Engine = _serialized_engine(url)
        self.is_postgres = self.engine.dialect.name == "postgresql"
        _Base.metadata.create_all(self.engine)
        self._add_missing_columns()
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.key = key or load_or_create_key(key_file or default_key_path(url))

    @classmethod
    def from_settings(cls, settings: Any) -> ApprovalStore:
        """The store the settings name, keyed by DATA_DIR/audit.key."""
        return cls(settings.catalog_url(), key_file=Path(settings.data_dir) / KEY_FILE)

    def _add_missing_columns(self) -> None:
        have = {c["name"] for c in inspect(self.engine).get_columns("approvals")}
        with self.engine.begin() as conn:
            for name, sql_type in _ADDED_COLUMNS.items():
                if name not in have:
                    conn.execute(text(f"ALTER TABLE approvals ADD COLUMN {name} {sql_type}"))

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One serialized transaction (SQLite: the write lock is taken at its start)."""
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
        """Append one audit line, chained and keyed to the previous one.

        The caller's transaction already holds the SQLite write lock; on PostgreSQL the
        advisory lock makes concurrent appends wait instead of colliding on ``seq``.
        """
        if self.is_postgres:
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})
        last = session.scalars(select(AuditRow).order_by(AuditRow.seq.desc()).limit(1)).first()
        seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS)
        at = datetime.now(UTC)
        detail = json.loads(json.dumps(detail, default=str))  # what the JSON column gives back
        session.add(
            AuditRow(
                seq=seq,
                at=at,
                actor=actor,
                event=event,
                request_id=request_id,
                detail=detail,
                prev_hash=prev,
                hash=_entry_hash(self.key, prev, seq, at, actor, event, request_id, detail),
            )
        )
        session.flush()

    @staticmethod
    def entries(session: Session, request_id: str | None = None) -> list[AuditEntry]:
        query = select(AuditRow).order_by(AuditRow.seq)
        if request_id is not None:
            query = query.where(AuditRow.request_id == request_id)
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
            for r in session.scalars(query)
        ]

    def audit_log(self, request_id: str | None = None) -> list[AuditEntry]:
        """Every line in order (or only those about ``request_id``)."""
        with self.transaction() as s:
            return self.entries(s, request_id)

    def first_bad_line(self, session: Session) -> tuple[int, str] | None:
        """(seq, why) of the first line that does not verify, or None when the log is intact."""
        prev, expected_seq = GENESIS, 1
        for e in self.entries(session):
            want = _entry_hash(
                self.key, prev, e.seq, e.at, e.actor, e.event, e.request_id, e.detail
            )
            if e.seq != expected_seq:
                return e.seq, f"expected seq {expected_seq} (a line was removed)"
            if e.prev_hash != prev:
                return e.seq, "its prev_hash does not chain to the line before"
            if not hmac.compare_digest(e.hash, want):
                return e.seq, "its HMAC does not match its content (edited, or another key)"
            prev, expected_seq = e.hash, e.seq + 1
        return None

    def verify_audit(self) -> int | None:
        """The seq of the first line that does not verify, or None when the log is intact."""
        with self.transaction() as s:
            bad = self.first_bad_line(s)
        return bad[0] if bad else None

    def check_audit(self, session: Session | None = None) -> None:
        """Raise :class:`TamperedStoreError` naming the first bad line; nothing when intact."""
        if session is None:
            with self.transaction() as s:
                return self.check_audit(s)
        bad = self.first_bad_line(session)
        if bad:
            raise TamperedStoreError(
                f"approval store tampered: audit record seq {bad[0]} fails verification "
                f"({bad[1]}); no approval is honoured until the store is restored"
            )
        return None


def canonical_sha256(obj: Any) -> str:
    """sha256 of ``obj`` as canonical JSON (sorted keys, no spaces): stable across stores."""
    body = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()
