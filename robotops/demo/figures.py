"""Before/after figures of a flywheel turn, computed from what the fleet recorded.

Two sources, kept apart on purpose: what the fleet itself reports (the shift summary a real
fleet would also have: stalls, e-stops, collisions, missions) and the simulator's ground truth
(why each incident happened), which only an evaluation on the simulated fleet can use.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from pydantic import BaseModel

from robotops.errors import NotFoundError

PHANTOM_CAUSES = ("glare", "shadow")


class ShiftFigures(BaseModel):
    """One shift's figures, per robot-hour where a rate makes sense."""

    shift_id: str
    policy_versions: list[str]
    robot_hours: float
    stalls: int
    stalls_per_robot_hour: float
    phantom_stops: int
    glare_shadow_stalls: int
    glare_shadow_stalls_per_robot_hour: float
    estops: int
    collisions: int
    missions: int
    missions_per_robot_hour: float
    bytes_logged: int
    incidents_by_cause: dict[str, int] = {}


def _load(path: Path, what: str) -> dict:
    if not path.exists():
        raise NotFoundError(what, str(path))
    return json.loads(path.read_text())


def shift_figures(fleet_dir: Path, shift_id: str) -> ShiftFigures:
    """Figures of ``shift_id`` from the fleet's shift summary and the simulator's truth."""
    summary = _load(fleet_dir / "shifts" / f"{shift_id}.json", "shift summary")
    truth = _load(fleet_dir / "ground_truth.json", "ground truth")
    per_robot = summary["per_robot"]
    robot_truth = truth["shifts"].get(shift_id, {})
    hours = len(per_robot) * summary["duration_s"] / 3600.0
    kinds = {i["incident_id"]: i["kind"] for i in summary["incidents"]}
    glare_shadow = sum(
        1
        for iid, kind in kinds.items()
        if kind == "stall" and truth["incidents"].get(iid, {}).get("cause") in PHANTOM_CAUSES
    )
    by_cause = Counter(truth["incidents"].get(iid, {}).get("cause", "unknown") for iid in kinds)
    stalls = sum(int(m["stalls"]) for m in per_robot.values())
    missions = sum(int(m["missions"]) for m in per_robot.values())
    return ShiftFigures(
        shift_id=shift_id,
        policy_versions=sorted({r["policy_version"] for r in robot_truth.values()}),
        robot_hours=round(hours, 4),
        stalls=stalls,
        stalls_per_robot_hour=round(stalls / hours, 2),
        phantom_stops=sum(int(r["metrics"]["phantom_stops"]) for r in robot_truth.values()),
        glare_shadow_stalls=glare_shadow,
        glare_shadow_stalls_per_robot_hour=round(glare_shadow / hours, 2),
        estops=sum(int(m["estops"]) for m in per_robot.values()),
        collisions=sum(int(m["collisions"]) for m in per_robot.values()),
        missions=missions,
        missions_per_robot_hour=round(missions / hours, 2),
        bytes_logged=int(summary["bytes_logged"]),
        incidents_by_cause=dict(sorted(by_cause.items())),
    )


def change_pct(before: float, after: float) -> float | None:
    """Relative change in percent (negative = fewer); None when there was nothing before."""
    return None if before == 0 else round(100.0 * (after - before) / before, 1)
