"""Segment features: alignment, ordering, image statistics, events and descriptions."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from ingest_support import T0, jpeg

from robotops.sim.logs.readers import ChannelInfo, LogMessage
from robotops.tools.logs.features import (
    FeatureConfig,
    SegmentBuilder,
    describe,
    image_stats,
)

S = 1_000_000_000
MS = 1_000_000


def channel(topic: str, schema: str, decode: Any = None) -> ChannelInfo:
    """A channel whose 'decoder' returns ``decode(data)`` (or the data itself)."""
    fn = decode or (lambda data: data)
    return ChannelInfo(topic, schema, "test", "test", build=lambda: (fn, ""))


def builder(**kwargs: Any) -> tuple[SegmentBuilder, list[bytes]]:
    thumbs: list[bytes] = []

    def put(data: bytes) -> str:
        thumbs.append(data)
        return f"{len(thumbs):064x}"

    config = FeatureConfig(segment_ns=2 * S, put_thumbnail=put, **kwargs)
    return SegmentBuilder(config), thumbs


def run(b: SegmentBuilder, messages: list[LogMessage]) -> list:
    done = [s for m in messages for s in b.add(m)]
    return done + b.finish()


def test_segments_align_to_the_clock_and_count_gaps() -> None:
    b, _ = builder()
    imu = channel("/imu", "sensor_msgs/msg/Imu")
    times = [T0 + 500 * MS + i * 100 * MS for i in range(10)]  # 0.5 .. 1.4 s
    times += [T0 + 4 * S + i * 100 * MS for i in range(5)]  # silence, then 4.0 .. 4.4 s
    segments = run(b, [LogMessage(imu, t, b"") for t in times])
    assert [s.start_ns for s in segments] == [T0, T0 + 4 * S]
    first, second = (s.features() for s in segments)
    assert first["topics"]["/imu"] == {"count": 10, "rate_hz": 5.0, "max_gap_s": 0.1}
    assert second["gaps"] == {"/imu": 2.6}
    assert "gap of 2.6 s on /imu" in describe(second)


def test_slightly_out_of_order_messages_still_count() -> None:
    b, _ = builder()
    imu = channel("/imu", "sensor_msgs/msg/Imu")
    order = [T0 + 3 * S, T0 + 1 * S, T0 + 5 * S, T0 + 2500 * MS, T0 + 7 * S, T0 + 100 * MS]
    segments = run(b, [LogMessage(imu, t, b"") for t in order])
    counts = {s.start_ns: s.counts["/imu"] for s in segments}
    assert counts == {T0: 1, T0 + 2 * S: 2, T0 + 4 * S: 1, T0 + 6 * S: 1}
    assert b.late == 1  # 0.1 s arrived after 7 s: three segments late


def test_image_features_decode_two_frames_per_segment() -> None:
    b, thumbs = builder(pixel_stride=2, thumbnail_px=32)
    cam = channel(
        "/cam",
        "sensor_msgs/msg/CompressedImage",
        lambda data: SimpleNamespace(format="jpeg", data=data),
    )
    decoded: list[int] = []
    original = cam.decode

    def counting(data: bytes) -> Any:
        decoded.append(1)
        return original(data)

    cam.decode = counting  # type: ignore[method-assign]
    frames = [LogMessage(cam, T0 + i * 100 * MS, jpeg(glare=i >= 10, seed=i)) for i in range(20)]
    [segment] = run(b, frames)
    cameras = segment.features()["cameras"]["/cam"]
    assert len(decoded) == 2 and cameras["frames_decoded"] == 2
    assert 0.1 < cameras["saturated_frac"] < 0.4  # the glare frame, the mid-segment one
    assert len(thumbs) == 1 and thumbs[0][:2] == b"\xff\xd8"
    assert "glare?" in describe(segment.features())


def test_raw_image_encodings() -> None:
    b, thumbs = builder(pixel_stride=1)
    pixels = np.zeros((4, 6, 3), np.uint8)
    pixels[:2] = 255  # top half white
    msg = SimpleNamespace(
        height=4, width=6, step=18, encoding="bgr8", is_bigendian=0, data=pixels.tobytes()
    )
    cam = channel("/raw", "sensor_msgs/msg/Image", lambda _: msg)
    [segment] = run(b, [LogMessage(cam, T0, b"")])
    stats = segment.features()["cameras"]["/raw"]
    assert stats["saturated_frac"] == 0.5 and stats["dark_frac"] == 0.5
    assert len(thumbs) == 1


def test_image_stats_on_known_pixels() -> None:
    gray = np.array([[0, 255], [128, 255]], np.uint8)
    stats = image_stats(gray)
    assert stats["saturated_frac"] == 0.5 and stats["dark_frac"] == 0.25
    assert stats["brightness"] == pytest.approx((0 + 255 + 128 + 255) / 4 / 255)


def test_events_from_diagnostics_and_rosout() -> None:
    b, _ = builder()
    status = lambda level: SimpleNamespace(  # noqa: E731
        status=[SimpleNamespace(name="motor", level=bytes([level]), message="overheat")]
    )
    diag = channel(
        "/diagnostics", "diagnostic_msgs/msg/DiagnosticArray", lambda data: status(data[0])
    )
    levels = [0, 2, 2, 2, 0, 2]
    messages = [LogMessage(diag, T0 + i * 100 * MS, bytes([lv])) for i, lv in enumerate(levels)]
    rosout = channel(
        "/rosout",
        "rosgraph_msgs/Log",
        lambda data: SimpleNamespace(level=data[0], name="nav", msg="no path"),
    )
    messages += [
        LogMessage(rosout, T0 + 900 * MS, bytes([8])),
        LogMessage(rosout, T0 + 950 * MS, bytes([2])),
    ]
    [segment] = run(b, sorted(messages, key=lambda m: m.log_time_ns))
    kinds = [(e.kind, e.time_ns) for e in segment.events]
    assert kinds == [
        ("diagnostic_error", T0 + 100 * MS),
        ("diagnostic_error", T0 + 500 * MS),
        ("log_error", T0 + 900 * MS),
    ]
    assert segment.events[2].detail == "nav: no path"


def test_undecodable_or_odd_messages_never_stop_features() -> None:
    b, _ = builder()
    odd = channel("/odom", "nav_msgs/msg/Odometry", lambda data: 42)  # no twist at all
    broken = channel(
        "/cam",
        "sensor_msgs/msg/CompressedImage",
        lambda data: SimpleNamespace(format="jpeg", data=b"not a jpeg"),
    )
    [segment] = run(b, [LogMessage(odd, T0, b""), LogMessage(broken, T0 + 1, b"")])
    assert segment.counts == {"/odom": 1, "/cam": 1}
    assert any("/cam" in note for note in b.notes)


def test_description_of_a_plain_log() -> None:
    features = {
        "duration_s": 2.0,
        "topics": {"/chatter": {"count": 4, "rate_hz": 2.0, "max_gap_s": 0.5}},
    }
    assert describe(features) == "robot; topics: /chatter 2 Hz"


def test_description_for_the_embedding_has_fractions_to_one_decimal() -> None:
    features = {
        "speed": {"mean": 1.04, "max": 1.12},
        "perception": {"probability_max": 0.97, "probability_mean": 0.54},
        "cameras": {
            "/cam": {
                "saturated_frac": 0.0,
                "dark_frac": 0.0,
                "brightness": 0.534,
                "contrast": 0.151,
            }
        },
    }
    text = describe(features, "104")
    assert "up to 0.97 (mean 0.54)" in text and "brightness 0.53, contrast 0.15" in text
    coarse = describe(features, "104", digits=1)
    assert "up to 1.0 (mean 0.5)" in coarse and "brightness 0.5, contrast 0.2" in coarse
    assert coarse.split(";")[:2] == text.split(";")[:2]  # who and speed are unchanged
