"""The upload planner and the reduced-fidelity context, on real MCAPs written by the recorder."""

from __future__ import annotations

import io
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from mcap.data_stream import RecordBuilder
from mcap.reader import make_reader
from mcap.records import Footer
from mcap_ros2.decoder import DecoderFactory
from mcap_ros2.writer import Writer as Ros2Writer
from PIL import Image

from robotops.errors import InvalidRequestError, LogFormatError
from robotops.sim.fleet.models import ContextFidelity, UploadPlan, UploadPlanRequest
from robotops.sim.logs.log_events import read_events
from robotops.sim.logs.reduce import reduce_window
from robotops.sim.logs.upload_plan import plan_upload
from robotops.sim.logs.window import cut_window
from robotops.sim.recording.ros2_msgs import msgdef, schema_name
from robotops.sim.recording.writer import RobotLogWriter

T0 = 1_795_442_400_000_000_000
S = 1_000_000_000
LINK = 10_000_000
SECONDS = 120
# (second, kind, severity): stall and estop overlap (one window), assist is no incident.
EVENTS = [
    (10.0, "stall", "warn"),
    (12.0, "assist", "info"),
    (14.0, "estop", "error"),
    (40.0, "collision", "error"),
    (75.0, "nav_error", "error"),
    (100.0, "mission_complete", "info"),
]
INCIDENTS = [(t, k) for t, k, _ in EVENTS if k in ("stall", "estop", "collision", "nav_error")]


def _frame(rng: np.random.Generator, t: float) -> bytes:
    """A 128x96 JPEG with structure and noise, a few KB like the simulated camera's."""
    y, x = np.mgrid[0:96, 0:128]
    base = (np.sin(x / 9 + t) * 60 + np.cos(y / 7 - t) * 60 + 128)[..., None]
    pixels = np.clip(base + rng.normal(0, 8, (96, 128, 3)), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=85)
    return out.getvalue()


def write_robot_log(path: Path, seconds: int = SECONDS, events=EVENTS) -> Path:
    """One robot's log through the fleet's own recorder: every topic at its real rate."""
    rng = np.random.default_rng(4)
    with RobotLogWriter(path, {"robot_id": "104", "site": "test"}, chunk_size=96 * 1024) as log:
        for tick in range(seconds * 20):  # 20 Hz control loop
            t_ns, t = T0 + tick * 50_000_000, tick / 20
            log.odom(t_ns, t * 0.5, 1.0, 0.1, 0.5, 0.0)
            log.cmd_vel(t_ns, 0.5, 0.0)
            if tick % 2 == 0:
                log.scan(t_ns, list(rng.uniform(0.5, 8, 90)), -1.5, 1.5, 10.0)
                log.pose(t_ns, t * 0.5, 1.0, 0.1)
            if tick % 4 == 0:
                log.image(t_ns, _frame(rng, t))
                log.perception(t_ns, float(rng.uniform()), False, "v1")
            if tick % 20 == 0:
                log.diagnostics(t_ns, "motor", 0, "ok", {"temp": f"{rng.uniform(30, 40):.1f}"})
            for second, kind, severity in events:
                if tick == int(second * 20):
                    log.event(t_ns, kind, severity, "104", "aisle-1", f"{kind} at {second}")
    return path


@pytest.fixture(scope="module")
def robot_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_robot_log(tmp_path_factory.mktemp("logs") / "104_shift.mcap")


def _materialise(log: Path, plan: UploadPlan, out: Path) -> dict[int, int]:
    """Cut every item the plan sends, as the robot would; sizes by item index."""
    sizes = {}
    for n, item in enumerate(plan.items):
        if item.action != "send":
            continue
        dst = out / f"{n}.mcap"
        if item.fidelity == "full":
            result = cut_window(log, dst, item.start_ns, item.end_ns, item.topics)
        else:
            result = reduce_window(log, dst, item.start_ns, item.end_ns, item.topics)
        sizes[n] = result.size_bytes
    return sizes


