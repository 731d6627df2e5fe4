"""The catalog: what robotops knows about every log, segment, event and artifact, in SQL.

SQLAlchemy 2 with typed ORM tables and only portable SQL, so the same code runs on the default
SQLite file and on a PostgreSQL URL. Writes happen in :meth:`Catalog.transaction`: one
transaction per log, so a failed ingest leaves nothing behind. Reads return pydantic ``*Public``
models, detached from any session, so callers never hold database state.

Every stored thing is also an *artifact* (content hash, kind, tool and version that made it)
linked to its parents by provenance edges; :mod:`robotops.memory.lineage` answers "what was this
made from" and "what was made from this" over those tables.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from robotops.errors import ConfigError, InvalidRequestError, NotFoundError
from robotops.settings import Settings

_HEX_RE = re.compile(r"^[0-9a-f]{4,64}$")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of the catalog tables."""


class LogRow(Base):
    """One ingested log, keyed by the sha256 of its content (or of its file manifest)."""

    __tablename__ = "logs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_path: Mapped[str] = mapped_column(Text)
    robot_id: Mapped[str] = mapped_column(String(128), index=True, default="")
    site: Mapped[str] = mapped_column(String(128), index=True, default="")
    format: Mapped[str] = mapped_column(String(32))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    start_ns: Mapped[int] = mapped_column(BigInteger, index=True)
    end_ns: Mapped[int] = mapped_column(BigInteger)
    message_count: Mapped[int] = mapped_column(BigInteger)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    notes: Mapped[list[str]] = mapped_column(JSON, default=list)
    ingested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    tool: Mapped[str] = mapped_column(String(128))
    tool_version: Mapped[str] = mapped_column(String(64))


