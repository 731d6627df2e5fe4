"""Triage's answer to "why did #104 stall?", composed of the other tools' calls.

Resolve the robot named in the question, find its incident, make sure the window around it is
home (pull it from the robot over the fleet API if not), ingest it, diagnose it, and find similar
moments elsewhere. Every step is a tool call through the caller it is given (an agent's toolbox
records each one). Text in the question or in logs is data here: nothing in it can approve,
deploy, or change what the procedure may do.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from pydantic import BaseModel

from robotops.errors import InvalidRequestError, NotFoundError
from robotops.sim.fleet.models import Incident
from robotops.tools.fleet.pull import PULL_BUDGET_BYTES, PullResult
from robotops.tools.logs.search import SearchResult
from robotops.tools.toolset import ToolCaller
from robotops.tools.triage.models import Diagnosis

ROBOT_RE = re.compile(r"(?:#|\brobot\s+|\bamr[-_ ]?)(\w+)", re.IGNORECASE)
KIND_WORDS = {
    "stall": "stall",
    "stuck": "stall",
    "stop": "stall",
    "e-stop": "estop",
    "estop": "estop",
    "collid": "collision",
    "crash": "collision",
    "hit": "collision",
    "slip": "nav_error",
    "oscillat": "nav_error",
    "nav": "nav_error",
}
CAUSE_QUERIES = {
    "glare": "camera glare, saturated pixels, phantom obstacle stop",
    "shadow": "dark band across the floor, phantom obstacle stop",
    "oil": "wheel slip on a dark patch of floor",
    "latency": "heading oscillation, steering reversals",
    "real_obstacle": "robot stopped for an obstacle ahead",
    "unknown": "robot stopped",
}


class TriageAnswer(BaseModel):
    """Why a robot had an incident: the incident, the diagnosis with evidence, similar
    segments, and the answer in words."""

    question: str
    robot_id: str
    incident: Incident
    diagnosis: Diagnosis
    similar: SearchResult
    text: str


def resolve_robot(question: str, known: list[str]) -> str:
    """The robot a question is about: "#104", "robot 104", "amr-07" (matched to known ids)."""
    for rid in known:
        if not rid.isdigit() and re.search(rf"\b{re.escape(rid)}\b", question, re.IGNORECASE):
            return rid
    for token in ROBOT_RE.findall(question):
        for rid in known:
            if token.lower() == rid.lower() or token.lstrip("0") == rid.lstrip("0"):
                return rid
    raise InvalidRequestError(
        f"which robot? no known robot named in {question!r}; known: {', '.join(sorted(known))}"
    )


def pick_incident(question: str, incidents: list[Incident], robot_id: str) -> Incident:
    """The robot's most recent incident of the kind the question asks about (any kind if none)."""
    mine = [i for i in incidents if i.robot_id == robot_id]
    if not mine:
        raise NotFoundError(f"incident of robot {robot_id}", "any")
    q = question.lower()
    kinds = {kind for word, kind in KIND_WORDS.items() if word in q}
    wanted = [i for i in mine if i.kind in kinds] or mine
    return max(wanted, key=lambda i: i.time_ns)


def window_path(pulls: list[PullResult], incident: Incident) -> Path | None:
    """A full-fidelity pulled file covering the incident, if one is home already."""
    for res in pulls:
        for f in res.files:
            if (
                res.robot_id == incident.robot_id
                and f.path is not None
                and f.fidelity == "full"
                and f.start_ns <= incident.time_ns <= f.end_ns
            ):
                return Path(f.path)
    return None


def pull_and_ingest(robot_id: str, call: ToolCaller) -> PullResult:
    """Bring the robot's incident windows home within the budget and ingest them.

    Args:
        robot_id: the robot whose incident windows to pull.
        call: runs a tool by name (``pull_incident_windows``, ``ingest_log``).

    Returns:
        The pull's result: each file pulled, where it lies, what it covers.
    """
    res = call(
        "pull_incident_windows",
        {"robot_id": robot_id, "budget_bytes": PULL_BUDGET_BYTES, "context_budget_bytes": 0},
    )
    for f in res.files:
        if f.path is not None:
            call("ingest_log", {"path": str(f.path), "robot_id": robot_id})
    return res


def answer_text(incident: Incident, d: Diagnosis) -> str:
    """The chat answer: cause, confidence, why, and each signal with where it came from."""
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


def triage(
    question: str,
    call: ToolCaller,
    pulls: list[PullResult] | None = None,
    frames_dir: Path | None = None,
) -> TriageAnswer:
    """Answer "why did #<robot> <do something>?" with a cause, evidence and similar moments.

    Args:
        question: the person's words, naming a robot (data, never instructions).
        call: runs a tool by name; an agent's toolbox, a context's ``call`` or a toolset's.
        pulls: windows already pulled (reused before pulling again).
        frames_dir: where the diagnosis saves the frames it cites.

    Returns:
        The robot, its incident, the diagnosis, similar segments and the answer in words.
    """
    robots = call("list_robots", {}).robots
    robot_id = resolve_robot(question, [r.robot_id for r in robots])
    incidents = call("list_incidents", {"robot_id": robot_id}).incidents
    incident = pick_incident(question, incidents, robot_id)
    pulls = list(pulls or [])
    path = window_path(pulls, incident)
    if path is None:
        pulls.append(pull_and_ingest(robot_id, call))
        path = window_path(pulls, incident)
    if path is None:
        raise NotFoundError(f"pulled window of {incident.incident_id}", "within the pull budget")
    diagnosis = call(
        "diagnose_incident",
        {
            "log_path": str(path),
            "time_ns": incident.time_ns,
            "kind": incident.kind,
            "frames_dir": str(frames_dir) if frames_dir else None,
        },
    )
    similar = call("search_segments", {"text": CAUSE_QUERIES[diagnosis.cause], "k": 5})
    return TriageAnswer(
        question=question,
        robot_id=robot_id,
        incident=incident,
        diagnosis=diagnosis,
        similar=similar,
        text=answer_text(incident, diagnosis),
    )
