"""The simulated fleet's HTTP API: the same contract a real fleet manager exposes.

Robots, incidents and logs are read from a fleet directory (:class:`FleetStore`). Log uploads
are prepared as window cuts and then sent no faster than the site's uplink, in byte ranges, so
that the rest of the system meets the bandwidth limits it would meet in a real warehouse.
Deploys and rollbacks change ``fleet.json`` under the store's lock and are idempotent.

Robots report per-shift metrics from their own counters and logs (``/fleet/metrics``). Two
things here exist only because the fleet is simulated: ``POST /sim/advance`` runs the next shift
segment (a real fleet just keeps working and reporting), and ``DIR/faults.json`` injects
deterministic faults for tests (see :mod:`robotops.sim.fleet.faults`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Annotated

import uvicorn
from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from robotops.errors import ConfigError, InvalidRequestError, LogFormatError, NotFoundError
from robotops.sim.fleet.faults import reported_versions, take_fault
from robotops.sim.fleet.models import (
    AdvanceRequest,
    AdvanceResult,
    Deployment,
    DeployRequest,
    Incident,
    LogFile,
    PolicyInfo,
    PublishPolicyRequest,
    Robot,
    RobotShiftMetrics,
    RollbackRequest,
    ShiftInfo,
    Upload,
    UploadPlan,
    UploadPlanRequest,
    UploadRequest,
)
from robotops.sim.fleet.robot_metrics import shift_metrics
from robotops.sim.fleet.state import (
    FleetRecord,
    FleetStore,
    PolicyRecord,
    RobotRecord,
    write_bytes_atomic,
    write_json_atomic,
)
from robotops.sim.logs.reduce import reduce_window
from robotops.sim.logs.upload_plan import plan_upload
from robotops.sim.logs.window import cut_window, log_span

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_MIN_CHUNK, _MAX_CHUNK = 512, 64 * 1024


class ConflictError(InvalidRequestError):
    """The request contradicts the fleet's state (offline robots, a reused deployment id)."""


def get_store(request: Request) -> FleetStore:
    """The fleet store of the app serving this request."""
    return request.app.state.store


StoreDep = Annotated[FleetStore, Depends(get_store)]
router = APIRouter()


def create_fleet_app(root: Path) -> FastAPI:
    """Build the fleet API over the fleet directory ``root``; nothing is built at import time."""
    app = FastAPI(title="robotops simulated fleet")
    app.state.store = FleetStore(Path(root))
    app.state.link = SiteLink()
    app.state.advancing = threading.Lock()
    app.include_router(router)
    app.middleware("http")(_inject_faults)
    for error, status in (
        (NotFoundError, 404),
        (ConflictError, 409),
        (InvalidRequestError, 400),
        (ConfigError, 400),
        (LogFormatError, 422),
    ):
        app.add_exception_handler(error, _handler(status))
    return app


def serve_fleet(root: Path, host: str, port: int) -> None:
    """Serve the fleet API over ``root`` until interrupted."""
    uvicorn.run(create_fleet_app(root), host=host, port=port)