def test_events_are_found_by_schema_whatever_their_topic(tmp_path: Path) -> None:
    path = tmp_path / "foreign.mcap"
    with open(path, "wb") as stream:
        writer = Ros2Writer(stream)
        event = writer.register_msgdef(
            schema_name("robotops_msgs/Event"), msgdef("robotops_msgs/Event")
        )
        twist = writer.register_msgdef(
            schema_name("geometry_msgs/Twist"), msgdef("geometry_msgs/Twist")
        )
        for tick in range(200):
            t_ns = T0 + tick * 100_000_000
            zero = {"x": 0.0, "y": 0.0, "z": 0.0}
            writer.write_message("/base/cmd", twist, {"linear": zero, "angular": zero}, t_ns)
        header = {"stamp": {"sec": 0, "nanosec": 0}, "frame_id": ""}
        writer.write_message(
            "/ops/robot_flags",
            event,
            {
                "header": header,
                "kind": "collision",
                "severity": "error",
                "robot_id": "7",
                "zone": "dock",
                "detail": "bumper",
            },
            T0 + 9 * S,
        )
        writer.finish()

    (found,) = read_events(path)
    assert (found.time_ns, found.kind, found.severity, found.detail) == (
        T0 + 9 * S,
        "collision",
        "error",
        "bumper",
    )
    plan = plan_upload([path], UploadPlanRequest(budget_bytes=10**7), LINK)
    (window,) = [i for i in plan.items if i.role == "incident"]
    assert (window.start_ns, window.end_ns) == (T0 + S, T0 + 13 * S)


def test_plan_keeps_every_incident_window_at_full_fidelity_within_budget(
    robot_log: Path, tmp_path: Path
) -> None:
    log_size = robot_log.stat().st_size
    budget = log_size // 2
    plan = plan_upload([robot_log], UploadPlanRequest(budget_bytes=budget), LINK, "104")

    assert (plan.incidents_total, plan.incidents_full, plan.budget_exceeded) == (4, 4, False)
    incident_items = [i for i in plan.to_send if i.role == "incident"]
    assert len(incident_items) == 3  # stall and estop share one merged window
    assert plan.items[: len(incident_items)] == incident_items  # incidents go first
    for second, kind in INCIDENTS:
        t = T0 + int(second * S)
        (item,) = [i for i in incident_items if any(e.time_ns == t for e in i.events)]
        assert item.fidelity == "full" and item.start_ns <= t - 8 * S and t + 4 * S <= item.end_ns
        assert kind in {e.kind for e in item.events}
    # most severe first: collision, then the window holding the estop, then nav_error
    assert [[e.kind for e in i.events] for i in incident_items] == [
        ["collision"],
        ["stall", "estop"],
        ["nav_error"],
    ]
    assert plan.send_bytes <= budget < log_size
    assert plan.context_bytes > 0 and plan.estimated_transfer_s == pytest.approx(
        plan.send_bytes / LINK, abs=1e-3
    )

    sizes = _materialise(robot_log, plan, tmp_path)
    actual = sum(sizes.values())
    assert actual <= budget
    for n, size in sizes.items():  # estimated from the index, not by reading everything
        assert plan.items[n].estimated_bytes == pytest.approx(size, rel=0.25)
    incident_actual = sum(sizes[plan.items.index(i)] for i in incident_items)
    assert actual <= 1.25 * (incident_actual + (budget - plan.incident_bytes))


def test_what_is_not_sent_stays_listed_and_requestable(robot_log: Path, tmp_path: Path) -> None:
    plan = plan_upload([robot_log], UploadPlanRequest(budget_bytes=300_000), LINK)
    full = sorted((i.start_ns, i.end_ns) for i in plan.items if i.fidelity == "full")
    # full-fidelity items sent or left tile the whole log without gaps or overlaps
    assert full[0][0] == T0 and full[-1][1] == T0 + SECONDS * S - 50_000_000
    assert all(b[0] == a[1] + 1 for a, b in zip(full, full[1:], strict=False))
    assert plan.left_bytes > 0 and {i.note for i in plan.left} <= {
        "thinned copy sent",
        "nothing sent",
    }
    later = plan.left[0].upload_request()
    result = cut_window(robot_log, tmp_path / "later.mcap", later.start_ns, later.end_ns, None)
    assert result.message_count > 0


