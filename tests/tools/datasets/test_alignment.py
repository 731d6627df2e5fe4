"""The alignment gate: skew, gaps, duplicates, reordering and stray labels are each caught,
named by log, topic, time and size; clean data passes."""

from __future__ import annotations

from pathlib import Path

import pytest
from dataset_logs import CAMERA, T0, CallLog, Faults, record_episode, write_log

from robotops.memory.blobs import LocalBlobStore
from robotops.settings import DatasetSettings
from robotops.tools.datasets.alignment import AlignmentError, check_alignment
from robotops.tools.datasets.gate import gate_dataset
from robotops.tools.datasets.models import DatasetManifest, FrameRef, LabelRef, TeacherConfig


@pytest.fixture(scope="module")
def calls() -> CallLog:
    return record_episode(seconds=24.0)


def test_clean_log_passes(calls, tmp_path):
    report = check_alignment(write_log(calls, tmp_path / "clean.mcap"))
    assert report.ok, report.text()
    roles = {c.role: c for c in report.channels}
    assert set(roles) == {"camera", "scan", "odom"}
    assert roles["camera"].period_s == pytest.approx(0.2)
    assert roles["camera"].offset_s == 0.0 and abs(roles["camera"].drift_ppm or 0.0) < 1.0
    assert roles["camera"].motion_lag_s is not None


@pytest.mark.parametrize(
    ("faults", "kind", "topic", "time_s", "size"),
    [
        (Faults(camera_log_shift_s=1.0), "motion_lag", CAMERA, 1.0, 1.0),
        (Faults(camera_stamp_shift_s=0.2), "offset", CAMERA, 0.0, -0.2),
        (Faults(drop_scan=(5.0, 7.0)), "gap", "/scan", 4.9, 2.1),
        (Faults(duplicate_images=[10]), "duplicate", CAMERA, 2.0, 1.0),
        (Faults(swap_image_stamps=[20]), "out_of_order", CAMERA, 4.2, 0.2),
    ],
    ids=["log-clock-skew", "stamp-skew", "gap", "duplicate", "reordered"],
)
def test_each_fault_is_caught_and_located(calls, tmp_path, faults, kind, topic, time_s, size):
    report = check_alignment(write_log(calls, tmp_path / "bad.mcap", faults), log_id="log-x")
    assert not report.ok
    assert [p.kind for p in report.problems] == [kind], report.text()
    problem = report.problems[0]
    assert problem.log == "log-x" and problem.topic == topic
    assert problem.time_ns == pytest.approx(T0 + time_s * 1e9, abs=0.11e9)
    assert problem.size == pytest.approx(size, abs=0.26)
    assert topic in problem.message and str(problem.time_ns) in problem.message


def test_thresholds_are_settings(calls, tmp_path):
    path = write_log(calls, tmp_path / "dup.mcap", Faults(duplicate_images=[10]))
    assert check_alignment(path, DatasetSettings(max_duplicates=1)).ok


def test_labels_must_match_a_frame(calls, tmp_path):
    path = write_log(calls, tmp_path / "clean.mcap")
    good = ("glare", T0 + 2_000_000_000)  # a camera frame time
    assert check_alignment(path, label_frames=[good]).ok
    report = check_alignment(path, label_frames=[good, ("glare", T0 + 2_100_000_000)])
    assert [p.kind for p in report.problems] == ["label_mismatch"]
    assert report.problems[0].time_ns == T0 + 2_100_000_000


def test_gate_stops_a_dataset_with_a_bad_log(calls, tmp_path):
    blobs = LocalBlobStore(tmp_path / "blobs")
    good = blobs.put_file(write_log(calls, tmp_path / "good.mcap"))
    bad = blobs.put_file(write_log(calls, tmp_path / "bad.mcap", Faults(drop_scan=(5.0, 7.0))))

    def manifest(*logs: str) -> DatasetManifest:
        frame = FrameRef(source="log", blob_sha256=logs[0], target=0, group="g", provenance="t")
        labels = [
            LabelRef(
                segment_id=f"{logs[0][:16]}:{T0}",
                value="glare",
                labeler_version="x",
                frame_ns=T0 + 400_000_000,
            )
        ]
        return DatasetManifest(
            name="d",
            seed=0,
            teacher=TeacherConfig(),
            frames=[frame],
            logs=list(logs),
            labels=labels,
        )

    assert [r.ok for r in gate_dataset(manifest(good), blobs)] == [True]
    with pytest.raises(AlignmentError, match="gap of 2.100 s") as caught:
        gate_dataset(manifest(good, bad), blobs)
    assert [r.log for r in caught.value.reports] == [bad]


def test_unreadable_log_is_a_format_error(tmp_path: Path):
    from robotops.errors import LogFormatError

    junk = tmp_path / "junk.mcap"
    junk.write_bytes(b"not an mcap")
    with pytest.raises(LogFormatError):
        check_alignment(junk)
