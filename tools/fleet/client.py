"""The one way robotops talks to a fleet: a typed, retrying HTTP client of the fleet API.

Transient failures (timeouts, dropped connections, 5xx) are retried with exponential backoff;
after the last try they surface as :class:`FleetUnavailableError`. Client errors (4xx) are never
retried: they become :class:`NotFoundError` or :class:`InvalidRequestError` carrying the fleet's
own explanation. Every command the client sends is idempotent on the server (upload ids are
content hashes, deploys carry a deployment id), which is what makes retrying them safe.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from robotops.errors import (
    FleetUnavailableError,
    InvalidRequestError,
    LogFormatError,
    NotFoundError,
    RobotOpsError,
)
from robotops.memory.blobs import hash_file
from robotops.settings import Settings
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

M = TypeVar("M")
R = TypeVar("R")
Progress = Callable[[int, int], None]
"""Called as ``progress(bytes_done, bytes_total)`` while a download advances."""

_TRANSIENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


class FleetNotFoundError(NotFoundError):
    """The fleet answered 404; the message is the fleet's own (what is unknown, what is known)."""

    def __init__(self, detail: str, url: str) -> None:
        self.kind, self.name, self.known, self.url = "fleet resource", url, [], url
        RobotOpsError.__init__(self, detail)