def test_context_is_a_smaller_valid_mcap_with_decodable_thumbnails(
    robot_log: Path, tmp_path: Path
) -> None:
    fidelity = ContextFidelity(telemetry_hz=2, thumbnail_hz=1, thumbnail_px=48)
    start, end = T0, T0 + 60 * S - 1
    full = cut_window(robot_log, tmp_path / "full.mcap", start, end, None)
    thin = reduce_window(robot_log, tmp_path / "thin.mcap", start, end, None, fidelity)

    assert thin.size_bytes < full.size_bytes / 5
    counts: Counter[str] = Counter()
    with open(thin.path, "rb") as stream:
        reader = make_reader(stream, decoder_factories=[DecoderFactory()])
        summary = reader.get_summary()
        assert summary is not None and summary.chunk_indexes  # indexed, like any cut
        for _, channel, message, decoded in reader.iter_decoded_messages():
            counts[channel.topic] += 1
            if channel.topic == "/camera/image/compressed":
                assert channel.metadata["robotops.fidelity"] == "thumbnail"
                image = Image.open(io.BytesIO(decoded.data))
                assert image.format == "JPEG" and max(image.size) <= 48
                assert decoded.header.stamp.sec == message.log_time // S
        metadata = {m.name: m.metadata for m in reader.iter_metadata()}
    assert metadata["robot"]["robot_id"] == "104"
    assert metadata["robotops.reduce"]["fidelity"] == "context"
    assert counts["/camera/image/compressed"] == 60  # one thumbnail a second
    for topic in ("/odom", "/cmd_vel", "/scan", "/localization/pose"):
        assert counts[topic] == 120  # decimated to 2 Hz
    assert counts["/events"] == sum(t < 60 for t, *_ in EVENTS)  # events are never thinned
    assert thin.message_count == sum(counts.values())


def test_raw_images_become_small_raw_images(tmp_path: Path) -> None:
    rule = "=" * 80
    text = (
        "std_msgs/Header header\nuint32 height\nuint32 width\nstring encoding\n"
        f"uint8 is_bigendian\nuint32 step\nuint8[] data\n{rule}\nMSG: std_msgs/Header\n"
        f"builtin_interfaces/Time stamp\nstring frame_id\n{rule}\n"
        "MSG: builtin_interfaces/Time\nint32 sec\nuint32 nanosec"
    )
    path = tmp_path / "raw.mcap"
    rng = np.random.default_rng(1)
    with open(path, "wb") as stream:
        writer = Ros2Writer(stream)
        schema = writer.register_msgdef("sensor_msgs/msg/Image", text)
        for n in range(4):
            pixels = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
            writer.write_message(
                "/cam/raw",
                schema,
                {
                    "header": {"stamp": {"sec": n, "nanosec": 0}, "frame_id": "cam"},
                    "height": 120,
                    "width": 160,
                    "encoding": "bgr8",
                    "is_bigendian": 0,
                    "step": 480,
                    "data": pixels.tobytes(),
                },
                T0 + n * S,
            )
        writer.finish()

    thin = reduce_window(path, tmp_path / "thin.mcap", T0, T0 + 4 * S)
    with open(thin.path, "rb") as stream:
        frames = [
            d
            for *_, d in make_reader(
                stream, decoder_factories=[DecoderFactory()]
            ).iter_decoded_messages()
        ]
    assert len(frames) == 4
    assert {(f.width, f.height, f.encoding, f.step) for f in frames} == {(64, 48, "rgb8", 192)}
    assert all(len(f.data) == 64 * 48 * 3 for f in frames)


def test_budget_too_small_for_incidents_says_so_and_keeps_the_most_severe(
    robot_log: Path,
) -> None:
    roomy = plan_upload([robot_log], UploadPlanRequest(budget_bytes=10**8), LINK)
    windows = [i for i in roomy.to_send if i.role == "incident"]
    budget = sum(i.estimated_bytes for i in windows) // 2
    plan = plan_upload([robot_log], UploadPlanRequest(budget_bytes=budget), LINK)

    assert plan.budget_exceeded and plan.send_bytes <= budget
    assert "budget too small for the incident windows" in plan.warnings[0]
    assert plan.incidents_full + plan.incidents_reduced + plan.incidents_left == 4
    assert plan.incidents_full >= 1 and plan.incidents_reduced >= 1
    first = plan.items[0]
    assert first.fidelity == "full" and first.events[0].severity == "error"
    # never silently dropped: every incident is in something sent or something left
    listed = {e.time_ns for i in plan.items for e in i.events}
    assert listed == {T0 + int(t * S) for t, _ in INCIDENTS}
    not_full = [i for i in plan.left if i.role == "incident"]
    assert sum(len(i.events) for i in not_full) == plan.incidents_reduced + plan.incidents_left


