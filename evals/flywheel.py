"""``robotops eval flywheel``: one turn of the loop on several seeds, figures with their spread.

Each seed runs the whole demo (shift, pulls, triage, scenarios, training, judge, auto-approved
rollout, second shift) in its own directory; the figures are the before/after table's, plus
how the judge ranked the candidate. Goals (issue 9): glare/shadow stalls down >= 90 % after one
turn, no new collisions on the golden suite, triage cause correct >= 90 % (see eval triage).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from robotops.demo.run import DemoResult, run_demo
from robotops.settings import Settings
from robotops.sim.fleet.shift import ShiftConfig


class SeedOutcome(BaseModel):
    seed: int
    verdict: str
    stopped_at: str
    glare_shadow_before: float
    glare_shadow_after: float | None
    stalls_before: float
    stalls_after: float | None
    collisions_before: int
    collisions_after: int | None
    golden_safety_failures: int
    wall_s: float


class FlywheelEval(BaseModel):
    seeds: list[SeedOutcome]
    glare_shadow_drop_pct: list[float]
    mean_drop_pct: float | None
    spread_pct: float | None


def _outcome(seed: int, r: DemoResult) -> SeedOutcome:
    v = (r.validation or {}).get("verdict") or {}
    safety = [s for s in v.get("safety", []) if not s.get("passed", True)]
    b, a = r.before, r.after
    return SeedOutcome(
        seed=seed,
        verdict=v.get("verdict", "none"),
        stopped_at=r.stopped_at,
        glare_shadow_before=b.glare_shadow_stalls_per_robot_hour,
        glare_shadow_after=a.glare_shadow_stalls_per_robot_hour if a else None,
        stalls_before=b.stalls_per_robot_hour,
        stalls_after=a.stalls_per_robot_hour if a else None,
        collisions_before=b.collisions,
        collisions_after=a.collisions if a else None,
        golden_safety_failures=len(safety) + len(v.get("new_collisions", [])),
        wall_s=round(sum(r.phases_s.values()), 1),
    )


def eval_flywheel(
    seeds: list[int],
    out: Path,
    settings: Settings,
    robots: int,
    minutes: float,
    say: Callable[[str], None] = print,
) -> FlywheelEval:
    outcomes = []
    for seed in seeds:
        say(f"seed {seed}")
        config = ShiftConfig(robots=robots, minutes=minutes, seed=seed, site=settings.site)
        result = run_demo(
            out / f"seed-{seed}",
            config,
            settings,
            say=lambda m: say("  " + m),
            auto_approve=True,
        )
        outcomes.append(_outcome(seed, result))
    drops = [
        100.0 * (o.glare_shadow_before - o.glare_shadow_after) / o.glare_shadow_before
        for o in outcomes
        if o.glare_shadow_after is not None and o.glare_shadow_before > 0
    ]
    return FlywheelEval(
        seeds=outcomes,
        glare_shadow_drop_pct=[round(d, 1) for d in drops],
        mean_drop_pct=round(statistics.mean(drops), 1) if drops else None,
        spread_pct=round(statistics.stdev(drops), 1) if len(drops) > 1 else None,
    )
