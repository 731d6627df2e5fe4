"""Labels in the catalog: who labeled which segment with what, and what was built from them.

Four tables on the catalog's declarative base (same engine, same SQL dialect rules):

* ``labeler_versions``: one row per labeler version (backend, model hash or endpoint + model,
  vocabulary hash) with its quarantine flag;
* ``labels``: one row per label a version found on a segment (value, confidence, segment and
  frame times, and the labeler's identity again, so a label read alone still says who made it);
* ``segment_labelings``: one row per segment and version that was tried, ``ok`` or ``error``
  with the reason: what makes labeling incremental and where per-item errors are recorded;
* ``dataset_labelers``: which datasets were built from which labeler versions.

A quarantined version's labels stay stored (nothing is deleted: it is evidence), but every read
meant for use (descriptions, search, datasets) leaves them out, and the datasets already built
from it can be listed. Each labeler version is also an artifact in the lineage tables, and each
recorded dataset an artifact made from the versions it used.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, field_validator
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
    and_,
    func,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from robotops.errors import InvalidRequestError, NotFoundError
from robotops.memory.catalog import Base, Catalog, SegmentRow, utcnow
from robotops.memory.lineage import record_artifact

_IN_CHUNK = 500


class LabelerVersionRow(Base):
    """One labeler version: a backend, a model and a vocabulary, identified by their hash."""

    __tablename__ = "labeler_versions"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    labeler_id: Mapped[str] = mapped_column(String(128))
    backend: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(Text)
    vocabulary_sha: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    quarantined: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    quarantined_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    quarantine_reason: Mapped[str] = mapped_column(Text, default="")


class LabelRow(Base):
    """A label a labeler version found on a segment."""

    __tablename__ = "labels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    segment_id: Mapped[str] = mapped_column(
        ForeignKey("segments.id", ondelete="CASCADE"), index=True
    )
    log_id: Mapped[str] = mapped_column(String(64), index=True)
    labeler_version: Mapped[str] = mapped_column(ForeignKey("labeler_versions.version"), index=True)
    value: Mapped[str] = mapped_column(String(64), index=True)
    confidence: Mapped[float] = mapped_column(Float)
    segment_start_ns: Mapped[int] = mapped_column(BigInteger)
    segment_end_ns: Mapped[int] = mapped_column(BigInteger)
    frame_ns: Mapped[int] = mapped_column(BigInteger)
    labeler_id: Mapped[str] = mapped_column(String(128))
    backend: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(Text)
    vocabulary_sha: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SegmentLabelingRow(Base):
    """That a labeler version tried a segment, and how it went."""

    __tablename__ = "segment_labelings"

    segment_id: Mapped[str] = mapped_column(
        ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True
    )
    labeler_version: Mapped[str] = mapped_column(
        ForeignKey("labeler_versions.version"), primary_key=True
    )
    log_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    error: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[list[str]] = mapped_column(JSON, default=list)
    frames: Mapped[int] = mapped_column(Integer, default=0)
    labeled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DatasetLabelerRow(Base):
    """A dataset was built with labels from a labeler version."""

    __tablename__ = "dataset_labelers"

    dataset_sha: Mapped[str] = mapped_column(String(64), primary_key=True)
    labeler_version: Mapped[str] = mapped_column(
        ForeignKey("labeler_versions.version"), primary_key=True
    )
    name: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


TABLES = [
    LabelerVersionRow.__table__,
    LabelRow.__table__,
    SegmentLabelingRow.__table__,
    DatasetLabelerRow.__table__,
]


class _Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    @field_validator("created_at", "quarantined_at", mode="after", check_fields=False)
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        """SQLite hands back naive datetimes; every time stored here is UTC."""
        return value.replace(tzinfo=UTC) if value and value.tzinfo is None else value


class LabelerVersion(_Public):
    """A labeler version as recorded."""

    version: str
    sha256: str
    labeler_id: str
    backend: str
    model: str
    vocabulary_sha: str
    created_at: datetime
    quarantined: bool
    quarantined_at: datetime | None = None
    quarantine_reason: str = ""


class StoredLabel(_Public):
    """A label as stored, with everything that says where it came from."""

    segment_id: str
    log_id: str
    labeler_version: str
    value: str
    confidence: float
    segment_start_ns: int
    segment_end_ns: int
    frame_ns: int
    labeler_id: str
    backend: str
    model: str
    vocabulary_sha: str
    created_at: datetime


class Labeling(BaseModel):
    """One segment's result from a run, ready to store."""

    segment_id: str
    log_id: str
    start_ns: int
    end_ns: int
    labels: list[tuple[str, float, int]] = []  # (value, confidence, frame_ns)
    frames: int = 0
    error: str | None = None
    notes: list[str] = []