class TopicRow(Base):
    """One topic (channel) of a log: its type, encoding, count and whether it decodes."""

    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    log_id: Mapped[str] = mapped_column(ForeignKey("logs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Text)
    schema_name: Mapped[str] = mapped_column(Text, default="")
    schema_encoding: Mapped[str] = mapped_column(String(32), default="")
    encoding: Mapped[str] = mapped_column(String(32), default="")
    message_count: Mapped[int] = mapped_column(BigInteger, default=0)
    decoded_ok: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")


class SegmentRow(Base):
    """A fixed time window of a log with its cheap features and a description in words."""

    __tablename__ = "segments"

    id: Mapped[str] = mapped_column(String(96), primary_key=True)
    log_id: Mapped[str] = mapped_column(ForeignKey("logs.id", ondelete="CASCADE"), index=True)
    start_ns: Mapped[int] = mapped_column(BigInteger, index=True)
    end_ns: Mapped[int] = mapped_column(BigInteger)
    features: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    description: Mapped[str] = mapped_column(Text, default="")
    thumbnail_sha: Mapped[str | None] = mapped_column(String(64), nullable=True)


class EventRow(Base):
    """Something a robot reported (an Event message, a diagnostic or log error)."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    log_id: Mapped[str] = mapped_column(ForeignKey("logs.id", ondelete="CASCADE"), index=True)
    time_ns: Mapped[int] = mapped_column(BigInteger, index=True)
    topic: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(64), index=True)
    severity: Mapped[str] = mapped_column(String(32), default="")
    detail: Mapped[str] = mapped_column(Text, default="")


class RobotRow(Base):
    """A robot robotops has heard of, from any source: the fleet API, the edge agent, or a log
    ingested from a file (so a robot no fleet API knows can still be asked about)."""

    __tablename__ = "robots"

    robot_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    site: Mapped[str] = mapped_column(String(128), default="")
    source: Mapped[str] = mapped_column(String(32), default="ingest")  # fleet, edge, ingest
    id_source: Mapped[str] = mapped_column(String(64), default="")  # how the id was found
    first_seen_ns: Mapped[int] = mapped_column(BigInteger, default=0)
    last_seen_ns: Mapped[int] = mapped_column(BigInteger, default=0)


class IncidentRow(Base):
    """Something went wrong on a robot at a time: flagged by the fleet API or the edge agent,
    or found at ingest by a trigger rule. ``cause`` stays empty until triage diagnoses it."""

    __tablename__ = "incidents"

    id: Mapped[str] = mapped_column(String(160), primary_key=True)
    robot_id: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    time_ns: Mapped[int] = mapped_column(BigInteger, index=True)
    onset_ns: Mapped[int] = mapped_column(BigInteger, default=0)  # when it began, <= time_ns
    source: Mapped[str] = mapped_column(String(32), index=True)  # fleet, edge, ingest
    log_id: Mapped[str | None] = mapped_column(
        ForeignKey("logs.id", ondelete="CASCADE"), index=True, nullable=True
    )
    rule: Mapped[str] = mapped_column(String(128), default="")
    topic: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(32), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    cause: Mapped[str] = mapped_column(String(64), default="")
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)


class ArtifactRow(Base):
    """Any content-addressed thing robotops stored or produced: logs, thumbnails, cuts, ..."""

    __tablename__ = "artifacts"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    uri: Mapped[str] = mapped_column(Text, default="")
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    produced_by: Mapped[str] = mapped_column(String(128))
    tool_version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)


class ProvenanceRow(Base):
    """An edge ``child --relation--> parent``: the child was made from the parent."""

    __tablename__ = "provenance"

    child_sha: Mapped[str] = mapped_column(
        ForeignKey("artifacts.sha256", ondelete="CASCADE"), primary_key=True
    )
    parent_sha: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    relation: Mapped[str] = mapped_column(String(32), default="derived-from")


class _Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    @field_validator("ingested_at", "created_at", mode="after", check_fields=False)
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        """SQLite hands back naive datetimes; every time the catalog stores is UTC."""
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class LogPublic(_Public):
    """A log as the catalog describes it."""

    id: str
    source_path: str
    robot_id: str
    site: str
    format: str
    size_bytes: int
    start_ns: int
    end_ns: int
    message_count: int
    meta: dict[str, Any] = Field(default_factory=dict)
    files: list[dict[str, Any]] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    ingested_at: datetime
    tool: str
    tool_version: str


class TopicPublic(_Public):
    name: str
    schema_name: str
    schema_encoding: str
    encoding: str
    message_count: int
    decoded_ok: bool | None
    note: str


class SegmentPublic(_Public):
    id: str
    log_id: str
    start_ns: int
    end_ns: int
    features: dict[str, Any]
    description: str
    thumbnail_sha: str | None


class EventPublic(_Public):
    log_id: str
    time_ns: int
    topic: str
    kind: str
    severity: str
    detail: str


class RobotPublic(_Public):
    robot_id: str
    site: str
    source: str
    id_source: str
    first_seen_ns: int
    last_seen_ns: int


class IncidentPublic(_Public):
    id: str
    robot_id: str
    kind: str
    time_ns: int
    onset_ns: int
    source: str
    log_id: str | None
    rule: str
    topic: str
    severity: str
    detail: str
    cause: str
    confidence: float | None


INCIDENT_SOURCES = ("fleet", "edge", "ingest")


class ArtifactPublic(_Public):
    sha256: str
    kind: str
    uri: str
    size_bytes: int
    produced_by: str
    tool_version: str
    created_at: datetime
    meta: dict[str, Any] = Field(default_factory=dict)


class Catalog:
    """The SQL catalog behind one SQLAlchemy URL (SQLite file by default, or PostgreSQL)."""

    def __init__(self, url: str) -> None:
        try:
            parsed = make_url(url)
        except Exception as exc:  # SQLAlchemy raises ArgumentError and friends
            raise ConfigError(f"catalog URL {url!r} is not a SQLAlchemy URL: {exc}") from exc
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        self.url = url
        self.engine: Engine = create_engine(url)
        if parsed.get_backend_name() == "sqlite":
            event.listen(self.engine, "connect", _sqlite_foreign_keys)
        Base.metadata.create_all(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Catalog:
        return cls(settings.catalog_url())

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits together when the block ends, or not at all."""
        with self._sessions.begin() as session:
            yield session

    def has_log(self, log_id: str) -> bool:
        with self._sessions() as session:
            return session.get(LogRow, log_id) is not None

    def get_log(self, ref: str) -> LogPublic:
        """The log whose id is ``ref`` or starts with it (at least 4 hex digits).

        Raises:
            NotFoundError: no log, or more than one, matches.
        """
        with self._sessions() as session:
            row = _by_prefix(session, LogRow, LogRow.id, ref, "log")
            return LogPublic.model_validate(row)

    def list_logs(
        self, robot_id: str | None = None, site: str | None = None, limit: int | None = None
    ) -> list[LogPublic]:
        """Logs, oldest recording first, optionally for one robot or site."""
        query = select(LogRow).order_by(LogRow.start_ns, LogRow.id)
        if robot_id is not None:
            query = query.where(LogRow.robot_id == robot_id)
        if site is not None:
            query = query.where(LogRow.site == site)
        if limit is not None:
            query = query.limit(limit)
        with self._sessions() as session:
            return [LogPublic.model_validate(row) for row in session.scalars(query)]

    def logs_from_source(self, source_path: str) -> list[LogPublic]:
        """Logs ingested from ``source_path`` (absolute), newest ingest first."""
        query = (
            select(LogRow)
            .where(LogRow.source_path == source_path)
            .order_by(LogRow.ingested_at.desc())
        )
        with self._sessions() as session:
            return [LogPublic.model_validate(row) for row in session.scalars(query)]

    def topics(self, log_id: str) -> list[TopicPublic]:
        query = select(TopicRow).where(TopicRow.log_id == log_id).order_by(TopicRow.name)
        with self._sessions() as session:
            return [TopicPublic.model_validate(row) for row in session.scalars(query)]

    def segments(
        self, log_id: str, start_ns: int | None = None, end_ns: int | None = None
    ) -> list[SegmentPublic]:
        """Segments of a log in time order, optionally only those overlapping a window."""
        query = select(SegmentRow).where(SegmentRow.log_id == log_id)
        if start_ns is not None:
            query = query.where(SegmentRow.end_ns > start_ns)
        if end_ns is not None:
            query = query.where(SegmentRow.start_ns <= end_ns)
        with self._sessions() as session:
            rows = session.scalars(query.order_by(SegmentRow.start_ns))
            return [SegmentPublic.model_validate(row) for row in rows]

    def events(self, log_id: str | None = None, kind: str | None = None) -> list[EventPublic]:
        query = select(EventRow).order_by(EventRow.time_ns, EventRow.id)
        if log_id is not None:
            query = query.where(EventRow.log_id == log_id)
        if kind is not None:
            query = query.where(EventRow.kind == kind)
        with self._sessions() as session:
            return [EventPublic.model_validate(row) for row in session.scalars(query)]

    def counts(self, log_id: str) -> dict[str, int]:
        """How many topics, segments and events a log has in the catalog."""
        with self._sessions() as session:
            return {
                name: session.scalar(select(func.count()).where(table.log_id == log_id)) or 0
                for name, table in (
                    ("topics", TopicRow),
                    ("segments", SegmentRow),
                    ("events", EventRow),
                )
            }

    def robots(self) -> list[RobotPublic]:
        """Every robot the catalog has heard of, by id."""
        with self._sessions() as session:
            rows = session.scalars(select(RobotRow).order_by(RobotRow.robot_id))
            return [RobotPublic.model_validate(row) for row in rows]

    def note_robot(
        self, robot_id: str, *, site: str = "", source: str, id_source: str = "", seen_ns: int = 0
    ) -> None:
        """Record (or refresh) a robot heard of from ``source``; a known robot keeps its first
        source and gains the newest sighting."""
        with self.transaction() as session:
            upsert_robot(
                session,
                robot_id,
                site=site,
                source=source,
                id_source=id_source,
                start_ns=seen_ns,
                end_ns=seen_ns,
            )

    def add_incidents(self, incidents: list[dict[str, Any]]) -> int:
        """Store incidents (dicts of :class:`IncidentRow` fields); one already stored (same id)
        is kept as it is. Returns how many were new."""
        with self.transaction() as session:
            return add_incident_rows(session, incidents)

    def incidents(
        self,
        robot_id: str | None = None,
        source: str | None = None,
        log_id: str | None = None,
        kind: str | None = None,
        limit: int | None = None,
    ) -> list[IncidentPublic]:
        """Incidents in time order, optionally for one robot, source, log or kind."""
        query = select(IncidentRow).order_by(IncidentRow.time_ns, IncidentRow.id)
        for column, value in (
            (IncidentRow.robot_id, robot_id),
            (IncidentRow.source, source),
            (IncidentRow.log_id, log_id),
            (IncidentRow.kind, kind),
        ):
            if value is not None:
                query = query.where(column == value)
        if limit is not None:
            query = query.limit(limit)
        with self._sessions() as session:
            return [IncidentPublic.model_validate(row) for row in session.scalars(query)]

    def set_incident_cause(self, incident_id: str, cause: str, confidence: float) -> None:
        """Keep triage's diagnosis on the incident (the fleet page shows it)."""
        with self.transaction() as session:
            row = session.get(IncidentRow, incident_id)
            if row is None:
                raise NotFoundError("incident", incident_id)
            row.cause, row.confidence = cause, confidence

    def get_artifact(self, ref: str) -> ArtifactPublic:
        """The artifact whose sha256 is ``ref`` or starts with it.

        Raises:
            NotFoundError: no artifact, or more than one, matches.
        """
        with self._sessions() as session:
            row = _by_prefix(session, ArtifactRow, ArtifactRow.sha256, ref, "artifact")
            return ArtifactPublic.model_validate(row)

    def session(self) -> Session:
        """A plain read session for queries this class does not cover (close it)."""
        return self._sessions()


def upsert_robot(
    session: Session,
    robot_id: str,
    *,
    site: str = "",
    source: str,
    id_source: str = "",
    start_ns: int = 0,
    end_ns: int = 0,
) -> None:
    """Insert the robot or widen the span it was seen over (inside the caller's transaction)."""
    if source not in INCIDENT_SOURCES:
        raise InvalidRequestError(f"robot source {source!r}: expected one of {INCIDENT_SOURCES}")
    row = session.get(RobotRow, robot_id)
    if row is None:
        session.add(
            RobotRow(
                robot_id=robot_id,
                site=site,
                source=source,
                id_source=id_source,
                first_seen_ns=start_ns,
                last_seen_ns=end_ns,
            )
        )
        session.flush()
        return
    row.site = row.site or site
    row.first_seen_ns = (
        min(row.first_seen_ns or start_ns, start_ns) if start_ns else row.first_seen_ns
    )
    row.last_seen_ns = max(row.last_seen_ns, end_ns)


def add_incident_rows(session: Session, incidents: list[dict[str, Any]]) -> int:
    """Add incidents not stored yet (by id), inside the caller's transaction."""
    new = 0
    for fields in incidents:
        if fields.get("source") not in INCIDENT_SOURCES:
            raise InvalidRequestError(
                f"incident source {fields.get('source')!r}: expected one of {INCIDENT_SOURCES}"
            )
        if session.get(IncidentRow, fields["id"]) is None:
            session.add(IncidentRow(**fields))
            new += 1
    session.flush()
    return new


def _by_prefix(session: Session, table: type[Base], column: Any, ref: str, kind: str) -> Any:
    ref = ref.strip().lower()
    if not _HEX_RE.match(ref):
        raise InvalidRequestError(
            f"{ref!r} is not a valid {kind} id: give its sha256 or a prefix of at least 4 "
            "hex digits"
        )
    if len(ref) == 64:
        row = session.get(table, ref)
        if row is None:
            raise NotFoundError(kind, ref)
        return row
    rows = list(session.scalars(select(table).where(column.like(f"{ref}%")).limit(3)))
    if not rows:
        raise NotFoundError(kind, ref)
    if len(rows) > 1:
        matches = ", ".join(getattr(r, column.key)[:16] for r in rows)
        raise InvalidRequestError(
            f"{kind} prefix {ref!r} is ambiguous (matches {matches}, ...); give more digits"
        )
    return rows[0]


def _sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
