"""The demo: the flywheel as far as it turns today, on the simulated fleet, end to end.

1. observe: a shift of the simulated warehouse fleet with hazards seeded in;
2. collect: each robot with incidents plans its upload (incident windows first) and the windows
   come home over the site's link at its real speed, within a per-robot byte budget, and are
   ingested into the blob store, the catalog and the vector index as they land;
3. triage: "why did #104 stall?", with evidence and citations (the triage agent's procedure);
4. search: similar moments elsewhere in the fleet, found by what happened;
5. report: markdown with the cited frame and the figures.
Later stages (labels, scenarios, training, validation, rollout) plug in after search.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image
from pydantic import BaseModel

from robotops.agents.triage.procedure import (
    TriageAnswer,
    TriageDeps,
    pull_and_ingest,
    triage,
    window_path,
)
from robotops.api.background import serve_in_thread
from robotops.memory.vectors import VectorIndex
from robotops.settings import Settings
from robotops.sim.fleet.service import create_fleet_app
from robotops.sim.fleet.shift import ShiftConfig, ShiftSummary, run_shift
from robotops.tools.fleet.client import FleetClient
from robotops.tools.fleet.models import Incident
from robotops.tools.fleet.pull import PullResult
from robotops.tools.logs.ingest import IngestDeps

STORY_QUESTION = "why did #104 stall?"


class Collected(BaseModel):
    robots: int
    files: int
    bytes_sent: int
    bytes_logged: int
    incidents_covered: int
    incidents: int


class DemoResult(BaseModel):
    shift: ShiftSummary
    collected: Collected
    triage: TriageAnswer | None
    report: str
    phases_s: dict[str, float]


def collect(
    deps: TriageDeps, incidents: list[Incident], say: Callable[[str], None]
) -> tuple[list[PullResult], Collected]:
    """Pull every robot's incident windows within its budget and ingest them."""
    results, logged = [], 0
    for robot in sorted({i.robot_id for i in incidents}):
        logged += sum(lg.size_bytes for lg in deps.fleet.logs(robot))
        res = pull_and_ingest(robot, deps)
        say(f"    #{robot}: {len(res.files)} windows, {res.transferred_bytes / 1e3:.0f} kB sent")
        results.append(res)
    covered = sum(1 for i in incidents if window_path(results, i) is not None)
    return results, Collected(
        robots=len(results),
        files=sum(len(r.files) for r in results),
        bytes_sent=sum(r.transferred_bytes for r in results),
        bytes_logged=logged,
        incidents_covered=covered,
        incidents=len(incidents),
    )


def _clock(t_ns: int) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(t_ns / 1e9))


def _report(out: Path, r: DemoResult) -> Path:
    s, c = r.shift, r.collected
    lines = [
        f"# robotops demo — {s.shift_id}",
        "",
        f"{s.robots} robots, {s.duration_s / 60:g} simulated minutes, {len(s.incidents)} "
        f"incidents, {s.bytes_logged / 1e6:.1f} MB logged on board.",
        "",
        "| robot | distance m | missions | stalls | e-stops | collisions | nav errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for rid, m in s.per_robot.items():
        lines.append(
            f"| #{rid} | {m['distance_m']:.0f} | {m['missions']:.0f} | {m['stalls']:.0f} | "
            f"{m['estops']:.0f} | {m['collisions']:.0f} | {m['nav_errors']:.0f} |"
        )
    lines += [
        "",
        "## Collected over the site link",
        "",
        f"{c.files} incident windows from {c.robots} robots: {c.bytes_sent / 1e6:.2f} MB sent "
        f"of {c.bytes_logged / 1e6:.1f} MB logged "
        f"({100 * c.bytes_sent / max(c.bytes_logged, 1):.0f} %), "
        f"{c.incidents_covered}/{c.incidents} incidents covered at full fidelity.",
    ]
    if r.triage:
        lines += [
            "",
            f"## {r.triage.question[0].upper()}{r.triage.question[1:]}",
            "",
            "```",
            r.triage.text,
            "```",
        ]
        frame = next((x.frame_path for x in r.triage.diagnosis.citations if x.frame_path), None)
        if frame:
            img = Image.open(frame)
            img.resize((img.width * 3, img.height * 3), Image.NEAREST).save(
                out / "incident_frame.png"
            )
            lines += ["", "![the cited camera frame](incident_frame.png)"]
    if r.triage and r.triage.similar.hits:
        similar = r.triage.similar
        lines += [
            "",
            f'## Similar moments: "{similar.query.text}"',
            "",
            "| robot | time (UTC) | score | why |",
            "|---|---|---|---|",
        ]
        for h in similar.hits:
            lines.append(
                f"| #{h.doc.robot_id} | {_clock(h.doc.start_ns)} | {h.score:.2f} | {h.why} |"
            )
    lines += ["", "## Wall time per phase", ""] + [
        f"- {k}: {v:.1f} s" for k, v in r.phases_s.items()
    ]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_demo(
    out: Path, config: ShiftConfig, settings: Settings, say: Callable[[str], None] = print
) -> DemoResult:
    """Run the demo into a fresh directory ``out`` (its own catalog and index) and report."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    settings = settings.model_copy(update={"data_dir": out})
    phases: dict[str, float] = {}
    clock = time.monotonic()

    def lap(name: str) -> None:
        nonlocal clock
        phases[name] = round(time.monotonic() - clock, 2)
        clock = time.monotonic()

    say(
        f"1/5 observe: {config.robots} robots x {config.minutes:g} min, hazards: "
        f"{', '.join(config.hazards) or 'none'}"
    )
    summary = run_shift(out / "fleet", config, progress=lambda rid: say(f"    robot #{rid} done"))
    say(f"    {len(summary.incidents)} incidents")
    lap("observe")
    index = VectorIndex.from_settings(settings)
    with serve_in_thread(create_fleet_app(out / "fleet")) as url, FleetClient(url) as fleet:
        deps = TriageDeps(
            fleet=fleet,
            ingest=IngestDeps.from_settings(settings, index=index),
            index=index,
            pulled_dir=out / "pulled",
        )
        say(f"2/5 collect: incident windows over the fleet API at {url}, ingested as they land")
        incidents = fleet.incidents()
        pulls, collected = collect(deps, incidents, say)
        say(f"    {index.count()} segments indexed")
        lap("collect+ingest")
        answer = None
        if any(i.robot_id == "104" for i in incidents):
            say(f"3/5 triage: {STORY_QUESTION}")
            answer = triage(STORY_QUESTION, deps, pulls, frames_dir=out / "frames")
            for line in answer.text.splitlines():
                say(f"    {line}")
            say("4/5 search: similar moments in the rest of the fleet")
            for h in answer.similar.hits:
                say(f"    #{h.doc.robot_id} {_clock(h.doc.start_ns)}  score {h.score:.2f}  {h.why}")
        lap("triage+search")
    result = DemoResult(
        shift=summary, collected=collected, triage=answer, report="", phases_s=phases
    )
    result.report = str(_report(out, result))
    say(f"5/5 report: {result.report}")
    return result
