"""Label camera segments incrementally, log by log, in a process pool.

A labeler version is the hash of the backend, its model (weights hash, or endpoint and model
name), the vocabulary and the sampling settings. A run labels only the segments of logs with a
camera that this version has not labeled yet (a segment whose labeling failed is tried again).
Each log is one unit of work: its pending segments' frames are read in one streaming pass and
judged in batches; results are stored one log per transaction, as units finish, so an
interrupted or failing run keeps everything already done. Per-item problems (frames that do not
decode, a segment without frames, a malformed answer) are recorded on the segment and the run
goes on; a misconfigured backend stops the run before any work with one clear message.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import select

from robotops.errors import ConfigError, InvalidRequestError, RobotOpsError
from robotops.memory.blobs import BlobStore, LocalBlobStore
from robotops.memory.catalog import Catalog, LogRow, SegmentRow, TopicRow
from robotops.memory.labels import LabelerVersion, Labeling, LabelStore
from robotops.settings import LabelerSettings, Settings
from robotops.sim.logs.readers import canonical_type
from robotops.tools.labeling.frames import IMAGE_TYPES, SegmentFrames, Window, sample_frames
from robotops.tools.labeling.models import (
    BackendIdentity,
    LabelOut,
    LabelRequest,
    LabelResult,
    SegmentOutcome,
)
from robotops.tools.labeling.registry import LabelBackend, LabelerConfigError, create_backend
from robotops.tools.labeling.sync import LabelIndex, SyncDeps, sync_segments
from robotops.tools.labeling.vocabulary import Vocabulary, load_vocabulary

LABELER_ID = "robotops.tools.labeling"
SAMPLING_VERSION = "1"  # bump when frame sampling or aggregation changes what labels mean
BATCH_FRAMES = 64  # frames gathered across segments before a backend call
MAX_ERRORS_SHOWN = 10

ProgressFn = Callable[[int, int], None]


class QuarantinedLabelerError(ConfigError):
    def __init__(self, version: str) -> None:
        super().__init__(
            f"labeler version {version} is quarantined: change its model, "
            "vocabulary or backend to make a new version before labeling again"
        )


@dataclass
class LabelDeps:
    """Where labeling reads and writes: catalog, blobs, label store, optional index."""

    catalog: Catalog
    blobs: BlobStore | None
    settings: LabelerSettings
    vocabulary: Vocabulary
    store: LabelStore
    index: LabelIndex | None = None

    @classmethod
    def from_settings(cls, settings: Settings, index: LabelIndex | None = None) -> LabelDeps:
        catalog = Catalog.from_settings(settings)
        return cls(
            catalog=catalog,
            blobs=LocalBlobStore.from_settings(settings),
            settings=settings.labeler,
            vocabulary=load_vocabulary(settings.labeler.vocabulary),
            store=LabelStore(catalog),
            index=index,
        )


class LogUnit(BaseModel):
    """One log's pending segments: what a worker process labels."""

    log_id: str
    path: str | None
    missing: str = ""
    windows: list[tuple[str, int, int]]


class UnitResult(BaseModel):
    log_id: str
    outcomes: list[SegmentOutcome]
    fatal: str | None = None


def labeler_version(
    identity: BackendIdentity, vocabulary: Vocabulary, settings: LabelerSettings
) -> tuple[str, str]:
    """The version name and sha256 of a labeler: backend, model, vocabulary and sampling."""
    payload = {
        "labeler": LABELER_ID,
        "sampling": SAMPLING_VERSION,
        "backend": identity.backend,
        "model": identity.model,
        "vocabulary_sha256": vocabulary.sha256,
        "frames_per_segment": settings.frames_per_segment,
    }
    sha = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    return f"{identity.backend}-{sha[:12]}", sha


def label_segments(
    request: LabelRequest, deps: LabelDeps, progress: ProgressFn | None = None
) -> LabelResult:
    """Label every camera segment this labeler version has not labeled yet.

    Use it after ingesting logs (or nightly) so that search can find segments by what is in
    them ("lens flare", "forklift"); run it again at any time, it only does what is missing.
    Labels go into the catalog with full provenance, into the segments' descriptions and into
    the vector index.

    Raises:
        UnknownBackendError, LabelerConfigError: the backend is unknown or misconfigured.
        QuarantinedLabelerError: this exact labeler version was quarantined.
    """
    started = time.perf_counter()
    name = request.backend or deps.settings.backend
    backend = create_backend(name, deps.settings, deps.vocabulary)
    identity = backend.identity()
    version, sha = labeler_version(identity, deps.vocabulary, deps.settings)
    recorded = deps.store.ensure_version(
        version=version,
        sha256=sha,
        labeler_id=LABELER_ID,
        backend=identity.backend,
        model=identity.model,
        vocabulary_sha=deps.vocabulary.sha256,
    )
    if recorded.quarantined:
        raise QuarantinedLabelerError(version)
    units = pending_units(deps, version, request)
    result = LabelResult(
        labeler_version=version,
        backend=identity.backend,
        model=identity.model,
        vocabulary_sha256=deps.vocabulary.sha256,
        pending=sum(len(u.windows) for u in units),
        labeled=0,
        failed=0,
    )
    skipped = [n for n in deps.vocabulary.names if n not in backend.covers()]
    if skipped:
        result.notes.append(f"the {name} backend does not judge: {', '.join(skipped)}")
    if units:
        backend.load()  # a model that does not load fails here, before any work
    recorder = _Recorder(deps, recorded, result, {u.log_id: u for u in units})
    for unit_result in _execute(units, backend, deps):
        if unit_result.fatal:
            raise ConfigError(unit_result.fatal)
        recorder.store(unit_result)
        if progress:
            progress(recorder.done, result.pending)
    result.labels = dict(sorted(recorder.counts.items()))
    result.seconds = round(time.perf_counter() - started, 3)
    return result