class LabelStore:
    """Labels, labeler versions and dataset sources in the catalog's database."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        Base.metadata.create_all(catalog.engine, tables=TABLES)

    # -- labeler versions ---------------------------------------------------------------
    def ensure_version(
        self,
        *,
        version: str,
        sha256: str,
        labeler_id: str,
        backend: str,
        model: str,
        vocabulary_sha: str,
    ) -> LabelerVersion:
        """Record a labeler version (and its lineage artifact) unless it exists; return it."""
        with self.catalog.transaction() as session:
            row = session.get(LabelerVersionRow, version)
            if row is None:
                row = LabelerVersionRow(
                    version=version,
                    sha256=sha256,
                    labeler_id=labeler_id,
                    backend=backend,
                    model=model,
                    vocabulary_sha=vocabulary_sha,
                )
                session.add(row)
                record_artifact(
                    session,
                    sha256=sha256,
                    kind="labeler",
                    produced_by=labeler_id,
                    tool_version=version,
                    uri=model,
                    meta={
                        "version": version,
                        "backend": backend,
                        "vocabulary_sha256": vocabulary_sha,
                    },
                )
            session.flush()
            return LabelerVersion.model_validate(row)

    def get_version(self, ref: str) -> LabelerVersion:
        """The version named ``ref``, or the only one starting with it.

        Raises:
            NotFoundError: none matches. InvalidRequestError: several do.
        """
        with self.catalog.session() as session:
            row = session.get(LabelerVersionRow, ref)
            if row is None:
                rows = list(
                    session.scalars(
                        select(LabelerVersionRow)
                        .where(LabelerVersionRow.version.like(f"{ref}%"))
                        .limit(3)
                    )
                )
                if not rows:
                    known = list(session.scalars(select(LabelerVersionRow.version)))
                    raise NotFoundError("labeler version", ref, known)
                if len(rows) > 1:
                    raise InvalidRequestError(
                        f"labeler version {ref!r} is ambiguous (matches "
                        f"{', '.join(r.version for r in rows)}); give more of it"
                    )
                row = rows[0]
            return LabelerVersion.model_validate(row)

    def versions(self) -> list[LabelerVersion]:
        with self.catalog.session() as session:
            rows = session.scalars(
                select(LabelerVersionRow).order_by(
                    LabelerVersionRow.created_at, LabelerVersionRow.version
                )
            )
            return [LabelerVersion.model_validate(r) for r in rows]

    def quarantined(self) -> list[str]:
        with self.catalog.session() as session:
            return list(
                session.scalars(
                    select(LabelerVersionRow.version).where(LabelerVersionRow.quarantined.is_(True))
                )
            )

    def set_quarantined(self, version: str, reason: str) -> bool:
        """Quarantine ``version``; returns False if it already was."""
        with self.catalog.transaction() as session:
            row = session.get(LabelerVersionRow, version)
            if row is None:
                raise NotFoundError("labeler version", version)
            if row.quarantined:
                return False
            row.quarantined, row.quarantined_at = True, utcnow()
            row.quarantine_reason = reason
            return True

    def counts(self, version: str) -> dict[str, int]:
        """Labels, labeled segments and errored segments of a version."""
        with self.catalog.session() as session:
            labels = (
                session.scalar(select(func.count()).where(LabelRow.labeler_version == version)) or 0
            )
            by_status = dict(
                session.execute(
                    select(SegmentLabelingRow.status, func.count())
                    .where(SegmentLabelingRow.labeler_version == version)
                    .group_by(SegmentLabelingRow.status)
                )
                .tuples()
                .all()
            )
        return {
            "labels": labels,
            "segments": by_status.get("ok", 0),
            "errors": by_status.get("error", 0),
        }

    # -- labeling ---------------------------------------------------------------------
    def done_segments(self, version: str, segment_ids: Sequence[str]) -> set[str]:
        """Which of ``segment_ids`` this version already labeled successfully."""
        done: set[str] = set()
        with self.catalog.session() as session:
            for start in range(0, len(segment_ids), _IN_CHUNK):
                chunk = list(segment_ids[start : start + _IN_CHUNK])
                done.update(
                    session.scalars(
                        select(SegmentLabelingRow.segment_id).where(
                            SegmentLabelingRow.labeler_version == version,
                            SegmentLabelingRow.status == "ok",
                            SegmentLabelingRow.segment_id.in_(chunk),
                        )
                    )
                )
        return done

    def save(self, session: Session, version: LabelerVersion, results: Iterable[Labeling]) -> None:
        """Store one run's results for some segments inside the caller's transaction.

        A segment that failed before and now succeeds replaces its error; a success is never
        replaced by a later error of the same version (nothing already stored is lost).
        """
        for result in results:
            key = (result.segment_id, version.version)
            old = session.get(SegmentLabelingRow, key)
            if old is not None and old.status == "ok":
                continue
            status = "error" if result.error else "ok"
            if old is None:
                session.add(
                    SegmentLabelingRow(
                        segment_id=result.segment_id,
                        labeler_version=version.version,
                        log_id=result.log_id,
                        status=status,
                        error=result.error or "",
                        notes=result.notes[:20],
                        frames=result.frames,
                    )
                )
            else:
                old.status, old.error, old.frames = status, result.error or "", result.frames
                old.notes, old.labeled_at = result.notes[:20], utcnow()
            if result.error:
                continue
            for value, confidence, frame_ns in result.labels:
                session.add(
                    LabelRow(
                        segment_id=result.segment_id,
                        log_id=result.log_id,
                        labeler_version=version.version,
                        value=value,
                        confidence=confidence,
                        segment_start_ns=result.start_ns,
                        segment_end_ns=result.end_ns,
                        frame_ns=frame_ns,
                        labeler_id=version.labeler_id,
                        backend=version.backend,
                        model=version.model,
                        vocabulary_sha=version.vocabulary_sha,
                    )
                )
        session.flush()

    def errors(self, version: str | None = None, limit: int = 50) -> list[tuple[str, str, str]]:
        """(segment, version, error) of segments whose labeling failed."""
        query = select(
            SegmentLabelingRow.segment_id,
            SegmentLabelingRow.labeler_version,
            SegmentLabelingRow.error,
        ).where(SegmentLabelingRow.status == "error")
        if version is not None:
            query = query.where(SegmentLabelingRow.labeler_version == version)
        with self.catalog.session() as session:
            rows = session.execute(query.order_by(SegmentLabelingRow.segment_id).limit(limit))
            return [tuple(r) for r in rows]  # type: ignore[misc]

    # -- reading labels for use ----------------------------------------------------------
    def active_labels(
        self, segment_ids: Sequence[str], values: Sequence[str] | None = None
    ) -> dict[str, list[StoredLabel]]:
        """Labels of ``segment_ids`` from versions that are not quarantined: what search,
        descriptions and any dataset built from now on may use."""
        out: dict[str, list[StoredLabel]] = defaultdict(list)
        with self.catalog.session() as session:
            for start in range(0, len(segment_ids), _IN_CHUNK):
                chunk = list(segment_ids[start : start + _IN_CHUNK])
                query = (
                    select(LabelRow)
                    .join(
                        LabelerVersionRow,
                        and_(
                            LabelerVersionRow.version == LabelRow.labeler_version,
                            LabelerVersionRow.quarantined.is_(False),
                        ),
                    )
                    .where(LabelRow.segment_id.in_(chunk))
                )
                if values is not None:
                    query = query.where(LabelRow.value.in_(list(values)))
                for row in session.scalars(query.order_by(LabelRow.segment_id, LabelRow.id)):
                    out[row.segment_id].append(StoredLabel.model_validate(row))
        return dict(out)

    def labeled_segments(self) -> list[str]:
        """Every segment with at least one label, from any version."""
        with self.catalog.session() as session:
            query = select(LabelRow.segment_id).distinct().order_by(LabelRow.segment_id)
            return list(session.scalars(query))

    def segments_labeled_by(self, version: str) -> list[str]:
        with self.catalog.session() as session:
            return list(
                session.scalars(
                    select(LabelRow.segment_id)
                    .where(LabelRow.labeler_version == version)
                    .distinct()
                )
            )

    # -- datasets -----------------------------------------------------------------------
    def record_dataset(
        self, dataset_sha: str, labeler_versions: Iterable[str], name: str = ""
    ) -> None:
        """Record that a dataset was built from labels of ``labeler_versions`` (and the lineage
        edges dataset -> labeler versions).

        Raises:
            InvalidRequestError: one of the versions is quarantined: its labels may not feed a
                new dataset.
        """
        versions = sorted(set(labeler_versions))
        with self.catalog.transaction() as session:
            rows = {
                r.version: r
                for r in session.scalars(
                    select(LabelerVersionRow).where(LabelerVersionRow.version.in_(versions))
                )
            }
            missing = [v for v in versions if v not in rows]
            if missing:
                raise NotFoundError("labeler version", missing[0], sorted(rows))
            bad = [v for v in versions if rows[v].quarantined]
            if bad:
                raise InvalidRequestError(
                    f"labeler version(s) {', '.join(bad)} are quarantined: build the dataset "
                    "from labels of other versions (LabelStore.active_labels leaves them out)"
                )
            record_artifact(
                session,
                sha256=dataset_sha,
                kind="dataset",
                produced_by="robotops.memory.labels",
                tool_version="",
                parents=[(rows[v].sha256, "labeled-by") for v in versions],
                meta={"name": name} if name else None,
            )
            for v in versions:
                if session.get(DatasetLabelerRow, (dataset_sha, v)) is None:
                    session.add(
                        DatasetLabelerRow(dataset_sha=dataset_sha, labeler_version=v, name=name)
                    )

    def datasets_built_from(self, version: str) -> list[str]:
        with self.catalog.session() as session:
            return list(
                session.scalars(
                    select(DatasetLabelerRow.dataset_sha)
                    .where(DatasetLabelerRow.labeler_version == version)
                    .order_by(DatasetLabelerRow.created_at, DatasetLabelerRow.dataset_sha)
                )
            )

    def update_descriptions(self, session: Session, descriptions: dict[str, str]) -> None:
        """Write new segment descriptions inside the caller's transaction."""
        for segment_id, text in descriptions.items():
            session.execute(
                update(SegmentRow).where(SegmentRow.id == segment_id).values(description=text)
            )