class _ServerError(Exception):
    """A 5xx answer: worth retrying, unlike a 4xx."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}: {_detail(response)}")


class FleetClient:
    """Typed client of the fleet API (the simulated fleet or a real fleet manager's adapter).

    Args:
        base_url: where the fleet API is served, e.g. ``http://127.0.0.1:8765``.
        timeout_s: per-request timeout (connect, and each read of a streamed download).
        retries: how many times a transient failure is retried after the first attempt.
        transport: an httpx transport to use instead of the network (for in-process servers).
    """

    def __init__(
        self,
        base_url: str,
        timeout_s: float = 10,
        retries: int = 3,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retries = max(int(retries), 0)
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout_s, transport=transport)

    @classmethod
    def from_settings(cls, settings: Settings) -> FleetClient:
        """The client for the fleet the settings name."""
        fleet = settings.fleet
        return cls(fleet.url, timeout_s=fleet.timeout_s, retries=fleet.retries)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> FleetClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the fleet API ----------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return self._get("/health", TypeAdapter(dict[str, Any]))

    def robots(self) -> list[Robot]:
        return self._get("/robots", TypeAdapter(list[Robot]))

    def robot(self, robot_id: str) -> Robot:
        return self._get(f"/robots/{_seg(robot_id)}", TypeAdapter(Robot))

    def incidents(self, robot_id: str | None = None, since_ns: int | None = None) -> list[Incident]:
        params = {
            k: v for k, v in (("robot_id", robot_id), ("since_ns", since_ns)) if v is not None
        }
        return self._get("/incidents", TypeAdapter(list[Incident]), params=params)

    def logs(self, robot_id: str) -> list[LogFile]:
        return self._get(f"/robots/{_seg(robot_id)}/logs", TypeAdapter(list[LogFile]))

    def request_upload(self, robot_id: str, request: UploadRequest) -> Upload:
        """Ask a robot to prepare a window of a log; asking twice returns the same upload."""
        return self._post(f"/robots/{_seg(robot_id)}/uploads", request, Upload)

    def plan_upload(self, robot_id: str, request: UploadPlanRequest) -> UploadPlan:
        """Ask a robot what it would send within a budget or deadline; nothing is sent yet."""
        return self._post(f"/robots/{_seg(robot_id)}/upload-plan", request, UploadPlan)

    def upload(self, upload_id: str) -> Upload:
        return self._get(f"/uploads/{_seg(upload_id)}", TypeAdapter(Upload))

    def policies(self) -> list[PolicyInfo]:
        return self._get("/policies", TypeAdapter(list[PolicyInfo]))

    def publish_policy(self, weights: Path) -> PolicyInfo:
        """Hand a policy artifact (weights + card) to the fleet. Runs on no robot until deployed,
        so it needs no approval; the fleet checks the hash and refuses a changed version."""
        data = Path(weights).read_bytes()
        card = json.loads(Path(weights).with_suffix(".json").read_text())  # the policy card
        body = PublishPolicyRequest(
            version=card["version"],
            sha256=hashlib.sha256(data).hexdigest(),
            weights_b64=base64.b64encode(data).decode(),
            card=card,
        )
        return self._post("/policies", body, PolicyInfo)

    def deploy(self, request: DeployRequest) -> Deployment:
        """Put a policy on robots. Touches physical robots: callers must hold an approval."""
        return self._post("/deploy", request, Deployment)

    def rollback(self, request: RollbackRequest) -> Deployment:
        return self._post("/rollback", request, Deployment)

    def shifts(self) -> list[ShiftInfo]:
        """The shifts the fleet has run, oldest first."""
        return self._get("/shifts", TypeAdapter(list[ShiftInfo]))

    def metrics(
        self, since_shift: str | None = None, robot_id: str | None = None
    ) -> list[RobotShiftMetrics]:
        """What robots reported per shift, for the shifts after ``since_shift`` (all if None)."""
        params = {
            k: v for k, v in (("since_shift", since_shift), ("robot_id", robot_id)) if v is not None
        }
        return self._get("/fleet/metrics", TypeAdapter(list[RobotShiftMetrics]), params=params)

    def advance(self, request: AdvanceRequest, timeout_s: float = 3600.0) -> AdvanceResult:
        """SIMULATED FLEET ONLY: run the next shift segment and wait until it is done.

        A real fleet has no such command (time passes and robots report); against one this
        fails with a 404. The request carries an ``advance_id``, so a retry after a timeout
        never runs a second segment. ``timeout_s`` bounds the wait for the simulation.
        """
        return self._post("/sim/advance", request, AdvanceResult, timeout_s=timeout_s)

    def download_upload(self, upload: Upload, dest: Path, progress: Progress | None = None) -> Path:
        """Fetch an upload's bytes to ``dest``, resuming a previous partial download.

        Bytes go to ``dest + '.part'``; a dropped transfer (or a new call after a crash) asks
        only for the rest with ``Range: bytes=N-``. The file is checked against the upload's
        sha256 before it is renamed to ``dest``, so ``dest`` only ever holds a verified copy.

        Raises:
            LogFormatError: the bytes do not match the sha256 (the partial file is deleted).
            FleetUnavailableError: the transfer kept failing after the retries.
        """
        dest = Path(dest)
        if dest.is_file() and hash_file(dest) == upload.sha256:
            return dest
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(dest.name + ".part")
        url = f"/uploads/{_seg(upload.upload_id)}/content"
        self._retrying(url, lambda: self._fetch_rest(url, part, upload.size_bytes, progress))
        actual = hash_file(part)
        if actual != upload.sha256:
            part.unlink()
            raise LogFormatError(
                str(dest),
                f"download of upload {upload.upload_id} has sha256 {actual}, expected "
                f"{upload.sha256}; the partial file was deleted, download again",
            )
        os.replace(part, dest)
        return dest

    # --- plumbing ---------------------------------------------------------------------------

    def _get(self, path: str, adapter: TypeAdapter[M], params: dict | None = None) -> M:
        response = self._retrying(path, lambda: self._send("GET", path, params=params))
        return adapter.validate_json(response.content)

    def _post(
        self, path: str, body: BaseModel, model: type[M], timeout_s: float | None = None
    ) -> M:
        payload = body.model_dump(mode="json")
        extra: dict[str, Any] = {} if timeout_s is None else {"timeout": timeout_s}
        response = self._retrying(path, lambda: self._send("POST", path, json=payload, **extra))
        return TypeAdapter(model).validate_json(response.content)

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self._http.request(method, path, **kwargs)
        _raise_for_status(response)
        return response

    def _retrying(self, path: str, call: Callable[[], R]) -> R:
        """Run ``call``, retrying transient failures; give up with FleetUnavailableError."""
        retrying = Retrying(
            stop=stop_after_attempt(self.retries + 1),
            wait=wait_exponential(multiplier=0.1, max=5),
            retry=retry_if_exception_type((*_TRANSIENT, _ServerError)),
            reraise=True,
        )
        try:
            return retrying(call)
        except (*_TRANSIENT, _ServerError) as exc:
            raise FleetUnavailableError(
                f"fleet API at {self.base_url}{path} unavailable after {self.retries + 1} "
                f"attempt(s); last error: {type(exc).__name__}: {exc}"
            ) from exc

    def _fetch_rest(self, url: str, part: Path, size: int, progress: Progress | None) -> None:
        """Append to ``part`` whatever it still lacks; one attempt, called again on failure."""
        have = part.stat().st_size if part.exists() else 0
        if have > size:  # not a prefix of this upload: start over
            part.unlink()
            have = 0
        if have == size:
            return
        headers = {"Range": f"bytes={have}-"} if have else {}
        with self._http.stream("GET", url, headers=headers) as response:
            if response.status_code >= 400:
                response.read()
                _raise_for_status(response)
            resumed = response.status_code == 206 and response.headers.get(
                "content-range", ""
            ).startswith(f"bytes {have}-")
            done = have if resumed else 0
            with open(part, "ab" if resumed else "wb") as out:
                for block in response.iter_bytes():
                    out.write(block)
                    done += len(block)
                    if progress is not None:
                        progress(done, size)
                out.flush()
                os.fsync(out.fileno())
        if done != size:
            raise httpx.RemoteProtocolError(f"transfer ended at byte {done} of {size}")


def _seg(value: str) -> str:
    """Quote one path segment so ids with odd characters cannot change the route."""
    return quote(value, safe="")


def _detail(response: httpx.Response) -> str:
    """The fleet's explanation of an error: ``detail`` of the JSON body, else the text."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return response.text[:500] or response.reason_phrase
    if isinstance(detail, list):  # request validation errors: say which field and why
        return "; ".join(
            f"{'.'.join(str(p) for p in item.get('loc', []))}: {item.get('msg', '')}"
            for item in detail
            if isinstance(item, dict)
        )
    return str(detail) if detail is not None else response.text[:500]


def _raise_for_status(response: httpx.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    if status >= 500:
        raise _ServerError(response)
    detail = _detail(response)
    if status == 404:
        raise FleetNotFoundError(detail, str(response.request.url))
    raise InvalidRequestError(f"fleet refused {response.request.url.path} ({status}): {detail}")
