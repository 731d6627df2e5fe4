"""The robot's outbox against a real gateway (uvicorn): incident windows first, resume after a
SIGKILL or an outage with nothing re-sent, a bandwidth budget, and a checked sha256."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from robotops.edge.gateway import create_gateway_app
from robotops.edge.outbox import GatewayUnavailable, Outbox, TokenBucket
from robotops.errors import RobotOpsError
from robotops.sim.fleet.serve import serve_in_thread

TOKEN = "site-token-for-tests-" + "0123456789" * 3


def _file(tmp: Path, name: str, size: int) -> Path:
    path = tmp / name
    path.write_bytes(os.urandom(size))
    return path


@pytest.fixture
def gateway(tmp_path: Path):
    app = create_gateway_app(tmp_path / "gateway", TOKEN)
    with serve_in_thread(app) as url:
        yield app, url


def test_incident_windows_go_first_and_arrive_whole(tmp_path: Path, gateway) -> None:
    app, url = gateway
    outbox = Outbox(tmp_path / "edge.db", "101", url, TOKEN, chunk_bytes=64 << 10)
    log = _file(tmp_path, "bag_0.mcap", 300_000)
    window = _file(tmp_path, "window.mcap", 100_000)
    outbox.enqueue(log, "log")
    outbox.enqueue(window, "incident")
    outbox.enqueue(window, "incident")  # queued twice: one item
    order = outbox.send_all()
    assert len(order) == 2 and sorted(order) == _received(tmp_path)
    received = tmp_path / "gateway" / "received" / "101"
    assert (received / order[0]).read_bytes() == window.read_bytes()  # the incident first
    assert (received / order[1]).read_bytes() == log.read_bytes()
    assert app.state.bytes_received == 400_000 and outbox.pending() == []


def _received(tmp: Path) -> list[str]:
    folder = tmp / "gateway" / "received" / "101"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_the_gateway_needs_the_site_token(gateway) -> None:
    _, url = gateway
    assert httpx.get(f"{url}/health").status_code == 200
    assert httpx.get(f"{url}/edge/robots").status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    put = httpx.put(f"{url}/edge/uploads/x?offset=0", content=b"x", headers=wrong)
    assert put.status_code == 401


def test_heartbeats_list_the_robot_with_its_version_and_slot(gateway) -> None:
    _, url = gateway
    auth = {"Authorization": f"Bearer {TOKEN}"}
    beat = {"robot_id": "amr-07", "version": "v2", "slot": "b", "disk_free_bytes": 10**9}
    assert httpx.post(f"{url}/edge/heartbeat", json=beat, headers=auth).status_code == 200
    (robot,) = httpx.get(f"{url}/edge/robots", headers=auth).json()
    assert (robot["robot_id"], robot["version"], robot["slot"]) == ("amr-07", "v2", "b")
    assert robot["last_seen"] > time.time() - 60


SENDER = """
import sys
from pathlib import Path
from robotops.edge.outbox import Outbox, TokenBucket
db, url, token, path = sys.argv[1:5]
bucket = TokenBucket(200_000, 64 << 10)
box = Outbox(Path(db), "101", url, token, bucket=bucket, chunk_bytes=32 << 10)
box.enqueue(Path(path), "incident")
box.send_all(on_chunk=lambda item, n: print(n, flush=True))
"""


def test_a_sender_killed_mid_upload_resumes_and_re_sends_nothing(tmp_path: Path, gateway) -> None:
    app, url = gateway
    window = _file(tmp_path, "window.mcap", 600_000)
    args = [str(tmp_path / "edge.db"), url, TOKEN, str(window)]
    sender = subprocess.Popen(
        [sys.executable, "-c", SENDER, *args], stdout=subprocess.PIPE, text=True
    )
    try:
        assert sender.stdout is not None
        while int(sender.stdout.readline() or 0) < 200_000:  # a third is across
            assert sender.poll() is None, "the sender ended early"
        sender.send_signal(signal.SIGKILL)
        sender.wait()
    finally:
        sender.kill()
    held = app.state.bytes_received
    assert 200_000 <= held < 600_000
    outbox = Outbox(tmp_path / "edge.db", "101", url, TOKEN)  # the agent restarts
    (item,) = outbox.pending()
    assert outbox.send_all() == [item.upload_id]
    assert app.state.bytes_received == 600_000  # 0 bytes re-sent
    assert (tmp_path / "gateway" / "received" / "101" / item.upload_id).read_bytes() == (
        window.read_bytes()
    )


def test_an_outage_keeps_the_item_and_the_next_link_finishes_it(tmp_path: Path) -> None:
    root = tmp_path / "gateway"
    window = _file(tmp_path, "window.mcap", 500_000)
    first = create_gateway_app(root, TOKEN)
    sent: list[int] = []
    with serve_in_thread(first) as url:
        outbox = Outbox(tmp_path / "edge.db", "101", url, TOKEN, chunk_bytes=50_000, timeout_s=2)
        outbox.enqueue(window, "incident")

        def link_drops(item, n: int) -> None:
            sent.append(n)
            if n >= 200_000:
                raise GatewayUnavailable("link down")  # as the next request would

        with pytest.raises(GatewayUnavailable):
            outbox.send_all(on_chunk=link_drops)
    with pytest.raises(GatewayUnavailable, match="unreachable"):
        outbox.send_all()  # the gateway is gone: a clear error, the item stays queued
    assert len(outbox.pending()) == 1
    second = create_gateway_app(root, TOKEN)  # back, on another port
    with serve_in_thread(second) as url:
        again = Outbox(tmp_path / "edge.db", "101", url, TOKEN, chunk_bytes=50_000)
        assert len(again.send_all()) == 1
    assert first.state.bytes_received + second.state.bytes_received == 500_000


def test_a_file_changed_after_queueing_is_refused_by_its_hash(tmp_path: Path, gateway) -> None:
    _, url = gateway
    outbox = Outbox(tmp_path / "edge.db", "101", url, TOKEN)
    window = _file(tmp_path, "window.mcap", 10_000)
    outbox.enqueue(window, "incident")
    window.write_bytes(os.urandom(10_000))  # same size, other bytes
    with pytest.raises(RobotOpsError, match="discarded, send it again"):
        outbox.send_all()
    assert len(outbox.pending()) == 1


def test_the_token_bucket_paces_to_its_rate() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    bucket = TokenBucket(100_000, burst=50_000, clock=lambda: now[0], sleep=sleep)
    for _ in range(20):
        bucket.take(50_000)  # 1 MB in all
    assert now[0] == pytest.approx((1_000_000 - 50_000) / 100_000)  # 9.5 s: the burst is free
    with pytest.raises(RobotOpsError, match="must be > 0"):
        TokenBucket(float("nan"))


def test_edge_send_cli_resumes_through_the_gateway(tmp_path: Path, gateway) -> None:
    from typer.testing import CliRunner

    from robotops.cli import app
    from robotops.security.local import write_token

    _, url = gateway
    token_file = tmp_path / "site_token"
    write_token(token_file, TOKEN + "-" * 20)
    window = _file(tmp_path, "window.mcap", 20_000)
    args = ["edge", "send", str(window), "--gateway", url, "--token-file", str(token_file)]
    args += ["--robot", "101", "--kind", "incident", "--root", str(tmp_path / "edge")]
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 2 and "401" in refused.output  # not the site's token
    write_token(token_file, TOKEN)
    sent = CliRunner().invoke(app, args)
    assert sent.exit_code == 0, sent.output
    assert sent.output.startswith("sent 101-") and _received(tmp_path) == [sent.output.split()[1]]
