"""Which robot a log came from, and how we know.

A log from our own recorder names its robot in an MCAP ``robot`` metadata record; another team's
log may name it in some other metadata record, in a ROS 2 bag's ``metadata.yaml``
(``custom_data``), only in the file or folder name (``amr-07_2026-12-05.mcap``), or nowhere.
Ingest takes the first of: the ``--robot`` option, MCAP metadata, bag metadata, the name; it
reports which one it used, so a wrong guess is visible, and says so when it found none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROBOT_KEYS = ("robot_id", "robot", "robot_name", "vehicle_id", "platform_id")
SITE_KEYS = ("site", "site_id", "facility")
# "amr-07", "agv-3", "robot-104", "robot104", "robot_104": letters, a dash (or robot/_), digits.
NAME_RE = re.compile(
    r"(?<![A-Za-z0-9])((?:robot|amr|agv|bot|rover)[-_]?\d{1,5}|[A-Za-z]{2,10}-\d{1,5})(?![0-9])",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class RobotIdentity:
    """The robot, site and zone of a log, and where the robot id was found."""

    robot_id: str
    site: str
    zone: str
    source: str  # "option", "mcap metadata", "rosbag2 metadata", "file name", "folder name", ""

    def note(self) -> str:
        """One line for the person ingesting: which source named the robot, or a warning."""
        if not self.robot_id:
            return (
                "no robot id found (no MCAP robot metadata, no robot in metadata.yaml "
                "custom_data, none in the file or folder name): pass --robot"
            )
        return f"robot id {self.robot_id!r} from the {self.source}"


def identify(
    path: Path,
    metadata: dict[str, dict[str, str]],
    robot_option: str | None = None,
    site_option: str | None = None,
) -> RobotIdentity:
    """The log's robot, from the first source that names one (see the module docstring)."""
    record = metadata.get("robot", {})
    site = site_option or record.get("site", "") or _first(metadata, SITE_KEYS)
    zone = record.get("zone", "")
    if robot_option:
        return RobotIdentity(robot_option, site, zone, "option")
    found = record.get("robot_id", "") or _first(metadata, ROBOT_KEYS)
    if found:
        return RobotIdentity(found, site, zone, "mcap metadata")
    bag = _bag_custom(path)
    if bag.get("robot"):
        return RobotIdentity(bag["robot"], site or bag.get("site", ""), zone, "rosbag2 metadata")
    for source, name in _names(path):
        match = NAME_RE.search(name)
        if match:
            return RobotIdentity(match.group(1).lower(), site, zone, source)
    return RobotIdentity("", site, zone, "")


def _first(metadata: dict[str, dict[str, str]], keys: tuple[str, ...]) -> str:
    """The first value under one of ``keys`` in any metadata record (other teams' layouts)."""
    for record in metadata.values():
        for key in keys:
            value = record.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
    return ""


def _bag_custom(path: Path) -> dict[str, str]:
    """Robot and site from a bag directory's ``metadata.yaml`` custom_data, if it has them."""
    folder = path if path.is_dir() else path.parent
    meta = folder / "metadata.yaml"
    if not meta.is_file():
        return {}
    try:
        info = yaml.safe_load(meta.read_text())["rosbag2_bagfile_information"]
    except (yaml.YAMLError, OSError, KeyError, TypeError, UnicodeDecodeError):
        return {}  # the reader reports an unreadable metadata.yaml; here it only names nothing
    custom: Any = info.get("custom_data") or {}
    if not isinstance(custom, dict):
        return {}
    flat = {str(k): str(v) for k, v in custom.items() if v is not None}
    return {
        "robot": _first({"custom": flat}, ROBOT_KEYS),
        "site": _first({"custom": flat}, SITE_KEYS),
    }


def _names(path: Path) -> list[tuple[str, str]]:
    """The file's name, then its folder's when the file is one of a bag directory's."""
    if path.is_dir():
        return [("folder name", path.name)]
    names = [("file name", path.stem)]
    if (path.parent / "metadata.yaml").is_file():
        names.append(("folder name", path.parent.name))
    return names