@dataclass
class _Recorder:
    """Stores each log's results as it arrives (one transaction per log), then re-describes
    and re-indexes the segments that got labels."""

    deps: LabelDeps
    version: LabelerVersion
    result: LabelResult
    units: dict[str, LogUnit]
    counts: Counter[str] = field(default_factory=Counter)
    done: int = 0

    def store(self, unit_result: UnitResult) -> None:
        unit = self.units[unit_result.log_id]
        spans = {sid: (start, end) for sid, start, end in unit.windows}
        labelings = [
            Labeling(
                segment_id=o.segment_id,
                log_id=unit.log_id,
                start_ns=spans[o.segment_id][0],
                end_ns=spans[o.segment_id][1],
                labels=[(lb.value, lb.confidence, lb.frame_ns) for lb in o.labels],
                frames=o.frames,
                error=o.error,
                notes=o.notes,
            )
            for o in unit_result.outcomes
        ]
        with self.deps.catalog.transaction() as session:
            self.deps.store.save(session, self.version, labelings)
        self.done += len(labelings)
        ok = [o for o in unit_result.outcomes if o.error is None]
        self.result.labeled += len(ok)
        self.result.failed += len(unit_result.outcomes) - len(ok)
        for o in unit_result.outcomes:
            self.counts.update(lb.value for lb in o.labels)
            if o.error and len(self.result.errors) < MAX_ERRORS_SHOWN:
                self.result.errors.append(f"{o.segment_id}: {o.error}")
        deps = self.deps
        sync = SyncDeps(deps.catalog, deps.store, deps.blobs, deps.vocabulary, deps.index)
        try:
            sync_segments([o.segment_id for o in ok if o.labels], sync)
        except (RobotOpsError, ValueError, OSError) as exc:
            self.result.notes.append(
                f"log {unit.log_id[:16]}: labels stored in the catalog, but the descriptions or "
                f"the vector index were not updated ({exc}); run `robotops labels reindex`"
            )


def pending_units(deps: LabelDeps, version: str, request: LabelRequest) -> list[LogUnit]:
    """Segments of camera logs not yet labeled by ``version``, grouped by log."""
    with deps.catalog.session() as session:
        logs = list(session.scalars(select(LogRow).order_by(LogRow.start_ns, LogRow.id)))
        cameras = {
            log_id
            for log_id, schema in session.execute(
                select(TopicRow.log_id, TopicRow.schema_name).where(TopicRow.message_count > 0)
            )
            if canonical_type(schema) in IMAGE_TYPES
        }
    if request.log_ids:
        wanted = [ref.lower() for ref in request.log_ids]
        unknown = [ref for ref in wanted if not any(lg.id.startswith(ref) for lg in logs)]
        if unknown:
            raise InvalidRequestError(f"no ingested log matches {', '.join(unknown)}")
        logs = [lg for lg in logs if any(lg.id.startswith(ref) for ref in wanted)]
    units, budget = [], request.limit
    for log in logs:
        if log.id not in cameras or (budget is not None and budget <= 0):
            continue
        query = select(SegmentRow.id, SegmentRow.start_ns, SegmentRow.end_ns).where(
            SegmentRow.log_id == log.id
        )
        if request.since_ns is not None:
            query = query.where(SegmentRow.end_ns >= request.since_ns)
        with deps.catalog.session() as session:
            windows = [tuple(r) for r in session.execute(query.order_by(SegmentRow.start_ns))]
        done = deps.store.done_segments(version, [w[0] for w in windows])
        todo = [w for w in windows if w[0] not in done]
        if budget is not None:
            todo, budget = todo[:budget], budget - len(todo[:budget])
        if todo:
            path, missing = _readable_path(log, deps.blobs)
            units.append(LogUnit(log_id=log.id, path=path, missing=missing, windows=todo))
    return units


def _readable_path(log: LogRow, blobs: BlobStore | None) -> tuple[str | None, str]:
    """The stored copy of a single-file log when there is one, else its source path."""
    files = log.files or []
    if len(files) == 1 and log.format in ("mcap", "ros1") and blobs is not None:
        sha = files[0].get("sha256", "")
        if sha and blobs.exists(sha):
            return str(blobs.path_of(sha)), ""
    if Path(log.source_path).exists():
        return log.source_path, ""
    return None, f"the log's stored copy and its source {log.source_path} are both unavailable"


