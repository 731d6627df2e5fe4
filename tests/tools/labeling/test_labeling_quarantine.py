"""Quarantining a labeler version: out of descriptions, search and new datasets; the datasets
already built from it are listed; its labels are kept as evidence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from labeling_support import RecordingIndex, ingest, make_label_deps, write_camera_log

from robotops.errors import InvalidRequestError, NotFoundError
from robotops.memory.lineage import parents
from robotops.memory.vectors import VectorIndex
from robotops.settings import Settings
from robotops.tools.labeling.models import LabelRequest, QuarantineRequest
from robotops.tools.labeling.quarantine import list_labelers, quarantine_labeler, reindex_labels
from robotops.tools.labeling.run import LabelDeps, QuarantinedLabelerError, label_segments
from robotops.tools.labeling.sync import MARKER
from robotops.tools.logs.search import SearchQuery, search_segments

DATASET, LATER = "ab" * 32, "cd" * 32


def test_quarantine_takes_a_version_out_of_service(
    deps: LabelDeps, scenes: dict[str, np.ndarray], tmp_path: Path
) -> None:
    deps.index = index = RecordingIndex()
    log_id = ingest(deps, write_camera_log(tmp_path / "a.mcap", scenes, ["glare", "plain"]))
    glare, _ = (s.id for s in deps.catalog.segments(log_id))
    bad = label_segments(LabelRequest(), deps).labeler_version
    deps.store.record_dataset(DATASET, [bad], name="glare fine-tune")

    result = quarantine_labeler(QuarantineRequest(labeler_version=bad[:14], reason="bad"), deps)

    assert result.labeler_version == bad and not result.already
    assert result.labels_hidden >= 1 and result.segments_updated >= 1
    assert result.datasets_affected == [DATASET]
    assert index.dropped == [bad]
    assert index.docs[glare].labels == [] and "lens flare" not in index.docs[glare].text
    segment = next(s for s in deps.catalog.segments(log_id) if s.id == glare)
    assert MARKER not in segment.description and segment.description.startswith("robot 104")
    assert deps.store.active_labels([glare]) == {}
    assert deps.store.counts(bad)["labels"] == result.labels_hidden  # kept as evidence
    with pytest.raises(InvalidRequestError, match="quarantined"):
        deps.store.record_dataset(LATER, [bad])
    with pytest.raises(QuarantinedLabelerError, match="is quarantined"):
        label_segments(LabelRequest(), deps)
    again = quarantine_labeler(QuarantineRequest(labeler_version=bad), deps)
    assert again.already and again.datasets_affected == [DATASET]
    (info,) = list_labelers(deps)
    assert info.quarantined and info.quarantine_reason == "bad" and info.datasets == [DATASET]
    labeler_sha = deps.store.get_version(bad).sha256
    assert [e.sha256 for e in parents(deps.catalog, DATASET)] == [labeler_sha]


def test_labels_of_other_versions_stay_in_service(
    deps: LabelDeps, scenes: dict[str, np.ndarray], tmp_path: Path
) -> None:
    deps.index = index = RecordingIndex()
    log_id = ingest(deps, write_camera_log(tmp_path / "a.mcap", scenes, ["glare"]))
    (glare,) = (s.id for s in deps.catalog.segments(log_id))
    bad = label_segments(LabelRequest(), deps).labeler_version
    deps.settings = deps.settings.model_copy(update={"frames_per_segment": 2})
    good = label_segments(LabelRequest(), deps).labeler_version
    quarantine_labeler(QuarantineRequest(labeler_version=bad), deps)
    kept = deps.store.active_labels([glare])[glare]
    assert {lb.labeler_version for lb in kept} == {good}
    assert "glare" in index.docs[glare].labels and index.versions[glare] == good
    deps.store.record_dataset(LATER, [good])  # a new dataset from the good version is fine
    with pytest.raises(NotFoundError, match="labeler version"):
        quarantine_labeler(QuarantineRequest(labeler_version="nope"), deps)


def test_search_finds_labels_and_forgets_quarantined_ones(
    scenes: dict[str, np.ndarray], tmp_path: Path
) -> None:
    index = VectorIndex.from_settings(Settings(data_dir=tmp_path / "data"))
    deps = make_label_deps(tmp_path / "data", index=index)
    log_id = ingest(deps, write_camera_log(tmp_path / "a.mcap", scenes, ["plain", "glare"]))
    _, glare = (s.id for s in deps.catalog.segments(log_id))
    version = label_segments(LabelRequest(), deps).labeler_version

    hits = search_segments(SearchQuery(text="lens flare", k=1), index).hits
    assert hits[0].doc.segment_id == glare and "lens flare" in hits[0].doc.text
    by_label = search_segments(SearchQuery(text="camera", label="glare"), index).hits
    assert [h.doc.segment_id for h in by_label] == [glare]
    assert index.labels_of(glare)["glare"] == version

    quarantine_labeler(QuarantineRequest(labeler_version=version), deps)
    assert search_segments(SearchQuery(text="camera", label="glare"), index).hits == []
    assert "lens flare" not in index.get([glare])[0].text
    deps.catalog.close()


def test_reindex_rebuilds_descriptions_and_index_from_the_catalog(
    deps: LabelDeps, scenes: dict[str, np.ndarray], tmp_path: Path
) -> None:
    deps.index = index = RecordingIndex()
    log_id = ingest(deps, write_camera_log(tmp_path / "a.mcap", scenes, ["glare", "plain"]))
    glare, _ = (s.id for s in deps.catalog.segments(log_id))
    label_segments(LabelRequest(), deps)
    index.docs.clear()  # an index rebuilt empty, say
    reindex_labels(deps)
    assert "glare" in index.docs[glare].labels and "lens flare" in index.docs[glare].text
