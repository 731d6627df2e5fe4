"""Datasets: selected by label, balanced, range-teacher targets, leak-free splits, lineage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from dataset_logs import record_episode, write_log

from robotops.memory.labels import Labeling, LabelStore
from robotops.memory.lineage import parents
from robotops.settings import get_settings
from robotops.sim.logs.readers import open_log
from robotops.sim.world.specs import GlareHazard, ShadowHazard, WorldSpec
from robotops.tools.datasets.build import DatasetRequest, build_dataset
from robotops.tools.datasets.frames import load_frames
from robotops.tools.datasets.simframes import render_sim_frames
from robotops.tools.datasets.store import load_dataset, save_dataset
from robotops.tools.datasets.teacher import default_teacher, scan_target
from robotops.tools.logs.ingest import IngestDeps, IngestRequest, ingest_log

GLARE_WORLD = WorldSpec(aisle=0, hazards=[GlareHazard(x=2.0, intensity=1.5)])
SHADOW_WORLD = WorldSpec(aisle=2, hazards=[ShadowHazard(x=-3.0, width=2.0, contrast=0.9)])


@pytest.fixture(scope="module")
def log_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    calls = record_episode(seconds=24.0)
    return write_log(calls, tmp_path_factory.mktemp("logs") / "robot7.mcap")


@pytest.fixture
def deps(log_file: Path):
    deps = IngestDeps.from_settings(get_settings())
    ingest_log(IngestRequest(path=log_file), deps)
    yield deps
    deps.catalog.close()


def label_glare(deps: IngestDeps, seconds: tuple[float, float] = (0.0, 6.0)) -> list[str]:
    """Glare labels on the segments of the first seconds, as the auto-labeler would store."""
    catalog = deps.catalog
    log = catalog.list_logs()[0]
    store = LabelStore(catalog)
    version = store.ensure_version(
        version="test-1",
        sha256="ab" * 32,
        labeler_id="test",
        backend="embedded",
        model="m",
        vocabulary_sha="cd" * 32,
    )
    lo, hi = (log.start_ns + int(s * 1e9) for s in seconds)
    segments = [s for s in catalog.segments(log.id) if lo <= s.start_ns < hi]
    with catalog.transaction() as session:
        store.save(
            session,
            version,
            [
                Labeling(
                    segment_id=s.id,
                    log_id=log.id,
                    start_ns=s.start_ns,
                    end_ns=s.end_ns,
                    labels=[("glare", 0.9, s.start_ns)],
                    frames=1,
                )
                for s in segments
            ],
        )
    return [s.id for s in segments]


def test_label_query_selects_balances_and_splits_without_leaks(deps):
    labeled = label_glare(deps)
    request = DatasetRequest(labels=["glare"], normal_ratio=0.5, block_s=4.0, guard_s=0.5)
    manifest = build_dataset(request, deps.catalog, deps.blobs)
    assert manifest.sha256 == build_dataset(request, deps.catalog, deps.blobs).sha256
    hazard = [f for f in manifest.frames if "glare" in f.tags]
    assert hazard and all(f.segment_id in labeled for f in hazard)
    normal = [f for f in manifest.frames if not f.tags and not f.target]
    assert len(normal) <= int(np.ceil(0.5 * (len(manifest.frames) - len(normal))))
    assert {f.split for f in manifest.frames} == {"train", "val"}
    by_group: dict[str, set[str]] = {}
    for f in manifest.frames:
        by_group.setdefault(f.group, set()).add(f.split)
    assert all(len(s) == 1 for s in by_group.values())
    ordered = sorted(manifest.frames, key=lambda f: f.log_time_ns)
    for a, b in zip(ordered, ordered[1:], strict=False):
        if a.split != b.split:  # frames either side of a split boundary are a guard apart
            assert b.log_time_ns - a.log_time_ns > 0.5e9
    assert manifest.labeler_versions == ["test-1"]
    assert {lab.value for lab in manifest.labels} == {"glare"}


def test_targets_come_from_the_nearest_scan(deps, log_file):
    label_glare(deps)
    manifest = build_dataset(DatasetRequest(labels=["glare"]), deps.catalog, deps.blobs)
    teacher = default_teacher()
    scans = []
    with open_log(log_file) as reader:
        for m in reader.messages():
            if m.channel.type == "sensor_msgs/LaserScan":
                scans.append((m.log_time_ns, scan_target(m.decoded, teacher)))
    positives = [f for f in manifest.frames if f.target]
    assert positives, "the pallet in the lane gives the teacher real obstacles"
    for f in manifest.frames[::7]:
        t, want = min(scans, key=lambda s: abs(s[0] - f.log_time_ns))
        assert f.target == want and "range-teacher" in f.provenance


def test_sim_frames_render_the_hazards_deterministically():
    frames, targets, meta = render_sim_frames([GLARE_WORLD, SHADOW_WORLD], 16, seed=5)
    again, targets2, _ = render_sim_frames([GLARE_WORLD, SHADOW_WORLD], 16, seed=5)
    assert frames.shape == (16, 96, 128, 3) and np.array_equal(frames, again)
    assert np.array_equal(targets, targets2)
    tags = {t for m in meta for t in m.tags}
    assert {"glare", "shadow"} <= tags


def test_saved_dataset_round_trips_with_lineage_to_logs_labels_and_packs(deps):
    label_glare(deps)
    request = DatasetRequest(labels=["glare"], worlds=[GLARE_WORLD], sim_frames=6, seed=2)
    manifest = build_dataset(request, deps.catalog, deps.blobs)
    sha = save_dataset(manifest, deps.catalog, deps.blobs)
    assert sha == manifest.sha256
    loaded = load_dataset(sha[:10], deps.catalog, deps.blobs)
    assert loaded == manifest
    edges = {(e.relation, e.kind) for e in parents(deps.catalog, sha)}
    assert {("frames-from", "log"), ("frames-from", "sim-frames"), ("labeled-by", "labeler")} <= (
        edges
    )
    frames = load_frames(loaded, deps.blobs)
    assert frames.frames.shape == (len(manifest.frames), 96, 128, 3)
    assert frames.frames.reshape(len(manifest.frames), -1).std(axis=1).min() > 1.0
    assert frames.val.sum() == sum(f.split == "val" for f in manifest.frames)
    from robotops.errors import InvalidRequestError

    sim = next(i for i, f in enumerate(loaded.frames) if f.source == "sim")
    beyond = loaded.model_copy(deep=True)
    beyond.frames[sim].index = loaded.sim_packs[0].frames
    with pytest.raises(InvalidRequestError, match="which has 6"):
        load_frames(beyond, deps.blobs)


def test_nothing_matching_is_a_clear_error(deps):
    from robotops.errors import InvalidRequestError

    with pytest.raises(InvalidRequestError, match="matched no frames"):
        build_dataset(DatasetRequest(log_ids=[]), deps.catalog, deps.blobs)
    with pytest.raises(InvalidRequestError, match="needs worlds"):
        build_dataset(DatasetRequest(log_ids=[], sim_frames=5), deps.catalog, deps.blobs)