# ------------------------------------------------------------------------------- execution

_WORKER_BACKEND: LabelBackend | None = None  # one per worker process, built by _init_worker


def _init_worker(name: str, settings: LabelerSettings, vocabulary: Vocabulary) -> None:
    global _WORKER_BACKEND
    import torch

    torch.set_num_threads(1)
    _WORKER_BACKEND = create_backend(name, settings, vocabulary)


def _worker_unit(unit: LogUnit, frames_per_segment: int) -> UnitResult:
    assert _WORKER_BACKEND is not None
    return label_unit(unit, _WORKER_BACKEND, frames_per_segment)


def _execute(units: list[LogUnit], backend: LabelBackend, deps: LabelDeps) -> Iterator[UnitResult]:
    pending = sum(len(u.windows) for u in units)
    worth = -(-pending // backend.min_segments_per_worker)  # workers whose start pays off
    n = min(deps.settings.workers or os.cpu_count() or 1, len(units), worth)
    per = deps.settings.frames_per_segment
    if n <= 1:
        for unit in units:
            yield label_unit(unit, backend, per)
        return
    with ProcessPoolExecutor(
        n,
        mp_context=get_context("spawn"),
        initializer=_init_worker,
        initargs=(backend.name, deps.settings, deps.vocabulary),
    ) as pool:
        futures = [pool.submit(_worker_unit, unit, per) for unit in units]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()


def label_unit(unit: LogUnit, backend: LabelBackend, frames_per_segment: int) -> UnitResult:
    """Label one log's pending segments; every problem becomes a per-segment error except a
    misconfigured backend, which is returned as ``fatal``."""
    windows = [Window(sid, start, end) for sid, start, end in unit.windows]
    if unit.path is None:
        return UnitResult(
            log_id=unit.log_id,
            outcomes=[SegmentOutcome(segment_id=w.segment_id, error=unit.missing) for w in windows],
        )
    outcomes: dict[str, SegmentOutcome] = {}
    try:
        batch: list[tuple[Window, SegmentFrames]] = []
        for window, frames in sample_frames(Path(unit.path), windows, frames_per_segment):
            batch.append((window, frames))
            if sum(len(f.frames) for _, f in batch) >= BATCH_FRAMES:
                outcomes.update(_judge(batch, backend))
                batch = []
        outcomes.update(_judge(batch, backend))
    except LabelerConfigError as exc:
        return UnitResult(log_id=unit.log_id, outcomes=[], fatal=str(exc))
    except Exception as exc:  # noqa: BLE001 - one broken log must not stop the run
        reason = f"labeling this log failed ({type(exc).__name__}: {exc})"
        for w in windows:
            outcomes.setdefault(w.segment_id, SegmentOutcome(segment_id=w.segment_id, error=reason))
    return UnitResult(
        log_id=unit.log_id,
        outcomes=[outcomes[w.segment_id] for w in windows if w.segment_id in outcomes],
    )


def _judge(
    batch: list[tuple[Window, SegmentFrames]], backend: LabelBackend
) -> dict[str, SegmentOutcome]:
    """Run the backend over the frames of several segments at once and aggregate per segment:
    a label's confidence is its best over the segment's frames."""
    flat = [frame for _, f in batch for _, _, frame in f.frames]
    verdicts = iter(backend.label_frames(flat) if flat else [])
    out = {}
    for window, frames in batch:
        outcome = SegmentOutcome(segment_id=window.segment_id)
        problems = list(frames.problems)
        best: dict[str, LabelOut] = {}
        for t_ns, topic, _ in frames.frames:
            verdict = next(verdicts)
            if verdict.error:
                problems.append((topic, t_ns, verdict.error))
                continue
            outcome.frames += 1
            for value, confidence in verdict.labels.items():
                if value not in best or confidence > best[value].confidence:
                    best[value] = LabelOut(value=value, confidence=confidence, frame_ns=t_ns)
        outcome.labels = sorted(best.values(), key=lambda lb: (-lb.confidence, lb.value))
        outcome.notes = [f"{topic} at {t_ns}: {why}" for topic, t_ns, why in problems]
        if outcome.frames == 0:
            outcome.error = _no_frames(problems)
        out[window.segment_id] = outcome
    return out


def _no_frames(problems: list[tuple[str, int, str]]) -> str:
    """Why no frame of a segment could be judged, each distinct reason once."""
    if not problems:
        return "no camera frames in this segment (the camera was silent)"
    reasons = Counter((topic, why) for topic, _, why in problems)
    said = "; ".join(
        f"{topic}: {why}" + (f" ({n} frames)" if n > 1 else "")
        for (topic, why), n in list(reasons.items())[:3]
    )
    return f"no camera frame in this segment could be judged: {said}"