def _handler(status: int) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    """Answer a robotops error with ``status`` and its message, which says what was wrong."""

    async def handle(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(status_code=status, content={"detail": str(exc)})

    return handle


# --- robots, incidents, logs -------------------------------------------------------------


async def _inject_faults(request: Request, call_next: Callable) -> Response:
    """Misbehave as ``DIR/faults.json`` says (simulator, tests only); else pass through."""
    root = request.app.state.store.root
    rule = take_fault(root, request.method, request.url.path)
    if rule is None:
        return await call_next(request)
    detail = {"detail": f"injected fault {rule.kind} on {request.method} {request.url.path}"}
    if rule.kind == "error":
        return JSONResponse(status_code=rule.status, content=detail)
    if rule.kind == "timeout":
        await asyncio.sleep(rule.delay_s)
        return JSONResponse(status_code=504, content=detail)
    response = await call_next(request)  # lost_reply: it acts, the answer comes too late
    await asyncio.sleep(rule.delay_s)
    return response


def _robot(fleet: FleetRecord, record: RobotRecord, lies: dict[str, str]) -> Robot:
    """The robot as it reports itself (``lies``, injected faults, may make it report the wrong
    version)."""
    version = lies.get(record.robot_id, record.policy_version)
    return Robot(
        robot_id=record.robot_id,
        site=fleet.site,
        zone=record.zone,
        policy_version=version,
        online=record.online,
        status=record.status if record.online else "offline",
        link_speed_bps=fleet.link_speed_bps,
    )


def _known_robot(fleet: FleetRecord, robot_id: str) -> RobotRecord:
    if robot_id not in fleet.robots:
        raise NotFoundError("robot", robot_id, sorted(fleet.robots))
    return fleet.robots[robot_id]


@router.get("/health")
def health(store: StoreDep) -> dict[str, object]:
    return {"status": "ok", "robots": len(store.load().robots)}


@router.get("/robots")
def list_robots(store: StoreDep) -> list[Robot]:
    fleet = store.load()
    lies = reported_versions(store.root)
    return [_robot(fleet, r, lies) for _, r in sorted(fleet.robots.items())]


@router.get("/robots/{robot_id}")
def get_robot(robot_id: str, store: StoreDep) -> Robot:
    fleet = store.load()
    return _robot(fleet, _known_robot(fleet, robot_id), reported_versions(store.root))


@router.get("/incidents")
def list_incidents(
    store: StoreDep, robot_id: str | None = None, since_ns: int | None = None
) -> list[Incident]:
    if robot_id is not None:
        _known_robot(store.load(), robot_id)
    return [
        i
        for i in store.incidents()
        if (robot_id is None or i.robot_id == robot_id)
        and (since_ns is None or i.time_ns >= since_ns)
    ]


@router.get("/robots/{robot_id}/logs")
def list_logs(robot_id: str, store: StoreDep) -> list[LogFile]:
    _known_robot(store.load(), robot_id)
    logs = []
    for path in sorted(store.log_dir(robot_id).glob("*.mcap")):
        span = log_span(path)
        logs.append(
            LogFile(
                robot_id=robot_id,
                log_name=path.name,
                size_bytes=path.stat().st_size,
                start_ns=span.start_ns,
                end_ns=span.end_ns,
                topics=span.topics,
            )
        )
    return logs


# --- uploads -------------------------------------------------------------------------------


def _upload_id(robot_id: str, request: UploadRequest) -> str:
    """Same robot and request, same id: asking twice for a window prepares it once."""
    topics = None if request.topics is None else sorted(set(request.topics))
    key: list[object] = [robot_id, request.log_name, request.start_ns, request.end_ns, topics]
    if request.fidelity != "full":  # full-fidelity ids stay what they always were
        key += [request.fidelity, request.context.model_dump(mode="json")]
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]


def _upload_paths(store: FleetStore, upload_id: str) -> tuple[Path, Path]:
    if not re.fullmatch(r"[0-9a-f]{24}", upload_id):
        raise NotFoundError("upload", upload_id)
    folder = store.root / "uploads"
    return folder / f"{upload_id}.mcap", folder / f"{upload_id}.json"


def _load_upload(store: FleetStore, upload_id: str) -> tuple[Upload, Path]:
    content, record = _upload_paths(store, upload_id)
    if not (record.is_file() and content.is_file()):
        raise NotFoundError("upload", upload_id)
    return Upload.model_validate_json(record.read_text()), content


@router.post("/robots/{robot_id}/uploads")
def request_upload(robot_id: str, body: UploadRequest, store: StoreDep) -> Upload:
    """Cut the asked window into an upload; repeating the request returns the same upload."""
    fleet = store.load()
    _known_robot(fleet, robot_id)
    source = store.log_path(robot_id, body.log_name)
    upload_id = _upload_id(robot_id, body)
    content, record = _upload_paths(store, upload_id)
    if record.is_file() and content.is_file():
        return Upload.model_validate_json(record.read_text())
    if body.fidelity == "context":
        result = reduce_window(
            source, content, body.start_ns, body.end_ns, body.topics, body.context
        )
    else:
        result = cut_window(source, content, body.start_ns, body.end_ns, body.topics)
    upload = Upload(
        upload_id=upload_id,
        robot_id=robot_id,
        log_name=body.log_name,
        start_ns=body.start_ns,
        end_ns=body.end_ns,
        topics=body.topics,
        size_bytes=result.size_bytes,
        sha256=result.sha256,
        link_speed_bps=fleet.link_speed_bps,
        fidelity=body.fidelity,
    )
    write_json_atomic(record, upload.model_dump(mode="json"))
    return upload


