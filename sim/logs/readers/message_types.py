"""Message type names: one spelling per type, whichever format or package wrote it.

Channels are found by message type, not topic name (:func:`topics_of_type`), since every robot
names its topics differently.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from robotops.sim.logs.readers.base import LogSummary


def canonical_type(name: str) -> str:
    """One spelling per message type: ``sensor_msgs/msg/Image``, ``sensor_msgs/Image`` (ROS 1)
    and ``sensor_msgs.msg.Image`` all become ``sensor_msgs/Image``; ``foxglove.RawImage``
    (protobuf) becomes ``foxglove/RawImage``."""
    parts = [p for p in re.split(r"[/.]", name) if p]
    if len(parts) == 3 and parts[1] == "msg":
        parts = [parts[0], parts[2]]
    return "/".join(parts)


def type_matches(schema_name: str, wanted: str) -> bool:
    """Whether ``schema_name`` is the type ``wanted`` (``'Image'`` matches any package)."""
    have, want = canonical_type(schema_name), canonical_type(wanted)
    return have == want or ("/" not in want and have.rsplit("/", 1)[-1] == want)


def topics_of_type(summary: LogSummary, *types: str) -> list[str]:
    """Topics whose message type is one of ``types`` (e.g. ``'sensor_msgs/msg/Image'``,
    ``'CompressedImage'``): the way to find a robot's camera whatever it named the topic."""
    return sorted(
        {t.name for t in summary.topics if any(type_matches(t.schema_name, want) for want in types)}
    )


RAW_IMAGE_LAYOUT = {  # sensor_msgs/Image encoding -> (channels, numpy dtype)
    "mono8": (1, "u1"),
    "8UC1": (1, "u1"),
    "rgb8": (3, "u1"),
    "bgr8": (3, "u1"),
    "8UC3": (3, "u1"),
    "rgba8": (4, "u1"),
    "bgra8": (4, "u1"),
    "8UC4": (4, "u1"),
    "mono16": (1, "u2"),
    "16UC1": (1, "u2"),
}
DEPTH_ENCODINGS = frozenset({"16UC1"})  # ranges, not brightness
