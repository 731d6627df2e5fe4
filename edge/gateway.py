"""``robotops fleet gateway``: the site side of the edge protocol.

Robots connect outward to their site's gateway (NAT-friendly: the orchestrator never reaches a
robot directly). A robot registers and sends heartbeats (version, slot, status, disk, link), and
pushes uploads in chunks at explicit offsets. The gateway is the source of truth for how much
of an upload it holds, so a robot that lost its link, or was killed, asks and sends only the
rest: nothing before the interrupted chunk crosses the link twice.

Every route but ``/health`` needs the site's bearer token.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import time
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from pydantic import BaseModel, Field

UPLOAD_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
MAX_CHUNK = 8 << 20


class Heartbeat(BaseModel):
    """What a robot says about itself every few seconds."""

    robot_id: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")
    version: str | None = Field(None, max_length=200)
    slot: str | None = Field(None, max_length=8)
    status: str = Field("idle", max_length=32)
    disk_free_bytes: int = Field(0, ge=0)
    link_bps: int = Field(0, ge=0)


class RobotSeen(Heartbeat):
    last_seen: float


class UploadState(BaseModel):
    """How much of an upload the gateway holds."""

    upload_id: str
    received_bytes: int
    complete: bool = False
    sha256: str | None = None


class CompleteRequest(BaseModel):
    size_bytes: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    robot_id: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")
    kind: str = Field("log", max_length=32)


def _check_id(upload_id: str) -> str:
    if not UPLOAD_ID.match(upload_id):
        raise HTTPException(400, f"upload id must match {UPLOAD_ID.pattern}")
    return upload_id


def create_gateway_app(root: Path, token: str) -> FastAPI:
    """The gateway's HTTP app, storing under ``root``."""
    root = Path(root)
    (root / "partial").mkdir(parents=True, exist_ok=True)
    (root / "received").mkdir(parents=True, exist_ok=True)
    robots_file = root / "robots.json"
    app = FastAPI(title="robotops site gateway")
    app.state.bytes_received = 0  # every byte that crossed the link, resends included

    def auth(authorization: Annotated[str | None, Header()] = None) -> None:
        sent = (authorization or "").removeprefix("Bearer ").strip()
        if not sent or not secrets.compare_digest(sent, token):
            raise HTTPException(401, "the gateway needs the site's bearer token")

    authed = [Depends(auth)]

    def robots() -> dict[str, dict]:
        return json.loads(robots_file.read_text()) if robots_file.exists() else {}

    @app.get("/health")
    def health() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/edge/stats", dependencies=authed)
    def stats() -> dict[str, int]:
        """Bytes that crossed the link into this gateway since it started (resends included)."""
        return {"bytes_received": app.state.bytes_received}

    @app.post("/edge/heartbeat", dependencies=authed)
    def heartbeat(beat: Heartbeat) -> RobotSeen:
        seen = RobotSeen(**beat.model_dump(), last_seen=time.time())
        every = robots() | {beat.robot_id: seen.model_dump()}
        tmp = robots_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(every, sort_keys=True))
        os.replace(tmp, robots_file)
        return seen

    @app.get("/edge/robots", dependencies=authed)
    def list_robots() -> list[RobotSeen]:
        return [RobotSeen(**r) for r in robots().values()]

    def state(upload_id: str) -> UploadState:
        done = root / "received" / f"{upload_id}.json"
        if done.exists():
            return UploadState.model_validate_json(done.read_text())
        part = root / "partial" / upload_id
        return UploadState(
            upload_id=upload_id, received_bytes=part.stat().st_size if part.exists() else 0
        )

    @app.get("/edge/uploads/{upload_id}", dependencies=authed)
    def get_upload(upload_id: str) -> UploadState:
        return state(_check_id(upload_id))

    @app.put("/edge/uploads/{upload_id}", dependencies=authed)
    async def put_chunk(upload_id: str, offset: int, request: Request) -> UploadState:
        """Append the body at ``offset``; any other offset is refused with what is held."""
        current = state(_check_id(upload_id))
        if current.complete:
            raise HTTPException(409, f"upload {upload_id} is complete")
        if offset != current.received_bytes:
            raise HTTPException(
                409, f"upload {upload_id} holds {current.received_bytes} bytes, not {offset}"
            )
        body = await request.body()
        if len(body) > MAX_CHUNK:
            raise HTTPException(413, f"a chunk is at most {MAX_CHUNK} bytes")
        app.state.bytes_received += len(body)
        with open(root / "partial" / upload_id, "ab") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        return UploadState(upload_id=upload_id, received_bytes=offset + len(body))

    @app.post("/edge/uploads/{upload_id}/complete", dependencies=authed)
    def complete(upload_id: str, body: CompleteRequest) -> UploadState:
        """Check size and sha256, then keep the file; a mismatch discards it to be sent again."""
        part = root / "partial" / _check_id(upload_id)
        current = state(upload_id)
        if current.complete:
            return current
        size = part.stat().st_size if part.exists() else 0
        digest = _sha256(part) if part.exists() else ""
        if size != body.size_bytes or digest != body.sha256:
            part.unlink(missing_ok=True)
            raise HTTPException(
                422,
                f"upload {upload_id}: got {size} bytes sha256 {digest[:12]}, expected "
                f"{body.size_bytes} bytes {body.sha256[:12]}; discarded, send it again",
            )
        folder = root / "received" / body.robot_id
        folder.mkdir(exist_ok=True)
        os.replace(part, folder / upload_id)
        done = UploadState(upload_id=upload_id, received_bytes=size, complete=True, sha256=digest)
        (root / "received" / f"{upload_id}.json").write_text(done.model_dump_json())
        return done

    return app


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
