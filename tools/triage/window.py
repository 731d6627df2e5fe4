"""The messages triage needs around an incident, with channels found by message type.

Any robot names its topics differently, so each role (camera, range scan, velocity command,
odometry, localisation, diagnostics, log text, events) is matched by its standard message type;
where several channels share a role, the busiest one is taken. Messages are decoded by the log
readers' decoders (ROS 2 CDR, protobuf, JSON, ROS 1). An indexed MCAP is read for the window
only; any other log the readers know (ROS 2 and ROS 1 bags, unindexed MCAP) is read up to the
window's end.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcap.reader import make_reader

from robotops.errors import LogFormatError
from robotops.sim.logs.readers import (
    MCAP_DECODER_FACTORIES,
    MCAP_ERRORS,
    MCAP_MAGIC,
    canonical_type,
    open_log,
    type_matches,
)
from robotops.tools.labeling.frames import COMPRESSED_TYPES, IMAGE_TYPES

ROLE_TYPES: dict[str, tuple[str, ...]] = {
    "image": IMAGE_TYPES,
    "scan": ("sensor_msgs/LaserScan",),
    "cmd": ("geometry_msgs/Twist", "geometry_msgs/TwistStamped"),
    "odom": ("nav_msgs/Odometry",),
    "pose": ("geometry_msgs/PoseStamped", "geometry_msgs/PoseWithCovarianceStamped"),
    "perception": ("robotops_msgs/ObstacleDetection",),
    "diagnostics": ("diagnostic_msgs/DiagnosticArray",),
    "text": ("rcl_interfaces/Log", "rosgraph_msgs/Log"),
    "events": ("robotops_msgs/Event",),
}


@dataclass
class Window:
    """Decoded messages of interest in a time window, grouped by role."""

    log: str
    topics: dict[str, str] = field(default_factory=dict)  # role -> topic
    types: dict[str, str] = field(default_factory=dict)  # role -> canonical message type
    messages: dict[str, list[tuple[int, Any]]] = field(default_factory=lambda: defaultdict(list))

    def compressed(self) -> bool:
        """Whether the camera channel carries compressed frames (else raw ``Image``)."""
        return self.types.get("image") in COMPRESSED_TYPES


def get(msg: Any, *path: str, default: Any = None) -> Any:
    """A nested field of a decoded message, whether the decoder made objects or dicts."""
    for name in path:
        msg = msg.get(name) if isinstance(msg, dict) else getattr(msg, name, None)
        if msg is None:
            return default
    return msg


def role_of(schema_name: str) -> str | None:
    """The triage role of a message type (None: triage does not read it)."""
    for role, types in ROLE_TYPES.items():
        if any(type_matches(schema_name, t) for t in types):
            return role
    return None


def _pick_channels(win: Window, channels: list[tuple[str, str, int | None]]) -> dict[str, str]:
    """Topic -> role for the busiest channel of each role."""
    best: dict[str, tuple[int, str, str]] = {}
    for topic, schema_name, count in channels:
        role = role_of(schema_name)
        if role and (role not in best or (count or 0) > best[role][0]):
            best[role] = (count or 0, topic, schema_name)
    for role, (_, topic, schema_name) in best.items():
        win.topics[role] = topic
        win.types[role] = canonical_type(schema_name)
    return {topic: role for role, topic in win.topics.items()}


def read_window(path: str, start_ns: int, end_ns: int) -> Window:
    """Decode the messages whose type matters for triage between ``start_ns`` and ``end_ns``.

    Raises:
        LogFormatError: the log cannot be read.
        NotFoundError: there is no log at ``path``.
    """
    win = Window(log=path)
    p = Path(path)
    if p.is_file() and _read_indexed_mcap(win, p, start_ns, end_ns):
        return win
    with open_log(p) as reader:
        summary = reader.summary()
        wanted = _pick_channels(
            win, [(t.name, t.schema_name, t.message_count) for t in summary.topics]
        )
        for message in reader.messages():
            if message.log_time_ns > end_ns:
                break
            role = wanted.get(message.topic)
            if role is None or message.log_time_ns < start_ns:
                continue
            if (decoded := message.decoded) is not None:  # undecodable: skipped, as with frames
                win.messages[role].append((message.log_time_ns, decoded))
    return win


def _read_indexed_mcap(win: Window, path: Path, start_ns: int, end_ns: int) -> bool:
    """Read the window through the MCAP index; False when ``path`` is no indexed MCAP."""
    try:
        with open(path, "rb") as f:
            if f.read(len(MCAP_MAGIC)) != MCAP_MAGIC:
                return False
            f.seek(0)
            reader = make_reader(f, decoder_factories=[make() for make in MCAP_DECODER_FACTORIES])
            summary = reader.get_summary()
            if summary is None or not summary.chunk_indexes:
                return False
            counts = summary.statistics.channel_message_counts if summary.statistics else {}
            wanted = _pick_channels(
                win,
                [
                    (ch.topic, summary.schemas[ch.schema_id].name, counts.get(ch.id))
                    for ch in summary.channels.values()
                    if ch.schema_id in summary.schemas
                ],
            )
            for _, ch, msg, decoded in reader.iter_decoded_messages(
                topics=list(wanted),
                starting_at=start_ns,
                ending_before=end_ns + 1,
                log_time_order=True,
            ):
                win.messages[wanted[ch.topic]].append((msg.log_time, decoded))
    except MCAP_ERRORS as exc:
        raise LogFormatError(str(path), f"cannot read the incident window: {exc}") from exc
    return True
