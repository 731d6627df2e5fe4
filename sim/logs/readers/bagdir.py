"""ROS 2 bag directories: what ``metadata.yaml`` says about storage, files and counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from robotops.errors import LogFormatError
from robotops.sim.logs.readers.base import ChannelInfo

BAG_METADATA = "metadata.yaml"


def _bag_yaml(path: Path) -> dict[str, Any] | None:
    meta = path / BAG_METADATA
    if not meta.is_file():
        return None
    try:
        loaded = yaml.safe_load(meta.read_text())
        return loaded["rosbag2_bagfile_information"]
    except (yaml.YAMLError, OSError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise LogFormatError(str(meta), f"unreadable ROS 2 bag metadata ({exc})") from exc


def bag_yaml_path(path: Path) -> list[Path]:
    meta = path / BAG_METADATA
    return [meta] if path.is_dir() and meta.is_file() else []


def bag_storage(path: Path) -> str | None:
    try:
        info = _bag_yaml(path)
    except LogFormatError:
        return None
    return None if info is None else str(info.get("storage_identifier", ""))


def bag_files(path: Path, suffix: str, notes: list[str]) -> list[Path]:
    """The data files of a bag directory: those metadata.yaml lists (by name, as rosbag2 does
    when a bag has been moved), else every ``*suffix`` file in it."""
    info = _bag_yaml(path)
    if info is None:
        return sorted(path.glob(f"*{suffix}"))
    listed = [path / Path(p).name for p in info.get("relative_file_paths") or []]
    missing = [p.name for p in listed if not p.is_file()]
    if missing:
        raise LogFormatError(
            str(path / BAG_METADATA), f"lists files that are missing: {', '.join(missing)}"
        )
    if not listed:
        notes.append("metadata.yaml lists no files; reading every file in the directory")
        return sorted(path.glob(f"*{suffix}"))
    return listed


def apply_bag_counts(
    path: Path, channels: dict[tuple[str, str, str], ChannelInfo], notes: list[str]
) -> None:
    """Compare what metadata.yaml declares per topic with what the data files declare."""
    if not path.is_dir():
        return
    info = _bag_yaml(path)
    if not info:
        return
    for entry in info.get("topics_with_message_count") or []:
        meta, count = entry.get("topic_metadata", {}), entry.get("message_count")
        for channel in channels.values():
            if channel.topic == meta.get("name") and channel.declared_count not in (None, count):
                notes.append(
                    f"{channel.topic}: metadata.yaml declares {count} messages, the "
                    f"data files {channel.declared_count}"
                )
