"""The demo: the flywheel as far as it turns today, on the simulated fleet, end to end.

1. observe: a shift of the simulated warehouse fleet with hazards seeded in;
2. collect: each robot with incidents plans its upload (incident windows first) and the windows
   come home over the site's link at its real speed, within a per-robot byte budget;
3. ingest: the pulled windows go into the blob store, the catalog and the vector index;
4. triage: "why did #104 stall?", with evidence and citations;
5. search: similar moments elsewhere in the fleet, found by what happened;
6. report: markdown with the cited frame and the figures.
Later stages (labels, scenarios, training, validation, rollout) plug in after search.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image
from pydantic import BaseModel

from robotops.api.background import serve_in_thread
from robotops.memory.vectors import VectorIndex
from robotops.settings import Settings
from robotops.sim.fleet.service import create_fleet_app
from robotops.sim.fleet.shift import ShiftConfig, ShiftSummary, run_shift
from robotops.tools.fleet.client import FleetClient
from robotops.tools.fleet.models import Incident
from robotops.tools.fleet.pull import PullRequest, PullResult, pull
from robotops.tools.logs.ingest import IngestDeps, IngestRequest, ingest_log
from robotops.tools.logs.search import SearchQuery, SearchResult, search_segments
from robotops.tools.triage.diagnose import diagnose_incident
from robotops.tools.triage.models import DiagnoseRequest, Diagnosis

STORY_ROBOT = "104"
BUDGET_PER_ROBOT = 600_000
CAUSE_QUERIES = {
    "glare": "camera glare, saturated pixels, phantom obstacle stop",
    "shadow": "dark band across the floor, phantom obstacle stop",
    "oil": "wheel slip on a dark patch of floor",
    "latency": "heading oscillation, steering reversals",
    "real_obstacle": "robot stopped for an obstacle ahead",
}


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
    story_incident: Incident | None
    diagnosis: Diagnosis | None
    answer: str
    similar: SearchResult | None
    report: str
    phases_s: dict[str, float]


def _story(incidents: list[Incident]) -> Incident | None:
    story = [i for i in incidents if i.robot_id == STORY_ROBOT and i.kind == "stall"]
    stalls = [i for i in incidents if i.kind == "stall"]
    return (story or stalls or incidents or [None])[0]


def collect(
    fleet: FleetClient, incidents: list[Incident], out: Path, say: Callable[[str], None]
) -> tuple[list[PullResult], Collected]:
    """Pull every robot's incident windows within its budget; nothing else leaves the robot."""
    results, logged = [], 0
    for robot in sorted({i.robot_id for i in incidents}):
        logged += sum(lg.size_bytes for lg in fleet.logs(robot))
        res = pull(
            PullRequest(
                robot_id=robot,
                out_dir=out / robot,
                budget_bytes=BUDGET_PER_ROBOT,
                context_budget_bytes=0,
            ),
            fleet,
        )
        say(f"    #{robot}: {len(res.files)} windows, {res.transferred_bytes / 1e3:.0f} kB sent")
        results.append(res)
    covered = sum(1 for i in incidents if _pulled_file(results, i) is not None)
    return results, Collected(
        robots=len(results),
        files=sum(len(r.files) for r in results),
        bytes_sent=sum(r.transferred_bytes for r in results),
        bytes_logged=logged,
        incidents_covered=covered,
        incidents=len(incidents),
    )


def _pulled_file(results: list[PullResult], incident: Incident) -> Path | None:
    for res in results:
        for f in res.files:
            if (
                res.robot_id == incident.robot_id
                and f.path is not None
                and f.fidelity == "full"
                and f.start_ns <= incident.time_ns <= f.end_ns
            ):
                return Path(f.path)
    return None


def _clock(t_ns: int) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(t_ns / 1e9))


def answer_text(incident: Incident, d: Diagnosis) -> str:
    """The chat-style answer to "why did #<robot> stall?"."""
    clock = time.strftime("%H:%M:%S", time.gmtime(incident.time_ns / 1e9))
    lines = [
        f"#{incident.robot_id} {incident.kind}ed at {clock} UTC ({incident.incident_id}). "
        f"Most likely cause: {d.cause.replace('_', ' ')} (confidence {d.confidence:.0%}).",
        f"Why: {d.summary}.",
    ]
    lines += [
        f"  - {s.note} [{s.citation.topic}]" if s.citation else f"  - {s.note}" for s in d.signals
    ]
    if d.missing:
        lines.append(f"Missing data: {', '.join(d.missing)}.")
    return "\n".join(lines)


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
    if r.story_incident and r.diagnosis:
        inc = r.story_incident
        lines += ["", f"## Why did #{inc.robot_id} {inc.kind}?", "", "```", r.answer, "```"]
        frame = next((x.frame_path for x in r.diagnosis.citations if x.frame_path), None)
        if frame:
            img = Image.open(frame)
            img.resize((img.width * 3, img.height * 3), Image.NEAREST).save(
                out / "incident_frame.png"
            )
            lines += ["", "![the cited camera frame](incident_frame.png)"]
    if r.similar and r.similar.hits:
        lines += [
            "",
            f'## Similar moments: "{r.similar.query.text}"',
            "",
            "| robot | time (UTC) | score | why |",
            "|---|---|---|---|",
        ]
        for h in r.similar.hits:
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
        f"1/6 observe: {config.robots} robots x {config.minutes:g} min, hazards: "
        f"{', '.join(config.hazards) or 'none'}"
    )
    summary = run_shift(out / "fleet", config, progress=lambda rid: say(f"    robot #{rid} done"))
    say(f"    {len(summary.incidents)} incidents")
    lap("observe")
    with serve_in_thread(create_fleet_app(out / "fleet")) as url, FleetClient(url) as fleet:
        say(f"2/6 collect: incident windows over the fleet API at {url}")
        incidents = fleet.incidents()
        pulls, collected = collect(fleet, incidents, out / "pulled", say)
    lap("collect")
    say("3/6 ingest: catalog and vector index")
    index = VectorIndex.from_settings(settings)
    deps = IngestDeps.from_settings(settings, index=index)
    for res in pulls:
        for f in res.files:
            if f.path is not None:
                ingest_log(IngestRequest(path=f.path, robot_id=res.robot_id), deps)
    say(f"    {index.count()} segments indexed")
    lap("ingest")
    story = _story(incidents)
    diagnosis, answer, similar = None, "no incidents in this shift", None
    story_file = _pulled_file(pulls, story) if story else None
    if story and story_file:
        say(f"4/6 triage: why did #{story.robot_id} {story.kind}?")
        diagnosis = diagnose_incident(
            DiagnoseRequest(
                log_path=str(story_file),
                time_ns=story.time_ns,
                kind=story.kind,
                frames_dir=str(out / "frames"),
            )
        )
        answer = answer_text(story, diagnosis)
        for line in answer.splitlines():
            say(f"    {line}")
        lap("triage")
        say("5/6 search: similar moments in the rest of the fleet")
        similar = search_segments(SearchQuery(text=CAUSE_QUERIES[diagnosis.cause], k=5), index)
        for h in similar.hits:
            say(f"    #{h.doc.robot_id} {_clock(h.doc.start_ns)}  score {h.score:.2f}  {h.why}")
        lap("search")
    result = DemoResult(
        shift=summary,
        collected=collected,
        story_incident=story,
        diagnosis=diagnosis,
        answer=answer,
        similar=similar,
        report="",
        phases_s=phases,
    )
    result.report = str(_report(out, result))
    say(f"6/6 report: {result.report}")
    return result
