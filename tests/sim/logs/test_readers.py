"""Readers: every format through one interface, on real files and on files written here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from ingest_support import SHARED, SHARED_LOGS, T0, write_robot_log
from mcap.writer import CompressionType, Writer
from mcap_protobuf.writer import Writer as ProtobufWriter
from rosbags.rosbag1 import Writer as Bag1Writer
from rosbags.rosbag2 import Writer as Bag2Writer
from rosbags.rosbag2.enums import CompressionFormat, CompressionMode
from rosbags.typesys import Stores, get_typestore

from robotops.errors import LogFormatError, NotFoundError
from robotops.sim.logs.readers import (
    READERS,
    LogReader,
    canonical_type,
    detect_format,
    open_log,
    topics_of_type,
    type_matches,
)

MS = 1_000_000


def read_all(reader: LogReader) -> tuple[int, dict[str, int], dict[str, int]]:
    """Messages read, and per topic how many were read and how many decoded."""
    count, read, decoded = 0, {}, {}
    for message in reader.messages():
        count += 1
        read[message.topic] = read.get(message.topic, 0) + 1
        if message.decoded is not None:
            decoded[message.topic] = decoded.get(message.topic, 0) + 1
    return count, read, decoded


@pytest.mark.parametrize("name", sorted(SHARED))
def test_shared_log_reads_every_message(name: str) -> None:
    fmt, messages, topics, decodable = SHARED[name]
    with open_log(SHARED_LOGS / name) as reader:
        summary = reader.summary()
        count, read, decoded = read_all(reader)
        assert summary.format == fmt
        assert count == messages
        assert summary.message_count in (None, messages)
        assert len(reader.channels) == topics
        # every message of a decodable topic decodes, not just the first
        assert len(decoded) == decodable
        assert all(decoded[t] == read[t] for t in decoded)


def test_empty_bag_is_rejected_with_reason() -> None:
    path = SHARED_LOGS / "rosbagjs_fixtures/empty-file.bag"
    with pytest.raises(LogFormatError, match="empty file") as err:
        open_log(path)
    assert err.value.path == str(path) and err.value.offset == 0


def test_wrong_serialization_format_is_kept_raw_with_note() -> None:
    with open_log(SHARED_LOGS / "rosbag2_wrong_rmw_mcap") as reader:
        messages = list(reader.messages())
        assert messages and all(m.decoded is None and m.data for m in messages)
        notes = {c.topic: c.note for c in reader.channels}
    assert all("wrong_format" in note for note in notes.values())


def test_service_events_decode_request_and_response() -> None:
    with open_log(SHARED_LOGS / "rosbag2_services_mcap") as reader:
        events = [m.decoded for m in reader.messages() if m.topic.endswith("_service_event")]
    assert len(events) == 8
    assert {int(e.info.event_type) for e in events} == {0, 3}  # request sent, response received
    assert all(len(e.request) + len(e.response) == 1 for e in events)


def test_channels_are_found_by_type_not_name() -> None:
    with open_log(SHARED_LOGS / "rosbagsrs_alltypes_mcap") as reader:
        summary = reader.summary()
    assert topics_of_type(summary, "sensor_msgs/msg/CompressedImage") == [
        "/test/sensor_msgs/compressed_image"
    ]
    assert topics_of_type(summary, "Image") == ["/test/sensor_msgs/image"]
    assert topics_of_type(summary, "nav_msgs/Odometry") == ["/test/nav_msgs/odometry"]
    with open_log(SHARED_LOGS / "robot_localization_bags/test2.bag") as reader:
        assert topics_of_type(reader.summary(), "nav_msgs/msg/Odometry") == [
            "/jackal_velocity_controller/odom"
        ]


def test_type_names_are_canonical() -> None:
    assert canonical_type("sensor_msgs/msg/Image") == "sensor_msgs/Image"
    assert canonical_type("sensor_msgs/Image") == "sensor_msgs/Image"
    assert canonical_type("foxglove.CompressedImage") == "foxglove/CompressedImage"
    assert type_matches("foxglove.CompressedImage", "CompressedImage")
    assert not type_matches("sensor_msgs/msg/Image", "CompressedImage")


# ----------------------------------------------------------------- MCAP files written here


def _mcap(path: Path, compression: CompressionType, chunked: bool) -> int:
    """JSON with and without schema, an unknown encoding, and ROS 1 messages in MCAP."""
    store = get_typestore(Stores.ROS1_NOETIC)
    msgdef = store.generate_msgdef("std_msgs/msg/String")[0]
    with open(path, "wb") as stream:
        writer = Writer(stream, compression=compression, use_chunking=chunked, chunk_size=512)
        writer.start(profile="", library="test")
        schema = writer.register_schema("Sample", "jsonschema", b'{"type": "object"}')
        ros1_schema = writer.register_schema("std_msgs/String", "ros1msg", msgdef.encode())
        channels = {
            "/json": writer.register_channel("/json", "json", schema),
            "/schemaless": writer.register_channel("/schemaless", "json", 0),
            "/opaque": writer.register_channel("/opaque", "x-vendor", 0),
            "/ros1": writer.register_channel("/ros1", "ros1", ros1_schema),
        }
        writer.add_metadata("robot", {"robot_id": "7", "site": "lab"})
        count = 0
        for i in range(50):
            t = T0 + i * 10 * MS
            string = store.types["std_msgs/msg/String"](data=f"hello {i}")
            payloads = {
                "/json": json.dumps({"i": i}).encode(),
                "/schemaless": json.dumps([i]).encode(),
                "/opaque": bytes([i]) * 4,
                "/ros1": bytes(store.serialize_ros1(string, "std_msgs/msg/String")),
            }
            for topic, data in payloads.items():
                writer.add_message(channels[topic], t, data, t, i)
                count += 1
        writer.finish()
    return count


@pytest.mark.parametrize(
    "compression", [CompressionType.ZSTD, CompressionType.LZ4, CompressionType.NONE]
)
@pytest.mark.parametrize("chunked", [True, False])
def test_mcap_any_compression_and_encoding(
    tmp_path: Path, compression: CompressionType, chunked: bool
) -> None:
    path = tmp_path / "x.mcap"
    written = _mcap(path, compression, chunked)
    with open_log(path) as reader:
        summary = reader.summary()
        messages = list(reader.messages())
        assert summary.indexed is chunked
        assert summary.metadata["robot"] == {"robot_id": "7", "site": "lab"}
    assert len(messages) == written
    times = [m.log_time_ns for m in messages]
    assert times == sorted(times)
    by_topic = {m.topic: m for m in messages}
    assert by_topic["/json"].decoded == {"i": 49}
    assert by_topic["/schemaless"].decoded == [49]
    assert by_topic["/ros1"].decoded.data == "hello 49"
    assert by_topic["/opaque"].decoded is None and by_topic["/opaque"].data == bytes([49]) * 4
    assert "x-vendor" in by_topic["/opaque"].channel.note


def test_mcap_protobuf(tmp_path: Path) -> None:
    path = tmp_path / "pb.mcap"
    with open(path, "wb") as stream:
        writer = ProtobufWriter(stream)
        for i in range(5):
            writer.write_message("/clock", Timestamp(seconds=i, nanos=7), T0 + i * MS)
        writer.finish()
    with open_log(path) as reader:
        decoded = [m.decoded for m in reader.messages()]
    assert [d.seconds for d in decoded] == [0, 1, 2, 3, 4]


def test_robot_log_images_and_metadata(tmp_path: Path) -> None:
    log = write_robot_log(tmp_path / "r.mcap", seconds=2.0)
    with open_log(log.path) as reader:
        summary = reader.summary()
        camera = topics_of_type(summary, "sensor_msgs/CompressedImage")
        frame = next(m for m in reader.messages() if m.topic in camera)
    assert camera == ["/camera/image/compressed"]
    assert frame.decoded.format == "jpeg" and bytes(frame.decoded.data[:2]) == b"\xff\xd8"


# ------------------------------------------------------------- bags written with rosbags


def _odometry(store, i: int, ros1: bool = False):
    types = store.types
    header = types["std_msgs/msg/Header"](
        stamp=types["builtin_interfaces/msg/Time"](sec=i, nanosec=0),
        frame_id="odom",
        **({"seq": i} if ros1 else {}),
    )
    vector = types["geometry_msgs/msg/Vector3"]
    pose = types["geometry_msgs/msg/PoseWithCovariance"](
        pose=types["geometry_msgs/msg/Pose"](
            position=types["geometry_msgs/msg/Point"](x=float(i), y=0.0, z=0.0),
            orientation=types["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=0.0, w=1.0),
        ),
        covariance=np.zeros(36),
    )
    twist = types["geometry_msgs/msg/TwistWithCovariance"](
        twist=types["geometry_msgs/msg/Twist"](
            linear=vector(x=0.5, y=0.0, z=0.0), angular=vector(x=0.0, y=0.0, z=0.0)
        ),
        covariance=np.zeros(36),
    )
    return types["nav_msgs/msg/Odometry"](
        header=header, child_frame_id="base", pose=pose, twist=twist
    )


def test_ros2_bag_with_message_compression(tmp_path: Path) -> None:
    store = get_typestore(Stores.ROS2_HUMBLE)
    bag = tmp_path / "bag"
    writer = Bag2Writer(bag, version=9)
    writer.set_compression(CompressionMode.MESSAGE, CompressionFormat.ZSTD)
    with writer:
        conn = writer.add_connection("/wheel/odom", "nav_msgs/msg/Odometry", typestore=store)
        for i in range(30):
            writer.write(
                conn,
                T0 + i * 100 * MS,
                store.serialize_cdr(_odometry(store, i), "nav_msgs/msg/Odometry"),
            )
    assert detect_format(bag) == "ros2"
    with open_log(bag) as reader:
        summary = reader.summary()
        messages = list(reader.messages())
    assert summary.message_count == 30 and summary.start_ns == T0
    assert summary.end_ns == T0 + 29 * 100 * MS
    assert topics_of_type(summary, "Odometry") == ["/wheel/odom"]
    assert [m.decoded.pose.pose.position.x for m in messages] == [float(i) for i in range(30)]


@pytest.mark.parametrize("compression", [None, "BZ2", "LZ4"])
def test_ros1_bag(tmp_path: Path, compression: str | None) -> None:
    store = get_typestore(Stores.ROS1_NOETIC)
    path = tmp_path / "x.bag"
    writer = Bag1Writer(path)
    if compression:
        writer.set_compression(getattr(Bag1Writer.CompressionFormat, compression))
    with writer:
        conn = writer.add_connection("/odom", "nav_msgs/msg/Odometry", typestore=store)
        for i in range(20):
            odometry = _odometry(store, i, ros1=True)
            writer.write(
                conn, T0 + i * 50 * MS, store.serialize_ros1(odometry, "nav_msgs/msg/Odometry")
            )
    with open_log(path) as reader:
        assert reader.summary().format == "ros1"
        speeds = [m.decoded.twist.twist.linear.x for m in reader.messages()]
    assert speeds == [0.5] * 20


# ---------------------------------------------------------------------- detection, errors


def test_unknown_file_lists_supported_formats(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a log")
    with pytest.raises(LogFormatError) as err:
        open_log(path)
    message = str(err.value)
    assert str(path) in message
    assert all(reader.accepts in message for reader in READERS.values())


def test_directory_that_is_not_a_bag(tmp_path: Path) -> None:
    with pytest.raises(LogFormatError, match="unrecognized log directory"):
        open_log(tmp_path)


def test_missing_path() -> None:
    with pytest.raises(NotFoundError):
        open_log(Path("/nonexistent/log.mcap"))


def test_mcap_suffix_without_mcap_magic(tmp_path: Path) -> None:
    path = tmp_path / "fake.mcap"
    path.write_bytes(b"PK\x03\x04 definitely a zip")
    with pytest.raises(LogFormatError, match="not an MCAP file") as err:
        open_log(path)
    assert err.value.offset == 0


def test_bag_suffix_on_garbage(tmp_path: Path) -> None:
    path = tmp_path / "x.bag"
    path.write_bytes(b"garbage" * 10)
    with pytest.raises(LogFormatError, match="not a ROS 1 bag"):
        open_log(path)


def test_bag_metadata_listing_missing_files(tmp_path: Path) -> None:
    bag = tmp_path / "bag"
    bag.mkdir()
    source = (SHARED_LOGS / "rosbag2_talker_mcap" / "metadata.yaml").read_text()
    (bag / "metadata.yaml").write_text(source)
    with pytest.raises(LogFormatError, match="talker.mcap"):
        open_log(bag)
