"""The simulated fleet's HTTP API through the real client, over a real uvicorn server."""

from __future__ import annotations

import hashlib
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from mcap.reader import make_reader

from robotops.errors import (
    FleetUnavailableError,
    InvalidRequestError,
    LogFormatError,
    NotFoundError,
)
from robotops.sim.fleet.models import DeployRequest, RollbackRequest, UploadRequest
from robotops.tools.fleet.client import FleetClient


def _whole_log(client: FleetClient) -> UploadRequest:
    (log,) = client.logs("r1")
    return UploadRequest(log_name=log.log_name, start_ns=log.start_ns, end_ns=log.end_ns)


def test_lists_robots_with_site_status_and_link_speed(client: FleetClient) -> None:
    robots = {r.robot_id: r for r in client.robots()}
    assert sorted(robots) == ["r1", "r2", "r3"]
    assert {r.site for r in robots.values()} == {"test-site"}
    assert {r.link_speed_bps for r in robots.values()} == {50_000}
    assert (robots["r1"].status, robots["r3"].status, robots["r3"].online) == (
        "working",
        "offline",
        False,
    )
    assert client.robot("r2").zone == "B"


def test_unknown_robot_is_named_with_the_known_ones(client: FleetClient) -> None:
    with pytest.raises(NotFoundError, match=r"unknown robot 'r9'; known: r1, r2, r3"):
        client.robot("r9")
    with pytest.raises(NotFoundError, match="r9"):
        client.logs("r9")


def test_incidents_filter_by_robot_and_time(client: FleetClient) -> None:
    assert [i.incident_id for i in client.incidents()] == ["i0", "i1", "i2"]
    assert [i.incident_id for i in client.incidents(robot_id="r1")] == ["i0", "i2"]
    since = client.incidents()[1].time_ns
    assert [i.incident_id for i in client.incidents(since_ns=since)] == ["i1", "i2"]


def test_logs_are_described_from_their_summary(client: FleetClient, fleet_dir: Path) -> None:
    (log,) = client.logs("r1")
    assert log.log_name == "shift-1.mcap"
    assert log.topics == ["/camera/meta", "/odom"]
    assert log.end_ns - log.start_ns == 1_990_000_000
    assert log.size_bytes == (fleet_dir / "robots/r1/logs/shift-1.mcap").stat().st_size
    assert client.logs("r2") == []


def test_bad_upload_requests_say_what_is_wrong(client: FleetClient) -> None:
    whole = _whole_log(client)
    backwards = whole.model_copy(update={"end_ns": whole.start_ns})
    with pytest.raises(InvalidRequestError, match="empty time window.*end_ns"):
        client.request_upload("r1", backwards)
    with pytest.raises(NotFoundError, match="unknown log on robot r1 'nope.mcap'.*shift-1.mcap"):
        client.request_upload("r1", whole.model_copy(update={"log_name": "nope.mcap"}))


def test_malformed_bodies_stay_schema_validation_errors(fleet_url: str) -> None:
    answer = httpx.post(f"{fleet_url}/robots/r1/uploads", json={"log_name": "shift-1.mcap"})
    assert answer.status_code == 422
    assert {e["loc"][-1] for e in answer.json()["detail"]} == {"start_ns", "end_ns"}


def test_upload_is_idempotent_and_download_is_throttled(client, tmp_path: Path) -> None:
    request = _whole_log(client)
    upload = client.request_upload("r1", request)
    assert client.request_upload("r1", request) == upload
    assert client.upload(upload.upload_id) == upload
    assert upload.size_bytes > 50_000 and upload.link_speed_bps == 50_000

    seen: list[int] = []
    began = time.monotonic()
    path = client.download_upload(upload, tmp_path / "w.mcap", lambda done, _: seen.append(done))
    elapsed = time.monotonic() - began

    assert elapsed >= max(1.0, 0.95 * upload.size_bytes / upload.link_speed_bps)
    assert seen[-1] == upload.size_bytes and len(seen) > 10
    assert hashlib.sha256(path.read_bytes()).hexdigest() == upload.sha256
    assert not (tmp_path / "w.mcap.part").exists()
    with open(path, "rb") as stream:
        assert sum(1 for _ in make_reader(stream).iter_messages()) == 400


def test_concurrent_downloads_share_the_site_link(client, fleet_url: str, tmp_path: Path) -> None:
    whole = _whole_log(client)
    middle = (whole.start_ns + whole.end_ns) // 2
    halves = [
        client.request_upload("r1", whole.model_copy(update={"end_ns": middle})),
        client.request_upload("r1", whole.model_copy(update={"start_ns": middle + 1})),
    ]

    def fetch(n: int) -> Path:
        with FleetClient(fleet_url, timeout_s=5, retries=1) as own:
            return own.download_upload(halves[n], tmp_path / f"half-{n}.mcap")

    began = time.monotonic()
    with ThreadPoolExecutor(2) as pool:
        paths = list(pool.map(fetch, [0, 1]))
    elapsed = time.monotonic() - began

    assert elapsed >= 0.95 * sum(h.size_bytes for h in halves) / 50_000
    assert [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths] == [h.sha256 for h in halves]