def test_a_budget_below_any_window_sends_nothing_and_lists_everything(robot_log: Path) -> None:
    plan = plan_upload([robot_log], UploadPlanRequest(budget_bytes=1000), LINK)
    assert plan.to_send == [] and plan.incidents_left == 4 and plan.budget_exceeded
    assert "4 not at all" in plan.warnings[0]
    assert sum(len(i.events) for i in plan.left) == 4


def test_deadline_turns_into_a_budget_at_link_speed(robot_log: Path) -> None:
    plan = plan_upload([robot_log], UploadPlanRequest(deadline_s=0.05), 2_000_000)
    assert plan.budget_bytes == 100_000 and plan.send_bytes <= 100_000
    both = UploadPlanRequest(budget_bytes=80_000, deadline_s=0.05)
    assert plan_upload([robot_log], both, 2_000_000).budget_bytes == 80_000


def test_context_only_and_context_cap(robot_log: Path) -> None:
    plan = plan_upload([robot_log], UploadPlanRequest(budget_bytes=10**8, incidents=False), LINK)
    assert {i.role for i in plan.to_send} == {"context"}
    assert {i.fidelity for i in plan.to_send} == {"context"}
    assert plan.incidents_total == 0 and not plan.budget_exceeded
    capped = plan_upload(
        [robot_log], UploadPlanRequest(budget_bytes=10**8, context_budget_bytes=20_000), LINK
    )
    assert capped.incidents_full == 4 and capped.context_bytes <= 20_000


def test_plan_needs_a_budget_or_deadline_and_a_readable_log(
    robot_log: Path, tmp_path: Path
) -> None:
    with pytest.raises(InvalidRequestError, match="budget_bytes.*deadline_s"):
        plan_upload([robot_log], UploadPlanRequest(), LINK)
    bad = tmp_path / "bad.mcap"
    bad.write_bytes(b"not an mcap" * 20)
    with pytest.raises(LogFormatError, match="bad.mcap"):
        plan_upload([bad], UploadPlanRequest(budget_bytes=1000), LINK)


def _strip_summary(src: Path, dst: Path) -> None:
    """Copy ``src`` without its summary section, as a recorder that crashed might leave it."""
    data = src.read_bytes()
    footer = len(data) - 8 - 29  # Footer: opcode, length, summary_start, ..., then magic
    summary_start = int.from_bytes(data[footer + 9 : footer + 17], "little")
    builder = RecordBuilder()
    Footer(summary_start=0, summary_offset_start=0, summary_crc=0).write(builder)
    dst.write_bytes(data[:summary_start] + builder.end() + data[:8])


def test_a_log_without_summary_is_scanned_once(robot_log: Path, tmp_path: Path) -> None:
    unindexed = tmp_path / "crashed.mcap"
    _strip_summary(robot_log, unindexed)
    with open(unindexed, "rb") as stream:
        assert make_reader(stream).get_summary() is None

    indexed = plan_upload([robot_log], UploadPlanRequest(budget_bytes=1_200_000), LINK)
    scanned = plan_upload([unindexed], UploadPlanRequest(budget_bytes=1_200_000), LINK)
    assert scanned.incidents_full == indexed.incidents_full == 4
    for a, b in zip(indexed.to_send, scanned.to_send, strict=True):
        assert (a.start_ns, a.end_ns, a.fidelity) == (b.start_ns, b.end_ns, b.fidelity)
        assert math.isclose(a.estimated_bytes, b.estimated_bytes, rel_tol=0.3)
    thin = reduce_window(unindexed, tmp_path / "thin.mcap", T0, T0 + 20 * S)
    assert thin.message_count > 0


@pytest.mark.parametrize(
    "name", ["rosbagsrs_alltypes_mcap/test_bag_mcap.mcap", "keelson_mcap/test.mcap"]
)
def test_logs_no_one_here_wrote_plan_and_thin(name: str, tmp_path: Path) -> None:
    path = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "logs" / name
    if not path.is_file():
        pytest.skip(f"{path} not present")
    plan = plan_upload([path], UploadPlanRequest(budget_bytes=10**7), LINK)
    assert plan.incidents_total == 0 and plan.to_send
    for item in plan.to_send:
        reduce_window(path, tmp_path / "thin.mcap", item.start_ns, item.end_ns)
        with open(tmp_path / "thin.mcap", "rb") as stream:
            assert sum(1 for _ in make_reader(stream).iter_messages()) > 0
