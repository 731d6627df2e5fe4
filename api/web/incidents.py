"""The incident page: the robot's flagged event with frames, a timeline plot of speed,
perception and events, the labels of the segments around it, and similar moments.

Everything is read from what is home already: the incident from the fleet, the window from the
log the catalog holds (pulled and ingested, e.g. by a chat triage). Frames and the plot are
drawn once into DATA_DIR/web/incidents/<id>/ and served from there.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from PIL import Image
from pydantic import BaseModel, Field, RootModel

from robotops.api.deps import ApiDeps, Deps
from robotops.api.web.plots import timeline_png
from robotops.api.web.render import PageRoute, page
from robotops.api.web.session import PageViewer
from robotops.errors import NotFoundError, RobotOpsError
from robotops.memory.catalog import LogPublic
from robotops.memory.labels import LabelStore
from robotops.memory.segment_docs import SegmentHit
from robotops.sim.fleet.models import Incident
from robotops.tools.fleet.client import FleetClient
from robotops.tools.labeling.registry import FrameError
from robotops.tools.logs.search import SearchQuery, search_segments
from robotops.tools.triage.signals import decode_image
from robotops.tools.triage.window import read_window

router = APIRouter(prefix="/ui/incidents", route_class=PageRoute, include_in_schema=False)
BEFORE_S, AFTER_S = 8.0, 4.0
FRAMES = 4


class FrameView(BaseModel):
    offset_s: float
    path: str


FrameList = RootModel[list[FrameView]]


class SegmentView(BaseModel):
    start_ns: int
    end_ns: int
    description: str
    labels: list[str] = Field(default_factory=list)


class IncidentView(BaseModel):
    incident: Incident
    log: LogPublic | None = None
    missing: str | None = Field(None, description="why there is no window to show")
    frames: list[FrameView] = Field(default_factory=list)
    timeline: str | None = None
    segments: list[SegmentView] = Field(default_factory=list)
    similar_segments: list[SegmentHit] = Field(default_factory=list)
    similar_incidents: list[Incident] = Field(default_factory=list)


def find_incident(incidents: list[Incident], incident_id: str) -> Incident:
    for incident in incidents:
        if incident.incident_id == incident_id:
            return incident
    raise NotFoundError("incident", incident_id, [i.incident_id for i in incidents])


def incident_log(deps: ApiDeps, incident: Incident) -> tuple[LogPublic, Path] | None:
    """The ingested log that covers the incident, and where its bytes are."""
    for log in reversed(deps.ingest.catalog.list_logs(robot_id=incident.robot_id)):
        if log.start_ns <= incident.time_ns <= log.end_ns:
            blobs = deps.ingest.blobs
            path = blobs.path_of(log.id) if blobs.exists(log.id) else Path(log.source_path)
            if path.is_file():
                return log, path
    return None


def work_dir(deps: ApiDeps, incident_id: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", incident_id)
    return deps.settings.data_dir / "web" / "incidents" / safe


def draw(deps: ApiDeps, incident: Incident, path: Path) -> tuple[list[FrameView], Path]:
    """Frames up to the incident and the timeline plot, drawn once per incident: later views
    read the list of frames drawn, not the log."""
    out = work_dir(deps, incident.incident_id)
    timeline, drawn = out / "timeline.png", out / "frames.json"
    if timeline.is_file() and drawn.is_file():
        return FrameList.model_validate_json(drawn.read_text()).root, timeline
    out.mkdir(parents=True, exist_ok=True)
    start = incident.time_ns - int(BEFORE_S * 1e9)
    win = read_window(str(path), start, incident.time_ns + int(AFTER_S * 1e9))
    images = [(t, m) for t, m in win.messages.get("image", []) if t <= incident.time_ns]
    picked = images[:: max(1, len(images) // FRAMES)][-FRAMES + 1 :] + images[-1:]
    frames = []
    for t, msg in dict(picked).items():
        try:
            rgb = decode_image(msg, win.compressed())
        except FrameError:  # a corrupt frame is left out, the rest of the page still shows
            continue
        png = out / f"frame_{t}.png"
        Image.fromarray(rgb).save(png)
        frames.append(FrameView(offset_s=(t - incident.time_ns) / 1e9, path=str(png)))
    title = f"#{incident.robot_id} {incident.kind} {incident.incident_id}"
    timeline.write_bytes(timeline_png(win, incident.time_ns, title))
    partial = drawn.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    partial.write_text(FrameList(frames).model_dump_json())
    partial.replace(drawn)  # last, and whole: marks the drawing complete
    return frames, timeline


def segments_around(deps: ApiDeps, log: LogPublic, incident: Incident) -> list[SegmentView]:
    start = incident.time_ns - int(BEFORE_S * 1e9)
    segments = deps.ingest.catalog.segments(log.id, start, incident.time_ns + int(AFTER_S * 1e9))
    labels = LabelStore(deps.ingest.catalog).active_labels([s.id for s in segments])
    return [
        SegmentView(
            start_ns=s.start_ns,
            end_ns=s.end_ns,
            description=s.description,
            labels=sorted({lab.value for lab in labels.get(s.id, [])}),
        )
        for s in segments
    ]


def similar_segments(deps: ApiDeps, log: LogPublic, around: list[SegmentView]) -> list[SegmentHit]:
    """Moments elsewhere described like the segment of the incident."""
    if not around:
        return []
    hits = search_segments(SearchQuery(text=around[-1].description, k=8), deps.index).hits
    return [h for h in hits if h.doc.log_id != log.id][:5]


def incident_view(deps: ApiDeps, incident_id: str) -> IncidentView:
    with FleetClient.from_settings(deps.settings) as fleet:
        incidents = fleet.incidents()
    incident = find_incident(incidents, incident_id)
    view = IncidentView(
        incident=incident,
        similar_incidents=[
            i for i in incidents if i.kind == incident.kind and i.incident_id != incident_id
        ][:8],
    )
    found = incident_log(deps, incident)
    if found is None:
        view.missing = (
            f"no ingested log of robot {incident.robot_id} covers this incident yet; ask the "
            f"chat about it (it pulls and ingests the window) or ingest the log"
        )
        return view
    view.log, path = found
    frames, timeline = draw(deps, incident, path)
    view.frames, view.timeline = frames, str(timeline)
    view.segments = segments_around(deps, view.log, incident)
    view.similar_segments = similar_segments(deps, view.log, view.segments)
    return view


@router.get("/{incident_id}")
def incident_page(incident_id: str, request: Request, deps: Deps, _: PageViewer) -> Response:
    try:
        view: Any = incident_view(deps, incident_id)
    except NotFoundError:
        raise
    except RobotOpsError as exc:
        return page(request, "incident.html", status=503, view=None, error=str(exc))
    return page(request, "incident.html", view=view, error=None)


@router.get("/{incident_id}/timeline.png")
def timeline(incident_id: str, deps: Deps, _: PageViewer) -> Response:
    """The timeline plot (drawn on first use, then served from the data dir)."""
    png = work_dir(deps, incident_id) / "timeline.png"
    if not png.exists():
        incident_view(deps, incident_id)
    if not png.exists():
        raise NotFoundError("timeline of incident", incident_id)
    return FileResponse(png, media_type="image/png")
