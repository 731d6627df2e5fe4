"""The robot's two slots: verified install, atomic switch, health check, the way back, and a
real SIGKILL in the middle of a switch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from robotops.edge.slots import HealthCheck, InstallError, SlotInstaller, sha256_of


def _artifact(tmp: Path, name: str, body: bytes) -> tuple[Path, str]:
    path = tmp / name
    path.write_bytes(body)
    return path, sha256_of(path)


def _healthy(artifact: Path) -> tuple[bool, str]:
    return True, "ok"


def test_installs_alternate_slots_and_report_version_and_slot(tmp_path: Path) -> None:
    slots = SlotInstaller(tmp_path / "robot", health=_healthy)
    assert slots.status().version is None and slots.active() is None
    v1, h1 = _artifact(tmp_path, "v1.pt", b"weights one")
    v2, h2 = _artifact(tmp_path, "v2.pt", b"weights two")
    first = slots.install(v1, "v1", h1, "o1")
    assert first.installed and first.slot == "a"
    second = slots.install(v2, "v2", h2, "o2")
    assert second.installed and second.slot == "b"
    status = slots.status()
    assert (status.version, status.slot, status.sha256, status.last_good) == ("v2", "b", h2, "b")
    assert slots.artifact().read_bytes() == b"weights two"  # type: ignore[union-attr]
    assert os.readlink(tmp_path / "robot" / "current") == "slots/b"


def test_a_failed_health_check_switches_back_to_the_last_good_slot(tmp_path: Path) -> None:
    check = HealthCheck([sys.executable, "-c", "import sys; sys.exit('topic /cmd_vel silent')"])
    slots = SlotInstaller(tmp_path / "robot", health=_healthy)
    v1, h1 = _artifact(tmp_path, "v1.pt", b"weights one")
    slots.install(v1, "v1", h1, "o1")
    slots.health = check
    v2, h2 = _artifact(tmp_path, "v2.pt", b"weights two")
    result = slots.install(v2, "v2", h2, "o2")
    assert not result.installed and "exited 1: topic /cmd_vel silent" in result.health
    status = slots.status()
    assert (status.version, status.slot, status.last_good) == ("v1", "a", "a")
    assert "failed" in status.last_result and "back on a" in status.last_result


def test_the_health_check_sees_the_new_artifact_and_a_hung_check_times_out(
    tmp_path: Path,
) -> None:
    probe = (
        "import os, sys; "
        "sys.exit(0 if open(os.environ['ROBOTOPS_POLICY'], 'rb').read() == b'new' else 3)"
    )
    slots = SlotInstaller(tmp_path / "robot", health=HealthCheck([sys.executable, "-c", probe]))
    new, h = _artifact(tmp_path, "new.pt", b"new")
    assert slots.install(new, "v2", h, "o1").installed
    slots.health = HealthCheck([sys.executable, "-c", "import time; time.sleep(30)"], timeout_s=0.5)
    other, h2 = _artifact(tmp_path, "other.pt", b"other")
    result = slots.install(other, "v3", h2, "o2")
    assert not result.installed and "no answer in 0.5 s" in result.health
    assert slots.status().version == "v2"


def test_a_corrupted_artifact_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    slots = SlotInstaller(tmp_path / "robot", health=_healthy)
    v1, h1 = _artifact(tmp_path, "v1.pt", b"weights one")
    slots.install(v1, "v1", h1, "o1")
    bad, _ = _artifact(tmp_path, "v2.pt", b"weights two, flipped bit")
    with pytest.raises(InstallError, match="the order signed .* refused, nothing installed"):
        slots.install(bad, "v2", h1.replace(h1[0], "0" if h1[0] != "0" else "1", 1), "o2")
    assert slots.status().version == "v1" and slots.active() == "a"
    assert not (tmp_path / "robot" / "switch.journal").exists()


CHILD = """
import sys
from pathlib import Path
from robotops.edge.slots import HealthCheck, SlotInstaller
root, artifact, sha = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
check = HealthCheck([sys.executable, "-c", "import time; time.sleep(60)"], timeout_s=120)
SlotInstaller(root, health=check).install(artifact, "v2", sha, "o2")
"""


def test_killed_mid_switch_the_robot_restores_the_last_good_slot_on_restart(
    tmp_path: Path,
) -> None:
    root = tmp_path / "robot"
    slots = SlotInstaller(root, health=_healthy)
    v1, h1 = _artifact(tmp_path, "v1.pt", b"weights one")
    slots.install(v1, "v1", h1, "o1")
    v2, h2 = _artifact(tmp_path, "v2.pt", b"weights two")
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(root), str(v2), h2])
    try:
        for _ in range(600):  # until the switch happened and the health check runs
            if (root / "switch.journal").exists() and os.readlink(root / "current") == "slots/b":
                break
            assert child.poll() is None, "the installer ended before the switch"
            time.sleep(0.05)
        else:
            pytest.fail("the installer never switched")
        child.send_signal(signal.SIGKILL)
        child.wait()
    finally:
        child.kill()
    assert os.readlink(root / "current") == "slots/b"  # the robot died on the unconfirmed slot
    restarted = SlotInstaller(root, health=_healthy)
    why = restarted.recover()
    assert why and "restarted during the switch to slot b (order o2); restored slot a" in why
    status = restarted.status()
    assert (status.version, status.slot, status.last_good) == ("v1", "a", "a")
    assert restarted.recover() is None  # settled: a second start does nothing