@router.post("/robots/{robot_id}/upload-plan")
def request_upload_plan(robot_id: str, body: UploadPlanRequest, store: StoreDep) -> UploadPlan:
    """Plan, on the robot's side of the link, what to send within a budget or a deadline.

    The planner reads only the logs' indexes and event channels; nothing is cut or sent. Each
    item of the plan is then fetched with ``POST /robots/{id}/uploads``.
    """
    fleet = store.load()
    _known_robot(fleet, robot_id)
    if body.log_name is not None:
        logs = [store.log_path(robot_id, body.log_name)]
    else:
        logs = sorted(store.log_dir(robot_id).glob("*.mcap"))
        if not logs:
            raise NotFoundError(f"log on robot {robot_id}", "any log (the robot has none)")
    return plan_upload(logs, body, fleet.link_speed_bps, robot_id)


@router.get("/uploads/{upload_id}")
def get_upload(upload_id: str, store: StoreDep) -> Upload:
    return _load_upload(store, upload_id)[0]


@router.get("/uploads/{upload_id}/content", response_model=None)
def upload_content(
    request: Request,
    upload_id: str,
    store: StoreDep,
    range_header: Annotated[str | None, Header(alias="Range")] = None,
) -> Response:
    """Send the upload's bytes at the site's link speed; ``Range: bytes=N-`` resumes."""
    _, content = _load_upload(store, upload_id)
    size = content.stat().st_size
    headers = {"Accept-Ranges": "bytes"}
    first, last = 0, size - 1
    if range_header is not None:
        parsed = _parse_range(range_header, size)
        if parsed is None:
            headers["Content-Range"] = f"bytes */{size}"
            return JSONResponse(
                status_code=416,
                headers=headers,
                content={"detail": f"range {range_header!r} not satisfiable for {size} bytes"},
            )
        first, last = parsed
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    headers["Content-Length"] = str(last - first + 1)
    rate = store.load().link_speed_bps
    return StreamingResponse(
        _throttled(request.app.state.link, content, first, last + 1, rate),
        status_code=206 if range_header is not None else 200,
        media_type="application/octet-stream",
        headers=headers,
    )


def _parse_range(value: str, size: int) -> tuple[int, int] | None:
    """Parse a single ``bytes=`` range into inclusive offsets; None when unsatisfiable."""
    match = _RANGE.match(value.strip())
    if match is None or match.groups() == ("", ""):
        return None
    start, end = match.groups()
    if start == "":  # suffix range: the last N bytes
        first, last = max(size - int(end), 0), size - 1
    else:
        first = int(start)
        last = min(int(end), size - 1) if end else size - 1
    if first >= size or first > last:
        return None
    return first, last


class SiteLink:
    """The site's uplink, shared by every transfer: together they never outrun its speed.

    Each chunk books the next free slot of the link (``bytes / rate`` seconds long) and is sent
    when its slot ends, so over any busy period ``bytes sent / elapsed <= rate``; two robots
    uploading at once share the link instead of each getting all of it. Idle time earns no
    credit, so nothing bursts after a pause. One instance per app, used from its event loop.
    """

    def __init__(self) -> None:
        self._free_at = 0.0

    async def wait_to_send(self, nbytes: int, rate_bps: int) -> None:
        now = time.monotonic()
        self._free_at = max(self._free_at, now) + nbytes / max(rate_bps, 1)
        await asyncio.sleep(self._free_at - now)


