"""Small real robot logs for the dataset and alignment tests, with faults injected on demand.

One short simulated episode is recorded as calls; each variant replays the calls into a real
MCAP (``RobotLogWriter``), shifting, dropping, repeating or reordering messages on the way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from robotops.policies.registry import bundled_policy, load_policy
from robotops.sim.episode import run_episode
from robotops.sim.recording.writer import RobotLogWriter, _header
from robotops.sim.world.specs import (
    ForkliftActor,
    GlareHazard,
    ObstacleHazard,
    WorkerActor,
    WorldSpec,
)

T0 = 1_764_000_000_000_000_000
CAMERA = "/camera/image/compressed"


class CallLog:
    """A recorder that remembers every call, to be replayed into writers."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def __getattr__(self, name: str) -> Any:
        def record(*args: Any) -> None:
            self.calls.append((name, args))

        return record


def record_episode(seconds: float = 24.0, seed: int = 3) -> CallLog:
    """A robot driving its lane past a glare vest, with a pallet that appears on the way."""
    world = WorldSpec(
        aisle=1,
        hazards=[
            GlareHazard(x=-6.0, intensity=1.5),
            ObstacleHazard(x=-10.0, appear_s=3.8, duration_s=60.0),
        ],
        forklifts=[ForkliftActor(start=(18.0, -12.0), end=(18.0, 12.0))],
        workers=[WorkerActor(x=2.0)],
    )
    perception, _ = load_policy(bundled_policy("v1"))
    calls = CallLog()
    run_episode(world, perception, seed, seconds, start_ns=T0, robot_id="7", recorder=calls)
    return calls


@dataclass
class Faults:
    """What to do to the log on the way to disk (times relative to the log start, seconds)."""

    camera_log_shift_s: float = 0.0  # the camera's log times (and stamps) skewed
    camera_stamp_shift_s: float = 0.0  # only the camera's header stamps skewed
    drop_scan: tuple[float, float] | None = None  # a gap in the range channel
    duplicate_images: list[int] = field(default_factory=list)  # image indices written twice
    swap_image_stamps: list[int] = field(default_factory=list)  # stamps of i and i+1 swapped


class _FaultyWriter(RobotLogWriter):
    def __init__(self, path: Path, faults: Faults) -> None:
        super().__init__(path, {"robot_id": "7", "site": "test"})
        self.faults = faults
        self.images: list[tuple[int, int, bytes]] = []

    def image(self, t_ns: int, jpeg: bytes) -> None:  # buffered: stamps may be swapped
        self.images.append((t_ns, t_ns, jpeg))

    def scan(self, t_ns: int, *args: Any) -> None:
        gap = self.faults.drop_scan
        if gap and gap[0] <= (t_ns - T0) / 1e9 < gap[1]:
            return
        super().scan(t_ns, *args)

    def flush_images(self) -> None:
        f = self.faults
        items = list(self.images)
        for i in f.swap_image_stamps:
            (la, sa, da), (lb, sb, db) = items[i], items[i + 1]
            items[i], items[i + 1] = (la, sb, da), (lb, sa, db)
        for i, (log_t, stamp, jpeg) in enumerate(items):
            log_t += int(f.camera_log_shift_s * 1e9)
            stamp += int((f.camera_log_shift_s + f.camera_stamp_shift_s) * 1e9)
            for _ in range(2 if i in f.duplicate_images else 1):
                self._write(
                    CAMERA,
                    log_t,
                    {"header": _header(stamp, "camera"), "format": "jpeg", "data": jpeg},
                )


def write_log(calls: CallLog, path: Path, faults: Faults | None = None) -> Path:
    """Replay an episode's calls into an MCAP at ``path`` with ``faults`` applied."""
    writer = _FaultyWriter(path, faults or Faults())
    with writer:
        for name, args in calls.calls:
            getattr(writer, name)(*args)
        writer.flush_images()
    return path
