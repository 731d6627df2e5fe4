"""Benchmark: how fast the simulated fleet runs a shift.

Prints simulated seconds per wall second, camera frames per second per core, and, as the
baseline measured in the same run, raw MuJoCo stepping of the same world (physics only):
the ratio says what rendering, perception, control and logging cost on top of physics.

    python benchmarks/fleet_sim.py [--robots 4] [--minutes 1] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")

import mujoco  # noqa: E402

from robotops.sim.episode import Rates  # noqa: E402
from robotops.sim.fleet.shift import ShiftConfig, run_shift  # noqa: E402
from robotops.sim.world.mjcf import build_mjcf  # noqa: E402
from robotops.sim.world.specs import GlareHazard, WorldSpec  # noqa: E402


def physics_only(seconds: float) -> float:
    """Wall seconds for ``seconds`` of raw mj_step on a warehouse world (one core)."""
    model = mujoco.MjModel.from_xml_string(
        build_mjcf(WorldSpec(aisle=1, hazards=[GlareHazard(x=0.0)]))
    )
    data = mujoco.MjData(model)
    data.ctrl[:] = 8.0
    steps = round(seconds / model.opt.timestep)
    t0 = time.perf_counter()
    for _ in range(steps):
        mujoco.mj_step(model, data)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--robots", type=int, default=4)
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    sim_s = args.robots * args.minutes * 60
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        summary = run_shift(
            Path(tmp), ShiftConfig(robots=args.robots, minutes=args.minutes, workers=args.workers)
        )
        wall = time.perf_counter() - t0
    frames = sim_s * Rates().camera_hz
    cores = min(args.workers, args.robots)
    raw = physics_only(60.0)
    print(
        f"shift: {args.robots} robots x {args.minutes:g} min on {cores} worker(s), "
        f"{len(summary.incidents)} incidents, {summary.bytes_logged / 1e6:.1f} MB logged"
    )
    print(f"{'figure':44s} {'value':>12s}")
    print(f"{'wall time of the shift (s)':44s} {wall:12.1f}")
    print(f"{'simulated s per wall s (whole fleet)':44s} {sim_s / wall:12.2f}")
    print(f"{'simulated s per wall s per core':44s} {sim_s / wall / cores:12.2f}")
    print(f"{'camera frames per s per core':44s} {frames / wall / cores:12.1f}")
    print(f"{'baseline: raw physics sim s per wall s, 1 core':44s} {60.0 / raw:12.1f}")
    slowdown = (60.0 / raw) / (sim_s / wall / cores)
    print(f"{'full robot loop vs raw physics (x slower)':44s} {slowdown:12.1f}")
    peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'peak RSS, main / largest worker (MB)':44s} {peak_self:6.0f} / {peak_children:4.0f}")


if __name__ == "__main__":
    main()
