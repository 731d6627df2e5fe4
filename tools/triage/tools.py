"""The triage tools: diagnose one incident from its log; answer "why did #104 stall?"."""

from __future__ import annotations

from pydantic import BaseModel, Field

from robotops.tools.context import ToolContext
from robotops.tools.toolset import Toolset
from robotops.tools.triage.answer import TriageAnswer, triage
from robotops.tools.triage.diagnose import diagnose_incident
from robotops.tools.triage.models import DiagnoseRequest, Diagnosis

toolset = Toolset("triage")


@toolset.tool("diagnose_incident")
def diagnose_incident_tool(request: DiagnoseRequest, ctx: ToolContext) -> Diagnosis:
    """Name the most likely cause of an incident from the log around it, with evidence.

    Use it once the incident's window is on disk (pull_incident_windows): it reads commanded vs
    measured motion, camera saturation, range ahead, diagnostics, and cites each signal.
    """
    return diagnose_incident(request)


class TriageQuestion(BaseModel):
    """A person's question about one robot's incident."""

    question: str = Field(
        min_length=1, max_length=2000, description='e.g. "why did #104 stall?" naming a robot'
    )


@toolset.tool("triage_incident")
def triage_incident_tool(request: TriageQuestion, ctx: ToolContext) -> TriageAnswer:
    """Answer why a robot had an incident: cause, confidence, cited signals, similar moments.

    Use it for "why did #104 stall?": it resolves the robot, picks its incident, pulls and
    ingests the window if needed, diagnoses it and searches for similar segments. Each of those
    steps is a call of the tool of its own (list_robots, list_incidents, pull_incident_windows,
    ingest_log, diagnose_incident, search_segments), recorded like any other.
    """
    return triage(request.question, ctx.call, frames_dir=ctx.data_dir / "frames")
