"""The demo: one shift of the simulated fleet, its incidents, and #104's incident pulled home.

This is the thin end-to-end slice of the flywheel as it stands: observe (a shift with hazards),
collect (a bandwidth-aware pull of the incident window over the fleet API at the site's real
link speed), and a report a person can look at. Later stages plug in after ``collect``.
"""

from __future__ import annotations

import io
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory
from PIL import Image
from pydantic import BaseModel

from robotops.api.background import serve_in_thread
from robotops.sim.fleet.service import create_fleet_app
from robotops.sim.fleet.shift import ShiftConfig, ShiftSummary, run_shift
from robotops.tools.fleet.client import FleetClient
from robotops.tools.fleet.models import Incident, UploadRequest

STORY_ROBOT = "104"
WINDOW_S = 8.0
PULL_TOPICS = ["/camera/image/compressed", "/perception/obstacle", "/events", "/cmd_vel", "/odom"]


class DemoResult(BaseModel):
    shift: ShiftSummary
    pulled_incident: Incident | None
    window_bytes: int
    log_bytes: int
    transfer_s: float
    report: str
    phases_s: dict[str, float]


def _frame_at(path: Path, t_ns: int) -> Image.Image | None:
    """The camera frame closest to ``t_ns`` in an MCAP window."""
    best = None
    with open(path, "rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        for _, _, msg, ros in reader.iter_decoded_messages(topics=["/camera/image/compressed"]):
            if best is None or abs(msg.log_time - t_ns) < abs(best[0] - t_ns):
                best = (msg.log_time, bytes(ros.data))
    return Image.open(io.BytesIO(best[1])).convert("RGB") if best else None


def _pick_incident(incidents: list[Incident]) -> Incident | None:
    story = [i for i in incidents if i.robot_id == STORY_ROBOT and i.kind == "stall"]
    return (story or [i for i in incidents if i.kind == "stall"] or incidents or [None])[0]


def _report(
    out: Path,
    summary: ShiftSummary,
    incident: Incident | None,
    frame: Image.Image | None,
    window_bytes: int,
    log_bytes: int,
    transfer_s: float,
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
    if incident:
        lines += [
            "",
            f"## Pulled: {incident.incident_id} (#{incident.robot_id} {incident.kind})",
            "",
            f"{incident.detail}. Window of ±{WINDOW_S:g} s, {len(PULL_TOPICS)} topics: "
            f"{window_bytes / 1e3:.0f} kB of a {log_bytes / 1e6:.1f} MB log "
            f"({100 * window_bytes / max(log_bytes, 1):.1f} %), "
            f"{transfer_s:.1f} s over the site link.",
        ]
        if frame is not None:
            frame.resize((frame.width * 3, frame.height * 3), Image.NEAREST).save(
                out / "incident_frame.png"
            )
            lines += ["", "![camera at the incident](incident_frame.png)"]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_demo(out: Path, config: ShiftConfig, say: Callable[[str], None] = print) -> DemoResult:
    """Run the demo into a fresh directory ``out`` and return its figures."""
    if out.exists():
        shutil.rmtree(out)
    fleet_dir, pulled = out / "fleet", out / "pulled"
    pulled.mkdir(parents=True)
    phases: dict[str, float] = {}
    t0 = time.monotonic()
    say(
        f"1/3 observe: a shift of {config.robots} robots x {config.minutes:g} min with "
        f"{', '.join(config.hazards) or 'no hazards'}"
    )
    summary = run_shift(fleet_dir, config, progress=lambda rid: say(f"    robot #{rid} done"))
    phases["shift"] = time.monotonic() - t0
    say(f"    {len(summary.incidents)} incidents")
    incident, frame, window_bytes, log_bytes, transfer_s = None, None, 0, 0, 0.0
    with serve_in_thread(create_fleet_app(fleet_dir)) as url, FleetClient(url) as fleet:
        say(f"2/3 collect: fleet API at {url}")
        incident = _pick_incident(fleet.incidents())
        if incident:
            t1 = time.monotonic()
            log = next(
                lg for lg in fleet.logs(incident.robot_id) if lg.log_name == incident.log_name
            )
            half = int(WINDOW_S * 1e9)
            upload = fleet.request_upload(
                incident.robot_id,
                UploadRequest(
                    log_name=incident.log_name,
                    start_ns=incident.time_ns - half,
                    end_ns=incident.time_ns + half,
                    topics=PULL_TOPICS,
                ),
            )
            say(
                f"    pulling {incident.incident_id}: {upload.size_bytes / 1e3:.0f} kB at "
                f"{upload.link_speed_bps / 1e6:g} MB/s (the log is {log.size_bytes / 1e6:.1f} MB)"
            )
            path = fleet.download_upload(upload, pulled / f"{incident.incident_id}.mcap")
            transfer_s = time.monotonic() - t1
            window_bytes, log_bytes = upload.size_bytes, log.size_bytes
            frame = _frame_at(path, incident.time_ns)
    phases["collect"] = time.monotonic() - t0 - phases["shift"]
    report = _report(out, summary, incident, frame, window_bytes, log_bytes, transfer_s)
    say(f"3/3 report: {report}")
    return DemoResult(
        shift=summary,
        pulled_incident=incident,
        window_bytes=window_bytes,
        log_bytes=log_bytes,
        transfer_s=transfer_s,
        report=str(report),
        phases_s=phases,
    )
