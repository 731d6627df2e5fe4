"""Pull what matters from a robot over its thin link: plan on the robot, then transfer.

The robot plans (``POST /robots/{id}/upload-plan``: incident windows first, thinned context
after, within the budget); each item of the plan is then prepared as an upload and downloaded in
byte ranges, checked against its sha256 and renamed into place only when whole. The plan and a
manifest are written next to the files before and after every transfer, so an interrupted pull
keeps what it got and the same pull run again resumes: finished files are not fetched again and
a partial one continues from its last byte.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from robotops.errors import FleetUnavailableError
from robotops.memory.blobs import hash_file
from robotops.sim.fleet.models import (
    INCIDENT_KINDS,
    ContextFidelity,
    IncidentKind,
    PlanItem,
    UploadPlan,
    UploadPlanRequest,
)
from robotops.tools.fleet.client import FleetClient

PullProgress = Callable[[str, int, int], None]
"""Called as ``progress(file_name, bytes_done, bytes_total)`` while a file downloads."""


PULL_BUDGET_BYTES = 600_000  # what triage pulls per robot over its thin link by default


class PullRequest(BaseModel):
    """What to pull from one robot, and where to put it."""

    robot_id: str
    out_dir: Path
    budget_bytes: int | None = Field(None, gt=0)
    deadline_s: float | None = Field(None, gt=0)
    context_budget_bytes: int | None = Field(None, ge=0)
    incidents: bool = True
    incident_kinds: list[IncidentKind] = Field(default_factory=lambda: list(INCIDENT_KINDS))
    log_name: str | None = None
    pre_s: float = Field(8.0, ge=0)
    post_s: float = Field(4.0, ge=0)
    context: ContextFidelity = Field(default_factory=ContextFidelity)

    def plan_request(self) -> UploadPlanRequest:
        return UploadPlanRequest(
            log_name=self.log_name,
            budget_bytes=self.budget_bytes,
            deadline_s=self.deadline_s,
            context_budget_bytes=self.context_budget_bytes,
            incidents=self.incidents,
            incident_kinds=self.incident_kinds,
            pre_s=self.pre_s,
            post_s=self.post_s,
            context=self.context,
        )


class PulledFile(BaseModel):
    """One item of the plan and what became of it."""

    item: int = Field(description="index into the plan's items")
    role: Literal["incident", "context"]
    fidelity: Literal["full", "context"]
    log_name: str
    start_ns: int
    end_ns: int
    estimated_bytes: int
    status: Literal["pending", "downloaded", "already_present", "skipped_budget"] = "pending"
    upload_id: str = ""
    path: Path | None = None
    size_bytes: int = 0
    sha256: str = ""
    transferred_bytes: int = Field(0, description="bytes that crossed the link in this run")


class PullResult(BaseModel):
    """The plan, every file it led to, and whether the pull finished."""

    robot_id: str
    out_dir: Path
    plan_path: Path
    manifest_path: Path
    plan: UploadPlan
    files: list[PulledFile]
    complete: bool
    bytes_on_disk: int = Field(description="verified bytes in out_dir for this plan")
    transferred_bytes: int = Field(description="bytes that crossed the link in this run")


class PullInterruptedError(FleetUnavailableError):
    """The link or the fleet went away mid-pull; what was verified stays, a rerun resumes."""

    def __init__(self, cause: Exception, result: PullResult) -> None:
        self.cause, self.result = cause, result
        done = [f for f in result.files if f.status in ("downloaded", "already_present")]
        super().__init__(
            f"{cause}; pull from robot {result.robot_id} interrupted after {len(done)} of "
            f"{len(result.files)} files ({result.bytes_on_disk / 1e6:.2f} MB verified); partial "
            f"progress kept in {result.out_dir}: run the same pull again to resume"
        )


def pull(
    request: PullRequest, fleet: FleetClient, progress: PullProgress | None = None
) -> PullResult:
    """Pull a robot's incidents (and thinned context) within a byte budget or a deadline.

    Use it when a robot's logs are too big for its link: the robot decides what to send
    (see ``plan_upload``), most important first, and this side fetches it resumably. The
    budget is enforced on the real sizes too: an item whose prepared upload would overrun the
    budget is skipped (``skipped_budget``) and stays on the robot.

    Raises:
        NotFoundError: unknown robot or log (the message lists the known ones).
        InvalidRequestError: neither budget nor deadline.
        FleetUnavailableError: the fleet is down before anything was planned.
        PullInterruptedError: the transfer failed midway; partial progress is kept.
    """
    fleet.robot(request.robot_id)  # an unknown robot fails here, naming the known ones
    plan = fleet.plan_upload(request.robot_id, request.plan_request())
    out = Path(request.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = PullResult(
        robot_id=request.robot_id,
        out_dir=out,
        plan_path=out / "plan.json",
        manifest_path=out / "pull.json",
        plan=plan,
        files=[_pending(n, item) for n, item in enumerate(plan.items) if item.action == "send"],
        complete=False,
        bytes_on_disk=0,
        transferred_bytes=0,
    )
    _write_json(result.plan_path, plan)
    try:
        for entry in result.files:
            _fetch(fleet, request, plan, result, entry, progress)
            _write_json(result.manifest_path, result)
    except FleetUnavailableError as exc:
        _write_json(result.manifest_path, result)
        raise PullInterruptedError(exc, result) from exc
    except Exception:
        _write_json(result.manifest_path, result)
        raise
    result.complete = True
    _write_json(result.manifest_path, result)
    return result


def _fetch(
    fleet: FleetClient,
    request: PullRequest,
    plan: UploadPlan,
    result: PullResult,
    entry: PulledFile,
    progress: PullProgress | None,
) -> None:
    """Prepare one item on the robot and download it, unless it would overrun the budget."""
    item = plan.items[entry.item]
    upload = fleet.request_upload(request.robot_id, item.upload_request(plan.request.context))
    entry.upload_id, entry.size_bytes, entry.sha256 = (
        upload.upload_id,
        upload.size_bytes,
        upload.sha256,
    )
    if result.bytes_on_disk + upload.size_bytes > plan.budget_bytes:
        entry.status = "skipped_budget"
        return
    dest = result.out_dir / _file_name(item)
    part = dest.with_name(dest.name + ".part")
    entry.path = dest
    if dest.is_file() and hash_file(dest) == upload.sha256:
        entry.status = "already_present"
        result.bytes_on_disk += upload.size_bytes
        return
    had = part.stat().st_size if part.is_file() else 0
    on_progress = (
        None if progress is None else (lambda done, total: progress(dest.name, done, total))
    )
    fleet.download_upload(upload, dest, on_progress)
    entry.transferred_bytes = max(upload.size_bytes - had, 0)
    entry.status = "downloaded"
    result.bytes_on_disk += upload.size_bytes
    result.transferred_bytes += entry.transferred_bytes


def _pending(index: int, item: PlanItem) -> PulledFile:
    return PulledFile(
        item=index,
        role=item.role,
        fidelity=item.fidelity,
        log_name=item.log_name,
        start_ns=item.start_ns,
        end_ns=item.end_ns,
        estimated_bytes=item.estimated_bytes,
    )


def _file_name(item: PlanItem) -> str:
    """Deterministic, so that the same pull run again finds its earlier files."""
    stem = item.log_name.removesuffix(".mcap")
    return f"{stem}.{item.role}.{item.start_ns}-{item.end_ns}.{item.fidelity}.mcap"


def _write_json(path: Path, model: BaseModel) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(model.model_dump(mode="json"), indent=2, sort_keys=True))
    os.replace(tmp, path)