async def _throttled(
    link: SiteLink, path: Path, start: int, stop: int, rate_bps: int
) -> AsyncIterator[bytes]:
    """Yield ``path[start:stop]`` in small chunks (about 20 a second) paced by ``link``."""
    chunk = min(max(rate_bps // 20, _MIN_CHUNK), _MAX_CHUNK)
    left = stop - start
    # Small local reads from a file the service wrote itself: cheap enough for the event loop.
    with open(path, "rb") as stream:
        stream.seek(start)
        while left > 0:
            data = stream.read(min(chunk, left))
            if not data:
                break
            await link.wait_to_send(len(data), rate_bps)
            left -= len(data)
            yield data


# --- policies, deploy, rollback ----------------------------------------------------------


@router.get("/policies")
def list_policies(store: StoreDep) -> list[PolicyInfo]:
    return sorted(store.policy_infos(), key=lambda p: p.version)


@router.post("/policies")
def publish_policy(body: PublishPolicyRequest, store: StoreDep) -> PolicyInfo:
    """Store a policy artifact so robots can be deployed to it later (touches no robot)."""
    try:
        data = base64.b64decode(body.weights_b64, validate=True)
    except binascii.Error as exc:
        msg = f"policy {body.version}: weights_b64 is not base64: {exc}"
        raise InvalidRequestError(msg) from exc
    if hashlib.sha256(data).hexdigest() != body.sha256:
        raise InvalidRequestError(f"policy {body.version}: weights do not match sha256")
    if body.card.get("version") != body.version:
        raise InvalidRequestError(f"policy {body.version}: its card names another version")
    with store.update() as record:
        known = record.policies.get(body.version)
        if known is not None and known.sha256 != body.sha256:
            raise ConflictError(
                f"policy {body.version} already exists with sha256 {known.sha256[:12]}; "
                "publish changed weights under a new version"
            )
        dest = store.root / "policies" / f"{body.version}.pt"
        dest.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(dest, data)
        write_json_atomic(dest.with_suffix(".json"), body.card)
        record.policies[body.version] = PolicyRecord(
            version=body.version, sha256=body.sha256, path=str(dest.resolve())
        )
    return PolicyInfo(version=body.version, sha256=body.sha256)


@router.post("/deploy")
def deploy(body: DeployRequest, store: StoreDep) -> Deployment:
    """Put a policy version on robots; the same ``deployment_id`` again changes nothing."""
    robot_ids = list(dict.fromkeys(body.robot_ids))
    with store.update() as fleet:
        existing = fleet.deployments.get(body.deployment_id)
        if existing is not None:
            same = existing.policy_version == body.policy_version and sorted(
                existing.robot_ids
            ) == sorted(robot_ids)
            if not same:
                raise ConflictError(
                    f"deployment {body.deployment_id!r} already exists with policy "
                    f"{existing.policy_version} on {', '.join(existing.robot_ids)}; "
                    "use a new deployment_id for a different deploy"
                )
            return existing
        if body.policy_version not in fleet.policies:
            raise NotFoundError("policy version", body.policy_version, sorted(fleet.policies))
        _check_robots(fleet, robot_ids, "deploy")
        deployment = Deployment(
            deployment_id=body.deployment_id,
            policy_version=body.policy_version,
            robot_ids=robot_ids,
            previous_versions={r: fleet.robots[r].policy_version for r in robot_ids},
        )
        for robot_id in robot_ids:
            fleet.robots[robot_id].policy_version = body.policy_version
        fleet.deployments[body.deployment_id] = deployment
        return deployment


@router.post("/rollback")
def rollback(body: RollbackRequest, store: StoreDep) -> Deployment:
    """Return robots to the versions they ran before a deployment; repeating it is harmless.

    A robot that has since moved on to another deployment's version is refused (409): rolling
    back the older deployment would silently undo the newer one.
    """
    with store.update() as fleet:
        if body.deployment_id not in fleet.deployments:
            raise NotFoundError("deployment", body.deployment_id, sorted(fleet.deployments))
        deployment = fleet.deployments[body.deployment_id]
        robot_ids = deployment.robot_ids if body.robot_ids is None else body.robot_ids
        strangers = [r for r in robot_ids if r not in deployment.previous_versions]
        if strangers:
            raise InvalidRequestError(
                f"robots {', '.join(strangers)} are not part of deployment "
                f"{body.deployment_id!r} (robots: {', '.join(deployment.robot_ids)})"
            )
        _check_robots(fleet, robot_ids, "roll back")
        moved = [
            f"{r} (now on {fleet.robots[r].policy_version})"
            for r in robot_ids
            if fleet.robots[r].policy_version
            not in (deployment.policy_version, deployment.previous_versions[r])
        ]
        if moved:
            raise ConflictError(
                f"cannot roll back deployment {body.deployment_id!r}: robots moved on to "
                f"other versions since: {', '.join(moved)}; roll back the newer deployment first"
            )
        for robot_id in robot_ids:
            fleet.robots[robot_id].policy_version = deployment.previous_versions[robot_id]
        if set(robot_ids) == set(deployment.robot_ids):
            deployment.status = "rolled_back"
        return Deployment(
            deployment_id=deployment.deployment_id,
            policy_version=deployment.policy_version,
            robot_ids=list(robot_ids),
            previous_versions={r: deployment.previous_versions[r] for r in robot_ids},
            status="rolled_back",
        )


def _check_robots(fleet: FleetRecord, robot_ids: list[str], action: str) -> None:
    """Refuse unknown (404) and offline (409) robots, naming every one of them."""
    if not robot_ids:
        raise InvalidRequestError(f"no robots to {action}: robot_ids is empty")
    unknown = [r for r in robot_ids if r not in fleet.robots]
    if unknown:
        kind = "robot" if len(unknown) == 1 else "robots"
        raise NotFoundError(kind, ", ".join(unknown), sorted(fleet.robots))
    offline = [r for r in robot_ids if not fleet.robots[r].online]
    if offline:
        raise ConflictError(
            f"cannot {action}: robots offline: {', '.join(offline)}; "
            "wait for them to come online or leave them out"
        )


# --- shifts and what robots report about them ----------------------------------------------


@router.get("/shifts")
def list_shifts(store: StoreDep) -> list[ShiftInfo]:
    return [
        ShiftInfo(shift_id=s.shift_id, start_ns=s.start_ns, duration_s=s.duration_s)
        for s in store.load().shifts
    ]


def _metrics_since(
    store: FleetStore, since_shift: str | None, robot_id: str | None
) -> list[RobotShiftMetrics]:
    fleet = store.load()
    ids = [s.shift_id for s in fleet.shifts]
    if since_shift is not None and since_shift not in ids:
        raise NotFoundError("shift", since_shift, ids)
    start = ids.index(since_shift) + 1 if since_shift is not None else 0
    rows = [m for s in fleet.shifts[start:] for m in shift_metrics(store, s)]
    return [m for m in rows if robot_id is None or m.robot_id == robot_id]


@router.get("/fleet/metrics")
def fleet_metrics(
    store: StoreDep, since_shift: str | None = None, robot_id: str | None = None
) -> list[RobotShiftMetrics]:
    """Per-robot, per-shift reports of the shifts after ``since_shift`` (all when omitted)."""
    if robot_id is not None:
        _known_robot(store.load(), robot_id)
    return _metrics_since(store, since_shift, robot_id)


@router.get("/robots/{robot_id}/metrics")
def robot_metrics(
    robot_id: str, store: StoreDep, since_shift: str | None = None
) -> list[RobotShiftMetrics]:
    _known_robot(store.load(), robot_id)
    return _metrics_since(store, since_shift, robot_id)


@router.post("/sim/advance")
def advance(body: AdvanceRequest, request: Request, store: StoreDep) -> AdvanceResult:
    """SIMULATOR ONLY: run the next shift segment with every robot on its current version.

    Returns when the segment is done. The same ``advance_id`` again returns the segment it
    already ran; segments run one at a time.
    """
    from robotops.sim.fleet.shift import ShiftConfig, robot_ids, run_shift

    with request.app.state.advancing:
        fleet = store.load()
        done = fleet.advances.get(body.advance_id)
        if done is None:
            expected = robot_ids(len(fleet.robots))
            if sorted(fleet.robots) != expected:
                raise InvalidRequestError(
                    f"only a fleet made by the simulator can be advanced (robots "
                    f"{', '.join(expected)}); this one has {', '.join(sorted(fleet.robots))}"
                )
            config = ShiftConfig(
                robots=len(fleet.robots),
                minutes=body.minutes,
                seed=body.seed,
                site=fleet.site,
                workers=body.workers,
                **({} if body.hazards is None else {"hazards": body.hazards}),
            )
            done = run_shift(store.root, config).shift_id
            with store.update() as record:
                record.advances[body.advance_id] = done
        shift = next(s for s in store.load().shifts if s.shift_id == done)
        rows = shift_metrics(store, shift)
    return AdvanceResult(
        advance_id=body.advance_id,
        shift_id=shift.shift_id,
        duration_s=shift.duration_s,
        versions={m.robot_id: m.policy_version for m in rows},
    )
