"""Camera frames out of logs: found by type, sampled per segment, and decoded or explained."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from labeling_support import SEGMENT_NS, T0, ingest, write_camera_log

from robotops.tools.labeling.frames import Window, decode_compressed, decode_raw, sample_frames
from robotops.tools.labeling.models import LabelRequest
from robotops.tools.labeling.registry import FrameError
from robotops.tools.labeling.run import LabelDeps, label_segments

SHARED_LOGS = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "logs"


def _raw(encoding: str, pixels: np.ndarray, bigendian: int = 0) -> SimpleNamespace:
    h, w = pixels.shape[:2]
    data = pixels.tobytes()
    return SimpleNamespace(
        encoding=encoding, height=h, width=w, step=len(data) // h, is_bigendian=bigendian, data=data
    )


def test_raw_images_decode_to_rgb() -> None:
    rgb = np.zeros((4, 6, 3), np.uint8)
    rgb[..., 0] = 200
    assert decode_raw(_raw("rgb8", rgb))[0, 0].tolist() == [200, 0, 0]
    assert decode_raw(_raw("bgr8", rgb))[0, 0].tolist() == [0, 0, 200]
    mono = np.full((4, 6), 70, np.uint8)
    assert decode_raw(_raw("mono8", mono))[0, 0].tolist() == [70, 70, 70]
    deep = np.full((4, 6), 257 * 90, ">u2")
    assert decode_raw(_raw("mono16", deep, bigendian=1))[0, 0].tolist() == [90, 90, 90]
    big = decode_raw(_raw("rgb8", np.zeros((960, 1280, 3), np.uint8)))
    assert max(big.shape[:2]) <= 640


@pytest.mark.parametrize(
    ("msg", "words"),
    [
        (_raw("32FC1", np.zeros((2, 2), np.float32)), "not a camera image"),
        (
            SimpleNamespace(
                encoding="rgb8", height=4, width=4, step=12, data=b"\0" * 5, is_bigendian=0
            ),
            "needs 48",
        ),
    ],
)
def test_bad_raw_images_say_why(msg: SimpleNamespace, words: str) -> None:
    with pytest.raises(FrameError, match=words):
        decode_raw(msg)


def test_undecodable_compressed_image_says_why() -> None:
    with pytest.raises(FrameError, match="undecodable jpeg"):
        decode_compressed(SimpleNamespace(data=b"\xff\xd8garbage", format="jpeg"))
    with pytest.raises(FrameError, match="no data"):
        decode_compressed(SimpleNamespace(data=b"", format="jpeg"))


def test_frames_are_sampled_evenly_per_segment(
    scenes: dict[str, np.ndarray], tmp_path: Path
) -> None:
    log = write_camera_log(tmp_path / "a.mcap", scenes, ["plain", "blind", "glare"])
    windows = [Window(f"s{k}", T0 + k * SEGMENT_NS, T0 + (k + 1) * SEGMENT_NS) for k in range(3)]
    out = list(sample_frames(log.path, windows, per_segment=3))
    assert [w.segment_id for w, _ in out] == ["s0", "s1", "s2"]
    times = [[t - T0 - k * SEGMENT_NS for t, _, _ in f.frames] for k, (_, f) in enumerate(out)]
    assert times[0] == [400_000_000, 1_000_000_000, 1_800_000_000] and times[1] == []
    assert all(frame.shape == (96, 128, 3) for _, _, frame in out[2][1].frames)


def test_real_log_with_broken_images_records_errors(deps: LabelDeps) -> None:
    from labeling_support import CameraLog

    ingest(deps, CameraLog(SHARED_LOGS / "rosbagsrs_alltypes_mcap"))
    result = label_segments(LabelRequest(), deps)
    assert result.pending >= 1 and result.labeled == 0 and result.failed == result.pending
    broken = [e for e in result.errors if "could be judged" in e]
    assert broken and "Truncated" in broken[0] and "needs 921600" in broken[0]
    assert any("no camera frames in this segment" in e for e in result.errors)
