"""The outbox over a real shaped link: the gateway runs in its own network namespace behind a
veth pair with a tbf rate limit (2 MB/s), and the link goes down for a few seconds mid-upload.
Needs root and a kernel with netns and tbf; where they are refused the test skips and says why.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from robotops.edge.outbox import GatewayUnavailable, Outbox, TokenBucket

TOKEN = "shaped-link-token-" + "k" * 32
GATEWAY = """
import sys, uvicorn
from pathlib import Path
from robotops.edge.gateway import create_gateway_app
uvicorn.run(create_gateway_app(Path(sys.argv[1]), sys.argv[2]), host=sys.argv[3],
            port=int(sys.argv[4]), log_level="warning")
"""


def _sh(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True, text=True)


@pytest.fixture
def shaped(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(gateway URL, "namespace:interface" of the gateway side) across a 2 MB/s veth."""
    tag = secrets.token_hex(3)
    ns, edge_if, gw_if = f"ro-gw-{tag}", f"ro-e-{tag}", f"ro-g-{tag}"
    net = f"10.233.{1 + int(tag[:2], 16) % 250}"
    try:
        _sh("ip", "netns", "add", ns)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"network namespaces refused here ({getattr(exc, 'stderr', exc)!s:.120})")
    proc = None
    try:
        _sh("ip", "link", "add", edge_if, "type", "veth", "peer", "name", gw_if)
        _sh("ip", "link", "set", gw_if, "netns", ns)
        _sh("ip", "addr", "add", f"{net}.1/24", "dev", edge_if)
        _sh("ip", "link", "set", edge_if, "up")
        _sh("ip", "netns", "exec", ns, "ip", "addr", "add", f"{net}.2/24", "dev", gw_if)
        _sh("ip", "netns", "exec", ns, "ip", "link", "set", gw_if, "up")
        _sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
        try:  # 2 MB/s = 16 Mbit/s, both ways
            _sh(
                "tc",
                "qdisc",
                "add",
                "dev",
                edge_if,
                "root",
                "tbf",
                "rate",
                "16mbit",
                "burst",
                "64kb",
                "latency",
                "400ms",
            )
        except subprocess.CalledProcessError as exc:
            pytest.skip(f"tc tbf refused by this kernel: {exc.stderr.strip()[:120]}")
        port = 18000 + secrets.randbelow(2000)
        proc = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                ns,
                sys.executable,
                "-c",
                GATEWAY,
                str(tmp_path / "gw"),
                TOKEN,
                f"{net}.2",
                str(port),
            ],
            env=dict(os.environ),
        )
        url = f"http://{net}.2:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "gateway did not start"
            time.sleep(0.1)
        yield url, f"{ns}:{gw_if}"
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()
        subprocess.run(["ip", "link", "del", edge_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def test_an_outage_on_a_shaped_link_re_sends_nothing(tmp_path: Path, shaped) -> None:
    url, gateway_side = shaped
    ns, gw_if = gateway_side.split(":")
    down = ("ip", "netns", "exec", ns, "ip", "link", "set", gw_if, "down")
    up = (*down[:-1], "up")
    window = tmp_path / "window.mcap"
    window.write_bytes(os.urandom(3_000_000))
    outbox = Outbox(
        tmp_path / "edge.db",
        "101",
        url,
        TOKEN,
        bucket=TokenBucket(4e6, 256 << 10),
        chunk_bytes=128 << 10,
        timeout_s=2,
    )
    outbox.enqueue(window, "incident")
    cut = threading.Event()

    def outage(item, sent: int) -> None:
        if sent >= 1_000_000 and not cut.is_set():
            cut.set()
            _sh(*down)  # the gateway side goes dark; the robot keeps its route
            threading.Timer(3.0, _sh, up).start()

    failures = 0
    began = time.monotonic()
    while outbox.pending():
        try:
            outbox.send_all(on_chunk=outage)
        except GatewayUnavailable:
            failures += 1
            time.sleep(0.5)
        assert time.monotonic() - began < 120, "never finished after the outage"
    assert cut.is_set() and failures >= 1  # the outage really interrupted the upload
    auth = {"Authorization": f"Bearer {TOKEN}"}
    stats = httpx.get(f"{url}/edge/stats", headers=auth, timeout=5).json()
    assert stats["bytes_received"] == 3_000_000  # nothing crossed the link twice
    received = tmp_path / "gw" / "received" / "101"
    (name,) = [p.name for p in received.iterdir()]
    assert (received / name).read_bytes() == window.read_bytes()
