"""The demo: a shift of the simulated fleet, its incidents, #104's stall pulled home and triaged.

This is the end-to-end slice of the flywheel as it stands: observe (a shift with hazards),
collect (the incident window over the fleet API at the site's real link speed), triage (why
did #104 stall? with evidence and citations), and a report a person can look at. Later stages
(labels, scenarios, training, validation, rollout) plug in after triage.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image
from pydantic import BaseModel

from robotops.api.background import serve_in_thread
from robotops.sim.fleet.service import create_fleet_app
from robotops.sim.fleet.shift import ShiftConfig, ShiftSummary, run_shift
from robotops.tools.fleet.client import FleetClient
from robotops.tools.fleet.models import Incident, UploadRequest
from robotops.tools.triage.diagnose import diagnose_incident
from robotops.tools.triage.models import DiagnoseRequest, Diagnosis

STORY_ROBOT = "104"
BEFORE_S, AFTER_S = 10.0, 2.0
PULL_TOPICS = [
    "/camera/image/compressed",
    "/scan",
    "/perception/obstacle",
    "/events",
    "/cmd_vel",
    "/odom",
    "/diagnostics",
]


class Pull(BaseModel):
    incident: Incident
    path: str
    window_bytes: int
    log_bytes: int
    transfer_s: float


class DemoResult(BaseModel):
    shift: ShiftSummary
    pull: Pull | None
    diagnosis: Diagnosis | None
    answer: str
    report: str
    phases_s: dict[str, float]


def _pick_incident(incidents: list[Incident]) -> Incident | None:
    story = [i for i in incidents if i.robot_id == STORY_ROBOT and i.kind == "stall"]
    stalls = [i for i in incidents if i.kind == "stall"]
    return (story or stalls or incidents or [None])[0]


def pull_incident(
    fleet: FleetClient, incident: Incident, dest: Path, say: Callable[[str], None]
) -> Pull:
    """Request the incident's window from the robot and bring it home over the site link."""
    t0 = time.monotonic()
    log = next(lg for lg in fleet.logs(incident.robot_id) if lg.log_name == incident.log_name)
    upload = fleet.request_upload(
        incident.robot_id,
        UploadRequest(
            log_name=incident.log_name,
            start_ns=incident.time_ns - int(BEFORE_S * 1e9),
            end_ns=incident.time_ns + int(AFTER_S * 1e9),
            topics=PULL_TOPICS,
        ),
    )
    say(
        f"    pulling {incident.incident_id}: {upload.size_bytes / 1e3:.0f} kB of a "
        f"{log.size_bytes / 1e6:.1f} MB log at {upload.link_speed_bps / 1e6:g} MB/s"
    )
    path = fleet.download_upload(upload, dest / f"{incident.incident_id}.mcap")
    return Pull(
        incident=incident,
        path=str(path),
        window_bytes=upload.size_bytes,
        log_bytes=log.size_bytes,
        transfer_s=time.monotonic() - t0,
    )


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


def _report(
    out: Path, summary: ShiftSummary, pull: Pull | None, d: Diagnosis | None, answer: str
) -> Path:
    lines = [
        f"# robotops demo — {summary.shift_id}",
        "",
        f"{summary.robots} robots, {summary.duration_s / 60:g} simulated minutes, "
        f"{len(summary.incidents)} incidents, {summary.bytes_logged / 1e6:.1f} MB logged on board.",
        "",
        "| robot | distance m | missions | stalls | e-stops | collisions | nav errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for rid, m in summary.per_robot.items():
        lines.append(
            f"| #{rid} | {m['distance_m']:.0f} | {m['missions']:.0f} | {m['stalls']:.0f} | "
            f"{m['estops']:.0f} | {m['collisions']:.0f} | {m['nav_errors']:.0f} |"
        )
    if pull and d:
        inc = pull.incident
        lines += [
            "",
            f"## Why did #{inc.robot_id} {inc.kind}?",
            "",
            "```",
            answer,
            "```",
            "",
            f"Pulled window: {BEFORE_S:g} s before to {AFTER_S:g} s after, "
            f"{len(PULL_TOPICS)} topics, "
            f"{pull.window_bytes / 1e3:.0f} kB of a {pull.log_bytes / 1e6:.1f} MB log "
            f"({100 * pull.window_bytes / max(pull.log_bytes, 1):.1f} %), "
            f"{pull.transfer_s:.1f} s over the site link.",
        ]
        frame = next((c.frame_path for c in d.citations if c.frame_path), None)
        if frame:
            img = Image.open(frame)
            img.resize((img.width * 3, img.height * 3), Image.NEAREST).save(
                out / "incident_frame.png"
            )
            lines += ["", "![the cited camera frame](incident_frame.png)"]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_demo(out: Path, config: ShiftConfig, say: Callable[[str], None] = print) -> DemoResult:
    """Run the demo into a fresh directory ``out`` and return its figures."""
    if out.exists():
        shutil.rmtree(out)
    (out / "pulled").mkdir(parents=True)
    phases: dict[str, float] = {}
    t0 = time.monotonic()
    hazards = ", ".join(config.hazards) or "no hazards"
    say(f"1/4 observe: a shift of {config.robots} robots x {config.minutes:g} min with {hazards}")
    summary = run_shift(out / "fleet", config, progress=lambda rid: say(f"    robot #{rid} done"))
    say(f"    {len(summary.incidents)} incidents")
    phases["observe"] = time.monotonic() - t0
    pull = None
    with serve_in_thread(create_fleet_app(out / "fleet")) as url, FleetClient(url) as fleet:
        say(f"2/4 collect: fleet API at {url}")
        incident = _pick_incident(fleet.incidents())
        if incident:
            pull = pull_incident(fleet, incident, out / "pulled", say)
    phases["collect"] = time.monotonic() - t0 - sum(phases.values())
    diagnosis, answer = None, "no incidents in this shift"
    if pull:
        say(f"3/4 triage: why did #{pull.incident.robot_id} {pull.incident.kind}?")
        diagnosis = diagnose_incident(
            DiagnoseRequest(
                log_path=pull.path,
                time_ns=pull.incident.time_ns,
                kind=pull.incident.kind,
                frames_dir=str(out / "frames"),
            )
        )
        answer = answer_text(pull.incident, diagnosis)
        for line in answer.splitlines():
            say(f"    {line}")
    phases["triage"] = time.monotonic() - t0 - sum(phases.values())
    report = _report(out, summary, pull, diagnosis, answer)
    say(f"4/4 report: {report}")
    return DemoResult(
        shift=summary,
        pull=pull,
        diagnosis=diagnosis,
        answer=answer,
        report=str(report),
        phases_s=phases,
    )
