"""How good the embedded labeler is, against the simulator's ground truth, on unseen frames.

Frames are rendered in worlds drawn the way a simulated shift draws them
(:func:`robotops.tools.labeling.simframes.shift_world`), with a seed no training run uses, and
JPEG-encoded as in a robot's log. The simulator's labels (glare, shadow, vest, forklift,
person, pallet, oil) are measured on clean frames; the camera degradations (low light, haze,
blur, occlusion) on a second set where most frames are degraded.

Search quality is measured end to end: frames with known truth are written into a robot log,
ingested, labeled and indexed, and the queries "lens flare" and "oil on the floor" are asked;
recall@10 counts how many of the relevant segments (truth: glare, wet floor) come back in the
top 10, out of at most 10, before and after labeling.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from robotops.errors import InvalidRequestError
from robotops.settings import LabelerSettings
from robotops.tools.labeling.backends.embedded import EmbeddedBackend
from robotops.tools.labeling.degrade import DEGRADATIONS
from robotops.tools.labeling.simframes import LabeledFrames, shift_world
from robotops.tools.labeling.train import prf, render_dataset
from robotops.tools.labeling.vocabulary import load_vocabulary

GOALS = {"glare": 0.9, "hard_shadow": 0.85}
SEARCH_QUERIES = {"lens flare": "glare", "oil on the floor": "wet_floor"}
T0 = 1_800_000_000_000_000_000  # a multiple of the 2 s segment length
SEGMENT_NS = 2_000_000_000


class LabelScore(BaseModel):
    label: str
    precision: float
    recall: float
    f1: float
    support: int
    frames: int
    goal: float | None = None


class SearchRecall(BaseModel):
    query: str
    label: str
    relevant: int
    recall_at_10_before: float
    recall_at_10_after: float


class LabelerEval(BaseModel):
    seed: int
    training_seed: int
    weights_sha256: str
    clean_frames: int
    degraded_frames: int
    scores: list[LabelScore]
    goals_met: dict[str, bool]
    frames_per_s: float
    search: list[SearchRecall] = []
    search_note: str = ""
    seconds: float


def _predict(backend: EmbeddedBackend, data: LabeledFrames) -> np.ndarray:
    verdicts = backend.label_frames(list(data.frames))
    return np.array([[name in v.labels for name in data.names] for v in verdicts], dtype=int)


def evaluate(
    frames: int = 800,
    degraded: int = 320,
    seed: int = 777,
    search: bool = True,
    settings: LabelerSettings | None = None,
) -> LabelerEval:
    """Score the embedded labeler per label on ``frames`` clean and ``degraded`` degraded
    unseen frames, and (if ``search``) measure search recall after labeling."""
    started = time.perf_counter()
    settings = settings or LabelerSettings()
    backend = EmbeddedBackend(settings, load_vocabulary())
    if backend.card.seed in (seed, seed + 1):
        raise InvalidRequestError(
            f"seeds {seed} and {seed + 1} must both differ from the training seed "
            f"{backend.card.seed}: pick another --seed"
        )
    clean = render_dataset(frames, seed, world=shift_world, degrade_p=0.0)
    worse = render_dataset(degraded, seed + 1, world=shift_world, degrade_p=0.6)
    t = time.perf_counter()
    predicted = _predict(backend, clean)
    rate = len(clean.frames) / max(time.perf_counter() - t, 1e-9)
    predicted_worse = _predict(backend, worse)
    scores = []
    for j, name in enumerate(clean.names):
        data, pred = (worse, predicted_worse) if name in DEGRADATIONS else (clean, predicted)
        m = prf(pred[:, j], data.labels[:, j].astype(int))
        scores.append(
            LabelScore(
                label=name,
                precision=m["precision"],
                recall=m["recall"],
                f1=m["f1"],
                support=int(m["support"]),
                frames=len(data.frames),
                goal=GOALS.get(name),
            )
        )
    result = LabelerEval(
        seed=seed,
        training_seed=backend.card.seed,
        weights_sha256=backend.card.weights_sha256,
        clean_frames=len(clean.frames),
        degraded_frames=len(worse.frames),
        scores=scores,
        goals_met={s.label: s.f1 >= s.goal for s in scores if s.goal is not None},
        frames_per_s=rate,
        seconds=0.0,
    )
    if search:
        result.search, result.search_note = search_recall(clean, settings)
    result.seconds = time.perf_counter() - started
    return result


def _corpus(data: LabeledFrames, per_label: int = 15, others: int = 60) -> list[int]:
    """Frame indices: some with each searched label, and others without any of them."""
    rng = np.random.default_rng(0)
    cols = [data.names.index(label) for label in SEARCH_QUERIES.values()]
    chosen: list[int] = []
    for c in cols:
        hits = np.flatnonzero(data.labels[:, c] == 1)
        chosen += [int(i) for i in rng.permutation(hits)[:per_label] if i not in chosen]
    rest = np.flatnonzero(data.labels[:, cols].sum(axis=1) == 0)
    chosen += [int(i) for i in rng.permutation(rest)[:others]]
    return [int(i) for i in rng.permutation(chosen)]


def write_frames_log(
    path: Path, frames: np.ndarray, robot_id: str = "eval", per_segment: int = 10
) -> Path:
    """A robot log with one 2 s segment per frame: the frame at 5 Hz, odometry at 10 Hz."""
    from robotops.sim.episode import encode_jpeg
    from robotops.sim.recording.writer import RobotLogWriter

    meta = {"robot_id": robot_id, "site": "eval", "zone": "aisle-1", "policy_version": "v1"}
    with RobotLogWriter(path, meta) as log:
        for k, frame in enumerate(frames):
            jpeg = encode_jpeg(frame)
            for i in range(2 * per_segment):
                t = T0 + k * SEGMENT_NS + i * SEGMENT_NS // (2 * per_segment)
                log.odom(t, x=k + i / 20, y=0.0, yaw=0.0, v=1.0, w=0.0)
                if i % 2 == 0:
                    log.image(t, jpeg)
    return path


def search_recall(data: LabeledFrames, settings: LabelerSettings) -> tuple[list[SearchRecall], str]:
    """Recall@10 of the search queries over a log built from ``data``, before and after
    labeling; an empty list and the reason when the vector index is unavailable."""
    from robotops.errors import RobotOpsError
    from robotops.memory.labels import LabelStore
    from robotops.memory.vectors import VectorIndex
    from robotops.settings import Settings
    from robotops.tools.labeling.models import LabelRequest
    from robotops.tools.labeling.run import LabelDeps, label_segments
    from robotops.tools.logs.ingest import IngestDeps, IngestRequest, ingest_log

    chosen = _corpus(data)
    with tempfile.TemporaryDirectory(prefix="labeler-eval-") as tmp:
        root = Path(tmp)
        app = Settings(data_dir=root / "data")
        try:
            index = VectorIndex.from_settings(app)
        except (RobotOpsError, ImportError) as exc:
            return [], f"not measured: the vector index is unavailable ({exc})"
        ingest = IngestDeps.from_settings(app, index=index)
        log = write_frames_log(root / "eval.mcap", data.frames[chosen])
        log_id = ingest_log(IngestRequest(path=log), ingest).log_id
        ids = [s.id for s in ingest.catalog.segments(log_id)]
        truth = {
            q: {
                ids[k] for k, i in enumerate(chosen) if data.labels[i, data.names.index(label)] == 1
            }
            for q, label in SEARCH_QUERIES.items()
        }
        before = {q: _recall(index, q, rel) for q, rel in truth.items()}
        deps = LabelDeps(
            catalog=ingest.catalog,
            blobs=ingest.blobs,
            settings=settings.model_copy(update={"workers": 1}),
            vocabulary=load_vocabulary(),
            store=LabelStore(ingest.catalog),
            index=index,
        )
        label_segments(LabelRequest(backend="embedded"), deps)
        out = [
            SearchRecall(
                query=q,
                label=SEARCH_QUERIES[q],
                relevant=len(rel),
                recall_at_10_before=before[q],
                recall_at_10_after=_recall(index, q, rel),
            )
            for q, rel in truth.items()
        ]
        ingest.catalog.close()
    return out, ""


def _recall(index: object, query: str, relevant: set[str], k: int = 10) -> float:
    from robotops.tools.logs.search import SearchQuery, search_segments

    hits = search_segments(SearchQuery(text=query, k=k), index)  # type: ignore[arg-type]
    found = sum(h.doc.segment_id in relevant for h in hits.hits)
    return found / max(1, min(k, len(relevant)))


def render_report(result: LabelerEval) -> str:
    """The eval as a table for people."""
    lines = [
        f"embedded labeler {result.weights_sha256[:12]} (trained with seed "
        f"{result.training_seed}) on unseen frames, seed {result.seed}: "
        f"{result.clean_frames} clean, {result.degraded_frames} degraded",
        f"{'label':18s} {'P':>6s} {'R':>6s} {'F1':>6s} {'n':>5s}  goal",
    ]
    for s in result.scores:
        goal = (
            ""
            if s.goal is None
            else f"F1 >= {s.goal:.2f} " + ("met" if s.f1 >= s.goal else "MISSED")
        )
        lines.append(
            f"{s.label:18s} {s.precision:6.3f} {s.recall:6.3f} {s.f1:6.3f} {s.support:5d}  {goal}"
        )
    lines.append(f"throughput (labeling only, this process): {result.frames_per_s:.0f} frames/s")
    for r in result.search:
        lines.append(
            f"search {r.query!r}: recall@10 {r.recall_at_10_before:.2f} before "
            f"labeling, {r.recall_at_10_after:.2f} after ({r.relevant} relevant)"
        )
    if result.search_note:
        lines.append(f"search: {result.search_note}")
    return "\n".join(lines)
