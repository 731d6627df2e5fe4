"""Labeling catalog segments: provenance on every label, incremental runs, per-item errors,
a process pool, and descriptions plus index kept in step."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from labeling_fakes import frames_answer, vlm_settings
from labeling_support import RecordingIndex, ingest, make_label_deps, write_camera_log

from robotops.errors import InvalidRequestError
from robotops.memory.catalog import LogRow
from robotops.settings import LabelerSettings
from robotops.tools.labeling import run
from robotops.tools.labeling.backends.embedded import EmbeddedBackend
from robotops.tools.labeling.models import LabelRequest
from robotops.tools.labeling.registry import LabelerConfigError
from robotops.tools.labeling.run import LabelDeps, label_segments
from robotops.tools.labeling.sync import MARKER

KINDS = ["glare", "plain", "corrupt", "blind", "dark"]


def _segments(deps: LabelDeps, log_id: str) -> list[str]:
    return [s.id for s in deps.catalog.segments(log_id)]


def test_labels_segments_with_provenance_and_records_errors(
    deps: LabelDeps, scenes: dict[str, np.ndarray], tmp_path: Path
) -> None:
    deps.index = index = RecordingIndex()
    log_id = ingest(deps, write_camera_log(tmp_path / "104.mcap", scenes, KINDS))
    glare, plain, corrupt, blind, dark = _segments(deps, log_id)
    progress: list[tuple[int, int]] = []

    result = label_segments(LabelRequest(), deps, progress=lambda d, t: progress.append((d, t)))

    assert (result.pending, result.labeled, result.failed) == (5, 3, 2)
    assert progress[-1] == (5, 5)
    assert result.labeler_version.startswith("embedded-") and result.labels["glare"] == 1
    labels = deps.store.active_labels([glare, plain, dark])
    found = {sid: {lb.value for lb in labels.get(sid, [])} for sid in (glare, plain, dark)}
    assert "glare" in found[glare] and "glare" not in found[plain]
    assert "low_light" in found[dark]
    label = next(lb for lb in labels[glare] if lb.value == "glare")
    segment = next(s for s in deps.catalog.segments(log_id) if s.id == glare)
    assert label.labeler_version == result.labeler_version and label.backend == "embedded"
    assert label.model.startswith("sha256:") and label.model == result.model
    assert label.vocabulary_sha == deps.vocabulary.sha256 and label.log_id == log_id
    assert (label.segment_start_ns, label.segment_end_ns) == (segment.start_ns, segment.end_ns)
    assert segment.start_ns <= label.frame_ns < segment.end_ns and 0.5 <= label.confidence <= 1
    # the description and the index now say it in words, with the labeler version
    assert MARKER in segment.description and "lens flare" in segment.description
    assert segment.description.startswith("robot 104")  # what ingest wrote is kept
    assert "glare" in index.docs[glare].labels and "lens flare" in index.docs[glare].text
    assert index.versions[glare] == result.labeler_version
    # per-item errors are recorded on the segment; the others were labeled anyway
    errors = dict((sid, msg) for sid, _, msg in deps.store.errors(result.labeler_version))
    assert set(errors) == {corrupt, blind}
    assert "undecodable" in errors[corrupt] and "no camera frames" in errors[blind]


def test_labeling_is_incremental_per_labeler_version(
    deps: LabelDeps, scenes: dict[str, np.ndarray], tmp_path: Path
) -> None:
    first_log = ingest(deps, write_camera_log(tmp_path / "a.mcap", scenes, ["glare", "plain"]))
    first = label_segments(LabelRequest(), deps)
    again = label_segments(LabelRequest(), deps)
    assert (first.labeled, again.pending, again.labeled) == (2, 0, 0)
    assert again.labeler_version == first.labeler_version
    ingest(
        deps,
        write_camera_log(tmp_path / "b.mcap", scenes, ["dark", "glare", "corrupt"], robot_id="105"),
    )
    third = label_segments(LabelRequest(), deps)
    assert (third.pending, third.labeled, third.failed) == (3, 2, 1)
    fourth = label_segments(LabelRequest(), deps)  # only the failed segment is tried again
    assert (fourth.pending, fourth.labeled, fourth.failed) == (1, 0, 1)
    assert deps.store.counts(first.labeler_version)["segments"] == 4
    labels = deps.store.active_labels(_segments(deps, first_log))
    assert sum(len(v) for v in labels.values()) == first.labels["glare"] + sum(
        n for k, n in first.labels.items() if k != "glare"
    )  # nothing labeled twice
    # another configuration is another labeler version, which labels everything again
    deps.settings = deps.settings.model_copy(update={"frames_per_segment": 2})
    other = label_segments(LabelRequest(), deps)
    assert other.labeler_version != first.labeler_version and other.pending == 5


def test_filters_by_log_and_time(
    deps: LabelDeps, scenes: dict[str, np.ndarray], tmp_path: Path
) -> None:
    a = ingest(deps, write_camera_log(tmp_path / "a.mcap", scenes, ["glare", "plain", "dark"]))
    ingest(deps, write_camera_log(tmp_path / "b.mcap", scenes, ["plain"], robot_id="105"))
    starts = [s.end_ns for s in deps.catalog.segments(a)]
    only = label_segments(LabelRequest(log_ids=[a[:8]], since_ns=starts[1]), deps)
    assert only.pending == 2
    assert label_segments(LabelRequest(limit=1), deps).pending == 1
    with pytest.raises(InvalidRequestError, match="no ingested log matches ffff"):
        label_segments(LabelRequest(log_ids=["ffff"]), deps)


def test_a_process_pool_gives_the_same_labels(
    scenes: dict[str, np.ndarray], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the embedded backend only spawns workers for big jobs; make this small one count
    monkeypatch.setattr(EmbeddedBackend, "min_segments_per_worker", 1)
    spawned: list[int] = []
    real_pool = run.ProcessPoolExecutor
    monkeypatch.setattr(
        run, "ProcessPoolExecutor", lambda n, **kw: spawned.append(n) or real_pool(n, **kw)
    )
    results = []
    for workers in (1, 2):
        deps = make_label_deps(tmp_path / f"w{workers}", settings=LabelerSettings(workers=workers))
        for n, kinds in enumerate((["glare", "plain"], ["dark", "corrupt"])):
            ingest(
                deps,
                write_camera_log(
                    tmp_path / f"{workers}-{n}.mcap", scenes, kinds, robot_id=str(100 + n)
                ),
            )
        results.append(label_segments(LabelRequest(), deps))
        deps.catalog.close()
    inline, pooled = results
    assert spawned == [2]
    assert pooled.labels == inline.labels and (pooled.labeled, pooled.failed) == (3, 1)


def test_a_log_whose_file_is_gone_is_an_error_per_segment(
    deps: LabelDeps, scenes: dict[str, np.ndarray], tmp_path: Path
) -> None:
    log = write_camera_log(tmp_path / "gone.mcap", scenes, ["glare", "plain"])
    log_id = ingest(deps, log)
    with deps.catalog.session() as session:
        row = session.get(LogRow, log_id)
        assert row is not None
        deps.blobs.delete(row.files[0]["sha256"])  # type: ignore[union-attr]
    log.path.unlink()
    result = label_segments(LabelRequest(), deps)
    assert (result.labeled, result.failed) == (0, 2)
    assert "unavailable" in result.errors[0]


def test_a_misconfigured_backend_fails_before_any_work(
    deps: LabelDeps, scenes: dict[str, np.ndarray], tmp_path: Path
) -> None:
    ingest(deps, write_camera_log(tmp_path / "a.mcap", scenes, ["glare"]))
    with pytest.raises(LabelerConfigError, match="CLIP_MODEL_DIR"):
        label_segments(LabelRequest(backend="clip"), deps)
    assert deps.store.versions() == []


@pytest.mark.parametrize("backend", ["embedded", "clip", "openai"])
def test_every_backend_labels_through_the_same_run(
    backend: str, scenes: dict[str, np.ndarray], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    settings = LabelerSettings(workers=1)
    if backend == "clip":
        clip_dir = request.getfixturevalue("clip_dir")
        settings = LabelerSettings(workers=1, clip_model_dir=clip_dir, clip_threshold=0.0)
    elif backend == "openai":
        fake, url = request.getfixturevalue("vlm")
        # one request per segment: the first is malformed, then "plain", then "dark"
        fake.script = ["not json at all", None, lambda n: frames_answer(*[["low_light"]] * n)]
        settings = vlm_settings(url, batch_size=3)
    deps = make_label_deps(tmp_path / "data", index=RecordingIndex(), settings=settings)
    ingest(deps, write_camera_log(tmp_path / "a.mcap", scenes, ["glare", "plain", "dark"]))
    result = label_segments(LabelRequest(backend=backend), deps)
    assert result.backend == backend and result.labeler_version.startswith(backend)
    if backend == "openai":
        assert (result.labeled, result.failed) == (2, 1)
        assert "malformed JSON" in result.errors[0]
        assert result.labels == {"low_light": 1}
    else:
        assert (result.labeled, result.failed) == (3, 0)
    deps.catalog.close()
