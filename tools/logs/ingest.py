"""Ingest a log: store its bytes, index it, describe its segments, catalogue it atomically.

One pass over the messages computes everything (topic counts, time range, events, segment
features and thumbnails), streaming, so memory does not grow with the size of the log. The
catalog rows of a log are written in one transaction and its new blobs are taken back if
anything fails, so the catalog never holds a half-ingested log. A log is named by the sha256 of
its content (a bag directory by the sha256 of its file manifest): ingesting the same log twice
is a no-op.

Three things run at once, so that an ingest takes about as long as its longest part rather
than the sum of them: the scan (main thread); storing the log's bytes, which hashes the stored
copy once and so also names the log (a worker thread; the scan stops early when that name turns
out to be ingested already); and embedding each segment's description as soon as the segment
closes (a second worker, when the index can embed).

Dependencies come in through :class:`IngestDeps`; the vector index is optional and only needs an
``add(docs)`` method, so ingest works (and is tested) without one. An index that also has
``embed(texts)`` (an :class:`EmbeddingIndex`) gets its vectors computed during the scan.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from robotops import __version__
from robotops.errors import LogFormatError
from robotops.memory.blobs import BlobBatch, BlobStore, LocalBlobStore, hash_file
from robotops.memory.catalog import (
    Catalog,
    EventRow,
    LogRow,
    SegmentRow,
    TopicRow,
    add_incident_rows,
    upsert_robot,
)
from robotops.memory.embedding import BackgroundEmbedder
from robotops.memory.lineage import record_artifact, record_derived
from robotops.memory.segment_docs import SegmentDoc
from robotops.settings import IngestSettings, Settings
from robotops.sim.logs.readers import (
    MCAP_MAGIC,
    READERS,
    ChannelInfo,
    LogReader,
    LogSummary,
    open_log,
)
from robotops.tools.logs.features import (
    FEATURES_VERSION,
    FeatureConfig,
    Segment,
    SegmentBuilder,
    describe,
)
from robotops.tools.logs.identity import RobotIdentity, identify
from robotops.tools.logs.salvage import SalvageResult, salvage_mcap
from robotops.tools.triggers.engine import Fired, TriggerEngine
from robotops.tools.triggers.rules import RuleSet, load_rules

TOOL = "robotops.tools.logs.ingest"
PROGRESS_EVERY = 2000
SKIPPED_SUFFIXES = (".part", ".tmp")  # files a recorder or a copy has not finished
MAX_NOTES = 25

ProgressFn = Callable[[int, int | None], None]


class SegmentIndex(Protocol):
    """The part of the vector index ingest needs (a ``delete_log(log_id)`` method, when the
    index has one, is used to take an ``add`` back if the catalogue write then fails)."""

    def add(self, docs: list[SegmentDoc]) -> Any: ...


@runtime_checkable
class EmbeddingIndex(Protocol):
    """An index that embeds texts itself and takes the vectors back with the docs: ingest then
    embeds each segment while the rest of the log is read, instead of all of them at the end."""

    def embed(self, texts: list[str]) -> np.ndarray: ...

    def add(self, docs: list[SegmentDoc], *, embeddings: np.ndarray | None = None) -> Any: ...


@dataclass
class IngestDeps:
    """Where ingest writes: blob store, catalog, optional vector index, and its settings."""

    blobs: BlobStore
    catalog: Catalog
    settings: IngestSettings = field(default_factory=IngestSettings)
    index: SegmentIndex | None = None
    work_dir: Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings, index: SegmentIndex | None = None) -> IngestDeps:
        return cls(
            blobs=LocalBlobStore.from_settings(settings),
            catalog=Catalog.from_settings(settings),
            settings=settings.ingest,
            index=index,
            work_dir=settings.data_dir,
        )


class IngestRequest(BaseModel):
    """One log to ingest."""

    path: Path = Field(description="an MCAP file, a ROS 2 bag (directory or .db3), a ROS 1 bag")
    salvage: bool = Field(
        False,
        description="if the MCAP is truncated or corrupt, ingest a "
        "repaired copy of what is readable instead of failing",
    )
    robot_id: str | None = Field(None, description="overrides the log's own robot metadata")
    site: str | None = Field(None, description="overrides the log's own site metadata")
    rules: Path | None = Field(
        None, description="trigger rules (YAML) that find incidents; None: the default rules"
    )
    link: bool = Field(
        False,
        description="keep the log by hard link instead of a copy when it is "
        "on the blob store's file system: no copy is made, but the file becomes "
        "read-only and must never be modified in place afterwards",
    )


class IngestResult(BaseModel):
    """What an ingest stored (or found already stored)."""

    log_id: str
    path: Path
    status: Literal["ingested", "already_ingested"]
    format: str
    robot_id: str = ""
    robot_source: str = Field(
        "",
        description="where the robot id came from (option, mcap metadata, rosbag2 "
        "metadata, file name, folder name); empty: none found",
    )
    site: str = ""
    start_ns: int = 0
    end_ns: int = 0
    message_count: int = 0
    size_bytes: int = 0
    topic_count: int = 0
    segment_count: int = 0
    event_count: int = 0
    thumbnail_count: int = 0
    incident_count: int = 0
    salvaged_from: str | None = Field(None, description="sha256 of the damaged original")
    notes: list[str] = Field(default_factory=list)
    seconds: float = 0.0


@dataclass
class _Origin:
    """The damaged original a salvaged log was made from."""

    path: Path
    sha256: str
    salvage: SalvageResult


@dataclass
class _Scan:
    """Everything one pass over the messages found."""

    channels: list[ChannelInfo] = field(default_factory=list)
    counts: dict[ChannelInfo, int] = field(default_factory=dict)
    decoded: dict[ChannelInfo, bool] = field(default_factory=dict)
    messages: int = 0
    start_ns: int | None = None
    end_ns: int | None = None
    notes: list[str] = field(default_factory=list)
    stopped: bool = False  # the scan stopped early: the log turned out to be ingested already
    incidents: list[Fired] = field(default_factory=list)


def ingest_log(
    request: IngestRequest, deps: IngestDeps, progress: ProgressFn | None = None
) -> IngestResult:
    """Ingest one log into the blob store, the catalog and (if given) the vector index.

    Use it for every log that comes in from a robot or from outside; it is safe to call again
    on the same file (a no-op, reported as ``already_ingested``).

    Raises:
        NotFoundError: the path does not exist.
        LogFormatError: the log is empty, truncated, corrupt or in no supported format (and
            cannot be salvaged); nothing is stored.
    """
    path = Path(request.path).absolute()
    try:
        with open_log(path) as reader:
            return _ingest(reader, request, deps, progress, None)
    except LogFormatError:
        if not request.salvage or not _is_mcap(path):
            raise
    return _ingest_salvaged(path, request, deps, progress)


def _ingest_salvaged(
    path: Path, request: IngestRequest, deps: IngestDeps, progress: ProgressFn | None
) -> IngestResult:
    if deps.work_dir is not None:
        deps.work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="salvage-", dir=deps.work_dir) as tmp:
        repaired = salvage_mcap(path, Path(tmp) / f"{path.stem}.salvaged.mcap")
        origin = _Origin(path=path, sha256=hash_file(path), salvage=repaired)
        with open_log(repaired.path) as reader:
            return _ingest(reader, request, deps, progress, origin)


def _ingest(
    reader: LogReader,
    request: IngestRequest,
    deps: IngestDeps,
    progress: ProgressFn | None,
    origin: _Origin | None,
) -> IngestResult:
    started = time.perf_counter()
    rules = _rules(request)
    summary = reader.summary()
    embed = deps.index.embed if isinstance(deps.index, EmbeddingIndex) else None
    # Storing the bytes (which also names the log) overlaps the scan: both mostly wait on I/O or
    # run in C. Leaving the pool waits for the copy before a failure takes the blobs back.
    with (
        BlobBatch(deps.blobs) as batch,
        ThreadPoolExecutor(1, "ingest-store") as pool,
        _Describer(request, reader, embed) as describer,
    ):
        link = request.link or origin is not None  # a salvaged copy is ours to keep
        storing = pool.submit(_store_files, batch, reader.path, summary.files, origin, link)
        already = _AlreadyIngested(storing, deps.catalog)
        triggers = TriggerEngine(rules)
        scan = _scan(reader, deps.settings, batch, progress, describer.add, already, triggers)
        log_id, files = storing.result()
        if scan.stopped or deps.catalog.has_log(log_id):
            batch.rollback()  # whatever this attempt added (thumbnails) was not asked for
            return _already(deps.catalog, log_id, origin, started)
        summary = reader.summary()  # metadata is complete now, even for unindexed files
        who = _identity(request, summary.metadata)
        described, vectors = describer.finish(log_id, who)
        # The index is written before the SQL transaction so that no database lock is held
        # while it works, and is taken back if the catalogue write fails.
        _index(deps.index, [_doc(deps.blobs, log_id, who, seg) for seg in described], vectors)
        try:
            with deps.catalog.transaction() as session:
                fields = _catalogue(
                    session, deps, summary, scan, log_id, files, origin, who, described
                )
        except BaseException:
            _forget(deps.index, log_id)
            raise
    return IngestResult(
        status="ingested", seconds=round(time.perf_counter() - started, 3), **fields
    )


@dataclass(frozen=True)
class _Described:
    segment: Segment
    segment_id: str
    features: dict[str, Any]
    text: str


def _identity(request: IngestRequest, metadata: dict[str, dict[str, str]]) -> RobotIdentity:
    """The robot, from the path asked for (not a salvaged copy's name) and the metadata."""
    return identify(Path(request.path).absolute(), metadata, request.robot_id, request.site)


def _rules(request: IngestRequest) -> RuleSet:
    """The trigger rules this ingest runs (read before the scan, so a bad file stores nothing)."""
    return load_rules(request.rules)


class _Describer:
    """Describes each segment as it closes and, given ``embed``, embeds it on a worker thread
    while the scan goes on.

    What is embedded is the description with fractions to one decimal (see
    :func:`~robotops.tools.logs.features.describe`), so that segments which differ only in the
    second decimal share one vector, computed once. A description names the robot and zone, from
    the log's metadata as read so far; :meth:`finish` describes again with the complete metadata
    and, should that change a text (a file without a summary can declare its metadata late),
    embeds again.
    """

    EMBED_DIGITS = 1

    def __init__(
        self,
        request: IngestRequest,
        reader: LogReader,
        embed: Callable[[list[str]], np.ndarray] | None,
    ) -> None:
        self.request, self.reader, self.embed = request, reader, embed
        self.segments: list[tuple[Segment, dict[str, Any]]] = []
        self.embedded: list[str] = []
        self.embedder = BackgroundEmbedder(embed) if embed is not None else None

    def __enter__(self) -> _Describer:
        return self

    def __exit__(self, *_: object) -> None:
        if self.embedder is not None:
            self.embedder.close()

    def add(self, segments: list[Segment]) -> None:
        """Take segments as they close."""
        closed = [(segment, segment.features()) for segment in segments]
        self.segments.extend(closed)
        if self.embedder is not None and closed:
            texts = self._embedding_texts(closed, _identity(self.request, self.reader.metadata))
            self.embedded.extend(texts)
            self.embedder.submit(texts)

    def finish(self, log_id: str, who: RobotIdentity) -> tuple[list[_Described], np.ndarray | None]:
        """Every segment described for good, and their vectors (None: the index embeds them)."""
        described = [
            _Described(
                segment,
                f"{log_id[:16]}:{segment.start_ns}",
                features,
                describe(features, who.robot_id, who.zone),
            )
            for segment, features in self.segments
        ]
        if self.embed is None or self.embedder is None:
            return described, None
        texts = self._embedding_texts(self.segments, who)
        if texts != self.embedded:  # the identity changed: the vectors computed are stale
            return described, self.embed(texts)
        return described, self.embedder.result()

    def _embedding_texts(
        self, segments: list[tuple[Segment, dict[str, Any]]], who: RobotIdentity
    ) -> list[str]:
        return [
            describe(features, who.robot_id, who.zone, digits=self.EMBED_DIGITS)
            for _, features in segments
        ]


class _AlreadyIngested:
    """Whether the log, once its bytes are stored (and so named), is in the catalog already."""

    def __init__(self, storing: Future[tuple[str, list[dict[str, Any]]]], catalog: Catalog) -> None:
        self.storing, self.catalog = storing, catalog
        self.answer: bool | None = None

    def __call__(self) -> bool:
        if self.answer is None and self.storing.done():
            self.answer = self.storing.exception() is None and self.catalog.has_log(
                self.storing.result()[0]
            )
        return bool(self.answer)


def _index(index: SegmentIndex | None, docs: list[SegmentDoc], vectors: np.ndarray | None) -> None:
    if index is None or not docs:
        return
    if vectors is not None and isinstance(index, EmbeddingIndex):
        index.add(docs, embeddings=vectors)
    else:
        index.add(docs)


def _doc(blobs: BlobStore, log_id: str, who: RobotIdentity, seg: _Described) -> SegmentDoc:
    thumb = seg.segment.thumbnail
    return SegmentDoc(
        segment_id=seg.segment_id,
        text=seg.text,
        log_id=log_id,
        robot_id=who.robot_id,
        site=who.site,
        start_ns=seg.segment.start_ns,
        end_ns=seg.segment.end_ns,
        events=[e.kind for e in seg.segment.events],
        thumbnail=str(blobs.path_of(thumb)) if thumb else None,
    )


def _forget(index: SegmentIndex | None, log_id: str) -> None:
    """Best-effort undo of ``index.add`` for a log whose catalogue write failed."""
    delete = getattr(index, "delete_log", None)
    if delete is not None:
        with contextlib.suppress(Exception):  # the original failure is what gets reported
            delete(log_id)


def _store_files(
    batch: BlobBatch, root: Path, paths: list[Path], origin: _Origin | None, link: bool
) -> tuple[str, list[dict[str, Any]]]:
    """Store the log's files; returns the log's id and its file entries.

    The id is the sha256 of the stored file, or for a bag directory that of its file manifest
    (stored too); each file is read once, by the copy, and hashed once, as stored.
    """
    files = [
        {
            "name": p.relative_to(root).as_posix() if root.is_dir() else p.name,
            "sha256": batch.add_file(p, link=link),
            "size": p.stat().st_size,
        }
        for p in paths
    ]
    if origin is not None:
        batch.put_file(origin.path, origin.sha256)
    if not root.is_dir() and len(files) == 1:
        return files[0]["sha256"], files
    manifest = json.dumps(sorted(files, key=lambda f: f["name"]), sort_keys=True).encode()
    return batch.put_bytes(manifest), files


def _scan(
    reader: LogReader,
    settings: IngestSettings,
    batch: BlobBatch,
    progress: ProgressFn | None,
    closed: Callable[[list[Segment]], None],
    stop: Callable[[], bool],
    triggers: TriggerEngine,
) -> _Scan:
    """The single pass over the messages; hands each segment to ``closed`` once complete and
    checks ``stop`` now and then (it ends the pass early, with ``stopped`` set)."""
    config = FeatureConfig(
        segment_ns=int(settings.segment_s * 1e9),
        pixel_stride=settings.pixel_stride,
        thumbnail_px=settings.thumbnail_px,
        put_thumbnail=batch.put_derived,
    )
    builder, scan = SegmentBuilder(config), _Scan()
    counts, total = scan.counts, reader.summary().message_count if progress else None
    for message in reader.messages():
        channel, t = message.channel, message.log_time_ns
        count = counts.get(channel)
        if count is None:
            scan.decoded[channel] = message.decoded is not None
            count = 0
        counts[channel] = count + 1
        scan.messages += 1
        if scan.start_ns is None or t < scan.start_ns:
            scan.start_ns = t
        if scan.end_ns is None or t > scan.end_ns:
            scan.end_ns = t
        if triggers.wants(channel.topic, channel.schema_name):
            triggers.feed(channel.topic, channel.schema_name, t, message.decoded)
        done = builder.add(message)
        if done:
            closed(done)
        if scan.messages % PROGRESS_EVERY == 0:
            if stop():
                scan.stopped = True
                return scan
            if progress is not None:
                progress(scan.messages, total)
    closed(builder.finish())
    scan.incidents = triggers.finish()
    scan.channels = reader.channels  # including declared channels that logged nothing
    if progress is not None:
        progress(scan.messages, total)
    scan.notes.extend(builder.notes)
    if builder.late:
        scan.notes.append(
            f"{builder.late} messages arrived more than one segment out of "
            "order: counted, but left out of segment features"
        )
    return scan


def _catalogue(
    session: Session,
    deps: IngestDeps,
    summary: LogSummary,
    scan: _Scan,
    log_id: str,
    files: list[dict[str, Any]],
    origin: _Origin | None,
    who: RobotIdentity,
    described: list[_Described],
) -> dict[str, Any]:
    """Write the log's rows; returns the IngestResult fields."""
    notes = [who.note(), *_notes(summary, scan)]
    meta: dict[str, Any] = {
        "metadata": summary.metadata,
        "features_version": FEATURES_VERSION,
        "segment_s": deps.settings.segment_s,
        "indexed": summary.indexed,
    }
    parents: list[tuple[str, str]] = []
    source = summary.path
    if origin is not None:
        source = origin.path
        parents.append((origin.sha256, "salvaged-from"))
        meta["salvage"] = origin.salvage.model_dump(mode="json", exclude={"path", "source"})
        notes.insert(0, _salvage_note(origin.salvage))
        record_artifact(
            session,
            sha256=origin.sha256,
            kind="log-damaged",
            uri=str(deps.blobs.path_of(origin.sha256)),
            size_bytes=origin.salvage.source_bytes,
            produced_by="external",
            tool_version="",
            meta={"source_path": str(origin.path)},
        )
    size = sum(f["size"] for f in files)
    start, end = scan.start_ns or 0, scan.end_ns or 0
    session.add(
        LogRow(
            id=log_id,
            source_path=str(source),
            robot_id=who.robot_id,
            site=who.site,
            format=summary.format,
            size_bytes=size,
            start_ns=start,
            end_ns=end,
            message_count=scan.messages,
            meta=meta,
            files=files,
            notes=notes,
            tool=TOOL,
            tool_version=__version__,
        )
    )
    session.flush()
    record_artifact(
        session,
        sha256=log_id,
        kind="log",
        uri=_log_uri(deps.blobs, log_id, files),
        size_bytes=size,
        produced_by=TOOL if origin else "external",
        tool_version=__version__ if origin else "",
        parents=parents,
        meta={"source_path": str(source), "format": summary.format},
    )
    topic_count = _add_topics(session, log_id, scan)
    events, thumbnails = _add_segments(session, deps, log_id, described)
    incidents = _add_incidents(session, log_id, who, scan, start, end)
    return {
        "log_id": log_id,
        "path": source,
        "format": summary.format,
        "robot_id": who.robot_id,
        "robot_source": who.source,
        "incident_count": incidents,
        "site": who.site,
        "start_ns": start,
        "end_ns": end,
        "message_count": scan.messages,
        "size_bytes": size,
        "topic_count": topic_count,
        "segment_count": len(described),
        "event_count": events,
        "thumbnail_count": thumbnails,
        "salvaged_from": origin.sha256 if origin else None,
        "notes": notes,
    }


def _add_topics(session: Session, log_id: str, scan: _Scan) -> int:
    channels = sorted({*scan.channels, *scan.counts}, key=lambda c: (c.topic, c.schema_name))
    for channel in channels:
        session.add(
            TopicRow(
                log_id=log_id,
                name=channel.topic,
                schema_name=channel.schema_name,
                schema_encoding=channel.schema_encoding,
                encoding=channel.encoding,
                message_count=scan.counts.get(channel, 0),
                decoded_ok=scan.decoded.get(channel),
                note=channel.note,
            )
        )
    return len(channels)


def _add_incidents(
    session: Session, log_id: str, who: RobotIdentity, scan: _Scan, start: int, end: int
) -> int:
    """The robot (when the log names one) and the incidents the trigger rules found."""
    if who.robot_id:
        upsert_robot(
            session,
            who.robot_id,
            site=who.site,
            source="ingest",
            id_source=who.source,
            start_ns=start,
            end_ns=end,
        )
    return add_incident_rows(
        session,
        [
            {
                "id": f"{log_id[:16]}:{f.rule}:{f.time_ns}",
                "robot_id": who.robot_id,
                "kind": f.kind,
                "time_ns": f.time_ns,
                "onset_ns": f.onset_ns,
                "source": "ingest",
                "log_id": log_id,
                "rule": f.rule,
                "topic": f.topic,
                "severity": f.severity,
                "detail": f.detail,
            }
            for f in scan.incidents
        ],
    )


def _add_segments(
    session: Session, deps: IngestDeps, log_id: str, described: list[_Described]
) -> tuple[int, int]:
    events = 0
    thumbnails: set[str] = set()
    for seg in described:
        segment = seg.segment
        session.add(
            SegmentRow(
                id=seg.segment_id,
                log_id=log_id,
                start_ns=segment.start_ns,
                end_ns=segment.end_ns,
                features=seg.features,
                description=seg.text,
                thumbnail_sha=segment.thumbnail,
            )
        )
        for event in segment.events:
            session.add(
                EventRow(
                    log_id=log_id,
                    time_ns=event.time_ns,
                    topic=event.topic,
                    kind=event.kind,
                    severity=event.severity,
                    detail=event.detail,
                )
            )
        events += len(segment.events)
        thumbnails.update(segment.thumbnails.values())
    record_derived(
        session,
        thumbnails,
        kind="thumbnail",
        produced_by=TOOL,
        tool_version=__version__,
        parent=log_id,
        relation="thumbnail-of",
        uri_of=lambda sha: str(deps.blobs.path_of(sha)),
    )
    return events, len(thumbnails)


def _notes(summary: LogSummary, scan: _Scan) -> list[str]:
    notes = [*summary.notes, *scan.notes]
    if summary.message_count is not None and summary.message_count != scan.messages:
        notes.append(
            f"the file declares {summary.message_count} messages; {scan.messages} were read"
        )
    for channel in sorted(scan.counts, key=lambda c: c.topic):
        if channel.note:
            notes.append(f"{channel.topic}: {channel.note}")
        declared = channel.declared_count
        if declared is not None and declared != scan.counts[channel]:
            notes.append(
                f"{channel.topic}: declares {declared} messages, {scan.counts[channel]} read"
            )
    if len(notes) > MAX_NOTES:
        notes = [*notes[:MAX_NOTES], f"... and {len(notes) - MAX_NOTES} more notes"]
    return notes


def _salvage_note(salvage: SalvageResult) -> str:
    if salvage.reason is None:
        return (
            f"salvaged from a damaged original: all {salvage.messages} messages were "
            f"readable (data section ends at byte {salvage.readable_bytes} of "
            f"{salvage.source_bytes}); its summary and index were rebuilt"
        )
    return (
        f"salvaged from a damaged original: readable up to byte {salvage.readable_bytes} "
        f"of {salvage.source_bytes} ({salvage.reason}); {salvage.messages} messages kept"
    )


def _log_uri(blobs: BlobStore, log_id: str, files: list[dict[str, Any]]) -> str:
    sha = files[0]["sha256"] if len(files) == 1 else log_id
    return str(blobs.path_of(sha))


def _already(catalog: Catalog, log_id: str, origin: _Origin | None, started: float) -> IngestResult:
    log = catalog.get_log(log_id)
    counts = {f"{k[:-1]}_count": v for k, v in catalog.counts(log_id).items()}
    return IngestResult(
        log_id=log.id,
        path=origin.path if origin else Path(log.source_path),
        status="already_ingested",
        format=log.format,
        robot_id=log.robot_id,
        site=log.site,
        start_ns=log.start_ns,
        end_ns=log.end_ns,
        message_count=log.message_count,
        size_bytes=log.size_bytes,
        salvaged_from=origin.sha256 if origin else None,
        notes=log.notes,
        seconds=round(time.perf_counter() - started, 3),
        incident_count=len(catalog.incidents(log_id=log.id)),
        **counts,
    )


def _is_mcap(path: Path) -> bool:
    if not path.is_file():
        return False
    with open(path, "rb") as stream:
        return stream.read(len(MCAP_MAGIC)) == MCAP_MAGIC


def discover_logs(path: Path) -> Iterator[Path]:
    """``path`` itself if it is a log, else every log found under it (for folders of logs).

    Files are picked by content or by name, so a broken ``.bag`` or ``.mcap`` is still found
    (and then rejected with its reason) rather than silently skipped.
    """
    path = Path(path)
    if not path.is_dir() or any(reader.detect(path) for reader in READERS.values()):
        yield path
        return
    for child in sorted(path.iterdir()):
        if child.name.startswith(".") or child.suffix in SKIPPED_SUFFIXES:
            continue  # hidden, or still being written
        if child.is_dir() or any(reader.detect(child) for reader in READERS.values()):
            yield from discover_logs(child)
