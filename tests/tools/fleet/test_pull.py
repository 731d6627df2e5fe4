"""``fleet pull`` end to end: a real uvicorn fleet server, the real client, dropped links."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory
from PIL import Image
from typer.testing import CliRunner

from robotops.cli import app
from robotops.errors import FleetUnavailableError, LogFormatError, NotFoundError
from robotops.settings import get_settings
from robotops.sim.fleet.models import UploadPlan, UploadPlanRequest, UploadRequest
from robotops.sim.fleet.serve import serve_in_thread
from robotops.sim.fleet.service import create_fleet_app
from robotops.sim.fleet.state import FleetRecord, FleetStore, RobotRecord
from robotops.sim.recording.writer import RobotLogWriter
from robotops.tools.fleet.client import FleetClient
from robotops.tools.fleet.pull import PullInterruptedError, PullRequest, pull

T0 = 1_795_442_400_000_000_000
S = 1_000_000_000
LINK = 50_000_000  # fast: these tests are about correctness, not waiting
BUDGET = 1_000_000  # both incident windows (~0.78 MB) and the thinned context fit


def _write_log(path: Path, seconds: int = 40) -> None:
    """A robot's log through the fleet's recorder: a stall at 8 s and a collision at 25 s."""
    rng = np.random.default_rng(5)
    with RobotLogWriter(path, {"robot_id": "104"}, chunk_size=64 * 1024) as log:
        for tick in range(seconds * 20):
            t_ns = T0 + tick * 50_000_000
            log.odom(t_ns, tick / 40, 1.0, 0.0, 0.5, 0.0)
            log.cmd_vel(t_ns, 0.5, 0.0)
            if tick % 4 == 0:
                pixels = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
                frame = io.BytesIO()
                Image.fromarray(pixels).resize((128, 96)).save(frame, format="JPEG")
                log.image(t_ns, frame.getvalue())
            if tick in (160, 500):
                kind = "stall" if tick == 160 else "collision"
                log.event(t_ns, kind, "warn" if kind == "stall" else "error", "104", "a", kind)


@pytest.fixture(scope="module")
def fleet_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("fleet")
    store = FleetStore(root)
    robots = {r: RobotRecord(robot_id=r, zone="a", policy_version="v1") for r in ("104", "105")}
    store.save(FleetRecord(site="test", link_speed_bps=LINK, robots=robots))
    _write_log(store.log_dir("104") / "104_shift.mcap")
    with serve_in_thread(create_fleet_app(root)) as url:
        yield url


@pytest.fixture
def client(fleet_url: str) -> Iterator[FleetClient]:
    with FleetClient(fleet_url, timeout_s=5, retries=1) as fleet:
        yield fleet


class _Cut(httpx.SyncByteStream):
    """A response body that breaks off after ``limit`` bytes, as a dropped Wi-Fi link does."""

    def __init__(self, inner: httpx.SyncByteStream, limit: int) -> None:
        self.inner, self.limit = inner, limit

    def __iter__(self) -> Iterator[bytes]:
        sent = 0
        for block in self.inner:
            if sent + len(block) >= self.limit:
                yield block[: self.limit - sent]
                raise httpx.RemoteProtocolError("peer closed connection mid-body")
            sent += len(block)
            yield block

    def close(self) -> None:
        self.inner.close()


class LinkFaults(httpx.HTTPTransport):
    """Real HTTP to the real server, with the link failing on cue.

    Args:
        cut_request: the n-th content download (0-based) breaks off after ``cut_after`` bytes.
        down_after_cut: after the cut, the fleet is unreachable (connection refused).
    """

    def __init__(self, cut_request: int, cut_after: int, down_after_cut: bool = False) -> None:
        super().__init__()
        self.cut_request, self.cut_after = cut_request, cut_after
        self.down_after_cut = down_after_cut
        self.content_ranges: list[str | None] = []
        self.cut = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.cut and self.down_after_cut:
            raise httpx.ConnectError("connection refused", request=request)
        response = super().handle_request(request)
        if not request.url.path.endswith("/content"):
            return response
        self.content_ranges.append(request.headers.get("range"))
        if len(self.content_ranges) - 1 != self.cut_request:
            return response
        self.cut = True
        assert isinstance(response.stream, httpx.SyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_Cut(response.stream, self.cut_after),
            extensions=response.extensions,
            request=request,
        )


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_pull_writes_the_plan_and_verified_mcaps_then_resumes_as_a_no_op(
    client: FleetClient, tmp_path: Path
) -> None:
    out = tmp_path / "pulled"
    request = PullRequest(robot_id="104", out_dir=out, budget_bytes=BUDGET)
    result = pull(request, client)

    plan = UploadPlan.model_validate_json((out / "plan.json").read_text())
    assert result.complete and plan == result.plan
    assert (plan.incidents_total, plan.incidents_full) == (2, 2)
    assert [f.role for f in result.files][:2] == ["incident", "incident"]
    assert result.files[0].start_ns == T0 + 17 * S  # the collision (most severe) first
    assert result.bytes_on_disk <= plan.budget_bytes == BUDGET
    assert {f.fidelity for f in result.files} == {"full", "context"}
    for f in result.files:
        assert f.status == "downloaded" and f.path is not None and _sha(f.path) == f.sha256
        with open(f.path, "rb") as stream:
            reader = make_reader(stream, decoder_factories=[DecoderFactory()])
            frames = [
                d.data
                for _, c, _, d in reader.iter_decoded_messages(topics=["/camera/image/compressed"])
            ]
        width = 64 if f.fidelity == "context" else 128
        assert frames and {Image.open(io.BytesIO(b)).size[0] for b in frames} == {width}
    assert not list(out.glob("*.part"))
    manifest = json.loads((out / "pull.json").read_text())
    assert manifest["complete"] and len(manifest["files"]) == len(result.files)

    again = pull(request, client)
    assert {f.status for f in again.files} == {"already_present"}
    assert again.transferred_bytes == 0 and again.bytes_on_disk == result.bytes_on_disk


def test_a_link_dropped_mid_body_resumes_in_the_same_call(fleet_url: str, tmp_path: Path) -> None:
    faults = LinkFaults(cut_request=0, cut_after=70_000)
    with FleetClient(fleet_url, timeout_s=5, retries=2, transport=faults) as fleet:
        (log,) = fleet.logs("104")
        upload = fleet.request_upload(
            "104", UploadRequest(log_name=log.log_name, start_ns=log.start_ns, end_ns=log.end_ns)
        )
        path = fleet.download_upload(upload, tmp_path / "whole.mcap")

    assert upload.size_bytes > 200_000
    assert faults.content_ranges == [None, "bytes=70000-"]  # asked only for the rest
    assert _sha(path) == upload.sha256 and not (tmp_path / "whole.mcap.part").exists()


def test_a_killed_transfer_leaves_no_file_and_resumes_where_it_stopped(
    client: FleetClient, tmp_path: Path
) -> None:
    (log,) = client.logs("104")
    upload = client.request_upload(
        "104", UploadRequest(log_name=log.log_name, start_ns=log.start_ns, end_ns=log.end_ns)
    )
    dest = tmp_path / "whole.mcap"

    class Killed(Exception):
        pass

    def kill_after_first_block(done: int, total: int) -> None:
        raise Killed

    with pytest.raises(Killed):
        client.download_upload(upload, dest, kill_after_first_block)
    kept = (tmp_path / "whole.mcap.part").stat().st_size
    assert 0 < kept < upload.size_bytes and not dest.exists()

    seen: list[int] = []
    client.download_upload(upload, dest, lambda done, _: seen.append(done))
    assert min(seen) > kept and _sha(dest) == upload.sha256


def test_a_corrupt_partial_file_never_becomes_the_file(client: FleetClient, tmp_path: Path):
    (log,) = client.logs("104")
    upload = client.request_upload(
        "104",
        UploadRequest(log_name=log.log_name, start_ns=log.start_ns, end_ns=log.start_ns + 5 * S),
    )
    (tmp_path / "w.mcap.part").write_bytes(b"\xff" * (upload.size_bytes // 2))
    with pytest.raises(LogFormatError, match="sha256"):
        client.download_upload(upload, tmp_path / "w.mcap")
    assert list(tmp_path.iterdir()) == []
    assert _sha(client.download_upload(upload, tmp_path / "w.mcap")) == upload.sha256


def test_an_interrupted_pull_keeps_its_progress_and_a_rerun_finishes(
    fleet_url: str, client: FleetClient, tmp_path: Path
) -> None:
    out = tmp_path / "pulled"
    request = PullRequest(robot_id="104", out_dir=out, budget_bytes=BUDGET)
    faults = LinkFaults(cut_request=1, cut_after=30_000, down_after_cut=True)
    flaky = FleetClient(fleet_url, timeout_s=5, retries=1, transport=faults)
    with flaky, pytest.raises(PullInterruptedError, match="partial progress kept") as caught:
        pull(request, flaky)
    assert isinstance(caught.value, FleetUnavailableError)
    partial = caught.value.result
    assert [f.status for f in partial.files][:2] == ["downloaded", "pending"]
    first = partial.files[0].path
    assert first is not None and _sha(first) == partial.files[0].sha256
    assert len(list(out.glob("*.part"))) == 1 and (out / "plan.json").is_file()
    assert not json.loads((out / "pull.json").read_text())["complete"]

    done = pull(request, client)
    assert done.complete and done.files[0].status == "already_present"
    resumed = done.files[1]
    assert resumed.status == "downloaded"
    assert resumed.transferred_bytes == resumed.size_bytes - 30_000
    assert all(f.path is not None and _sha(f.path) == f.sha256 for f in done.files)
    assert not list(out.glob("*.part"))


def test_unknown_robot_and_a_robot_without_logs(client: FleetClient, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"unknown robot '9'; known: 104, 105"):
        pull(PullRequest(robot_id="9", out_dir=tmp_path, budget_bytes=1000), client)
    with pytest.raises(NotFoundError, match="robot 105"):
        pull(PullRequest(robot_id="105", out_dir=tmp_path, budget_bytes=1000), client)
    assert list(tmp_path.iterdir()) == []


def test_the_robot_plans_with_its_own_link_speed(client: FleetClient) -> None:
    plan = client.plan_upload("104", UploadPlanRequest(deadline_s=0.004))
    assert plan.link_speed_bps == LINK and plan.budget_bytes == 200_000
    assert plan.robot_id == "104" and plan.send_bytes <= 200_000


@pytest.fixture
def cli_env(fleet_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("ROBOTOPS_FLEET__URL", fleet_url)
    monkeypatch.setenv("ROBOTOPS_FLEET__RETRIES", "0")
    monkeypatch.setenv("ROBOTOPS_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield fleet_url
    get_settings.cache_clear()


def test_cli_pull_json(cli_env: str, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app, ["fleet", "pull", "104", "--incidents", "--budget-mb", "1", "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    out = tmp_path / "data" / "pulled" / "104"
    assert Path(payload["out_dir"]) == out and payload["complete"]
    assert payload["plan"]["incidents_full"] == 2
    assert {Path(f["path"]).name for f in payload["files"]} <= {p.name for p in out.iterdir()}

    table = runner.invoke(
        app, ["fleet", "pull", "104", "--budget-mb", "1", "--out", str(tmp_path / "t")]
    )
    assert table.exit_code == 0, table.output
    assert "incidents: 2 of 2 at full fidelity" in table.stdout


def test_cli_pull_errors_are_one_clear_line(cli_env: str, monkeypatch, tmp_path: Path) -> None:
    runner = CliRunner()
    unknown = runner.invoke(app, ["fleet", "pull", "999", "--budget-mb", "1"])
    assert unknown.exit_code == 2 and "unknown robot '999'" in unknown.output
    no_budget = runner.invoke(app, ["fleet", "pull", "104"])
    assert no_budget.exit_code == 2 and "--budget-mb" in no_budget.output

    monkeypatch.setenv("ROBOTOPS_FLEET__URL", "http://127.0.0.1:9")  # nothing listens there
    get_settings.cache_clear()
    down = runner.invoke(app, ["fleet", "pull", "104", "--budget-mb", "1"])
    assert down.exit_code == 2 and "unavailable" in down.output
    assert "Traceback" not in down.output
