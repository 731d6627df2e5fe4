"""A tiny simulated fleet on disk, served by a real uvicorn server on a free local port."""

from __future__ import annotations

import base64
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcap.writer import Writer

from robotops.sim.fleet.models import Incident
from robotops.sim.fleet.serve import serve_in_thread
from robotops.sim.fleet.service import create_fleet_app
from robotops.sim.fleet.state import FleetRecord, FleetStore, PolicyRecord, RobotRecord
from robotops.tools.fleet.client import FleetClient

T0 = 1_700_000_000_000_000_000
MS = 1_000_000
LINK_SPEED_BPS = 50_000


def _write_log(path: Path) -> None:
    """About 70 KB of barely compressible messages over 2 s on two topics."""
    rng = random.Random(3)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as stream:
        writer = Writer(stream, chunk_size=8192)
        writer.start()
        odom = writer.register_channel("/odom", "json", 0)
        camera = writer.register_channel("/camera/meta", "json", 0)
        for t_ms in range(0, 2000, 10):
            for channel in (odom, camera):
                blob = base64.b64encode(rng.randbytes(130)).decode()
                data = f'{{"t": {t_ms}, "blob": "{blob}"}}'.encode()
                writer.add_message(channel, T0 + t_ms * MS, data, T0 + t_ms * MS)
        writer.finish()


@pytest.fixture
def fleet_dir(tmp_path: Path) -> Path:
    root = tmp_path / "fleet"
    store = FleetStore(root)
    robots = {
        "r1": RobotRecord(robot_id="r1", zone="A", policy_version="v1", status="working"),
        "r2": RobotRecord(robot_id="r2", zone="B", policy_version="v1"),
        "r3": RobotRecord(robot_id="r3", zone="B", policy_version="v1", online=False),
    }
    policies = {
        v: PolicyRecord(version=v, sha256=v * 32, path=f"policies/{v}.pt") for v in ("v1", "v2")
    }
    store.save(
        FleetRecord(
            site="test-site", link_speed_bps=LINK_SPEED_BPS, robots=robots, policies=policies
        )
    )
    store.add_incidents(
        [
            Incident(
                incident_id=f"i{n}",
                robot_id=robot,
                kind="stall",
                time_ns=T0 + n * 500 * MS,
                zone="A",
                log_name="shift-1.mcap",
                policy_version="v1",
            )
            for n, robot in enumerate(["r1", "r2", "r1"])
        ]
    )
    _write_log(store.log_dir("r1") / "shift-1.mcap")
    return root


@pytest.fixture
def fleet_url(fleet_dir: Path) -> Iterator[str]:
    """Serve the fleet over real HTTP from a thread on a free local port."""
    with serve_in_thread(create_fleet_app(fleet_dir)) as url:
        yield url


@pytest.fixture
def client(fleet_url: str) -> Iterator[FleetClient]:
    with FleetClient(fleet_url, timeout_s=5, retries=1) as fleet:
        yield fleet