def test_download_resumes_from_a_partial_file(client, fleet_dir: Path, tmp_path: Path) -> None:
    upload = client.request_upload("r1", _whole_log(client))
    content = (fleet_dir / "uploads" / f"{upload.upload_id}.mcap").read_bytes()
    have = upload.size_bytes - 5_000
    (tmp_path / "w.mcap.part").write_bytes(content[:have])

    seen: list[int] = []
    path = client.download_upload(upload, tmp_path / "w.mcap", lambda done, _: seen.append(done))

    # progress starts after the partial file: only the missing bytes crossed the link
    assert min(seen) > have and seen[-1] == upload.size_bytes
    assert path.read_bytes() == content


class _Crash(Exception):
    """Stands in for a process killed in the middle of a download."""


def test_interrupted_download_resumes_where_it_stopped(client, tmp_path: Path) -> None:
    upload = client.request_upload("r1", _whole_log(client))
    dest = tmp_path / "w.mcap"

    def crash_halfway(done: int, total: int) -> None:
        if done > total // 2:
            raise _Crash

    with pytest.raises(_Crash):
        client.download_upload(upload, dest, crash_halfway)
    kept = (tmp_path / "w.mcap.part").stat().st_size
    assert upload.size_bytes // 2 < kept < upload.size_bytes and not dest.exists()

    seen: list[int] = []
    client.download_upload(upload, dest, lambda done, _: seen.append(done))
    assert min(seen) > kept
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == upload.sha256


def test_corrupt_partial_file_fails_the_checksum(client, tmp_path: Path) -> None:
    upload = client.request_upload("r1", _whole_log(client))
    part = tmp_path / "w.mcap.part"
    part.write_bytes(b"\0" * (upload.size_bytes - 2_000))
    with pytest.raises(LogFormatError, match="sha256"):
        client.download_upload(upload, tmp_path / "w.mcap")
    assert not part.exists() and not (tmp_path / "w.mcap").exists()


def test_range_requests_are_answered_with_partial_content(client, fleet_url: str) -> None:
    upload = client.request_upload("r1", _whole_log(client))
    url = f"{fleet_url}/uploads/{upload.upload_id}/content"
    tail = httpx.get(url, headers={"Range": f"bytes={upload.size_bytes - 100}-"})
    assert tail.status_code == 206 and len(tail.content) == 100
    assert tail.headers["content-range"].endswith(f"/{upload.size_bytes}")
    beyond = httpx.get(url, headers={"Range": f"bytes={upload.size_bytes}-"})
    assert beyond.status_code == 416


def test_policies_and_unknown_policy_version(client: FleetClient) -> None:
    assert [p.version for p in client.policies()] == ["v1", "v2"]
    request = DeployRequest(policy_version="v9", robot_ids=["r1"], deployment_id="d-x")
    with pytest.raises(NotFoundError, match=r"unknown policy version 'v9'; known: v1, v2"):
        client.deploy(request)
    assert client.robot("r1").policy_version == "v1"


def test_deploy_is_idempotent_and_rolls_back(client: FleetClient) -> None:
    request = DeployRequest(policy_version="v2", robot_ids=["r1", "r2"], deployment_id="d1")
    first = client.deploy(request)
    assert first.previous_versions == {"r1": "v1", "r2": "v1"}
    assert client.deploy(request) == first
    assert {r.robot_id: r.policy_version for r in client.robots()} == {
        "r1": "v2",
        "r2": "v2",
        "r3": "v1",
    }
    with pytest.raises(InvalidRequestError, match="deployment 'd1' already exists"):
        client.deploy(request.model_copy(update={"robot_ids": ["r1"]}))

    rolled = client.rollback(RollbackRequest(deployment_id="d1"))
    assert rolled.status == "rolled_back" and rolled.previous_versions == first.previous_versions
    assert client.rollback(RollbackRequest(deployment_id="d1")) == rolled
    assert {r.policy_version for r in client.robots()} == {"v1"}
    with pytest.raises(NotFoundError, match="unknown deployment 'nope'"):
        client.rollback(RollbackRequest(deployment_id="nope"))


def test_deploy_refuses_offline_and_unknown_robots(client: FleetClient) -> None:
    offline = DeployRequest(policy_version="v2", robot_ids=["r1", "r3"], deployment_id="d2")
    with pytest.raises(InvalidRequestError, match="(409).*offline: r3"):
        client.deploy(offline)
    unknown = offline.model_copy(update={"robot_ids": ["r1", "r7", "r8"]})
    with pytest.raises(NotFoundError, match="unknown robots 'r7, r8'"):
        client.deploy(unknown)
    assert client.robot("r1").policy_version == "v1"  # nothing half-done


def test_fleet_that_is_down_is_unavailable_quickly() -> None:
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with (
        FleetClient(url, timeout_s=0.5, retries=1) as fleet,
        pytest.raises(FleetUnavailableError, match=f"{url}/robots.*2 attempt"),
    ):
        fleet.robots()  # bounded by the retries (2 attempts), not by a wall-clock assert


def test_retries_server_errors_but_never_client_errors() -> None:
    """A fleet at the edge we do not own answers 503 twice, then works; 404s are not retried."""
    calls: list[str] = []

    def fleet(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path == "/robots" and len(calls) < 3:
            return httpx.Response(503, json={"detail": "warming up"})
        if request.url.path == "/robots":
            return httpx.Response(200, json=[])
        return httpx.Response(404, json={"detail": "unknown robot 'zz'"})

    with FleetClient("http://fleet", retries=3, transport=httpx.MockTransport(fleet)) as client:
        assert client.robots() == []
        assert calls == ["/robots"] * 3
        with pytest.raises(NotFoundError, match="unknown robot 'zz'"):
            client.robot("zz")
        assert calls.count("/robots/zz") == 1
