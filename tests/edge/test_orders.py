"""Orders on the robot: real keys, real signatures; each refusal names its check and installs
nothing, and a retry of an installed order installs nothing twice."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from signing_support import other_signer, statement

from robotops.edge.orders import OrderReceiver
from robotops.edge.slots import SlotInstaller, sha256_of
from robotops.errors import SecurityError
from robotops.security import NonceLedger, OrderSigner, TrustedKeys
from robotops.security.envelope import SignedEnvelope

ROBOTS = ["101", "102"]


def _trust(signer: OrderSigner) -> TrustedKeys:
    return (
        TrustedKeys()
        .with_key(signer.approval_key, ["approval"])
        .with_key(signer.order_key, ["order"])
    )


@pytest.fixture
def signer(tmp_path: Path) -> OrderSigner:
    return OrderSigner(tmp_path / "orchestrator-keys")


def _robot(tmp_path: Path, signer: OrderSigner, robot_id: str = "101") -> OrderReceiver:
    root = tmp_path / f"robot-{robot_id}"
    installer = SlotInstaller(root / "slots", health=lambda _: (True, "ok"))
    return OrderReceiver(robot_id, _trust(signer), NonceLedger(root / "nonces.db"), installer)


def _order(
    signer: OrderSigner, artifact_sha: str, robots: list[str], deployment: str = "d1", **kw
) -> SignedEnvelope:
    approval = statement(signer, artifact_sha, robots, **kw)
    return signer.order("deploy", "v2", artifact_sha, robots, deployment, approval)


@pytest.fixture
def artifact(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "v2.pt"
    path.write_bytes(b"v2 weights")
    return path, sha256_of(path)


def test_a_signed_order_for_this_robot_installs_and_a_retry_installs_nothing(
    tmp_path: Path, signer: OrderSigner, artifact: tuple[Path, str]
) -> None:
    robot = _robot(tmp_path, signer)
    order = _order(signer, artifact[1], ROBOTS)
    first = robot.accept(order, artifact[0])
    assert first.installed and first.status.version == "v2" and first.slot == "a"
    again = robot.accept(order, artifact[0])
    assert again.health == "already installed by this order" and again.status.slot == "a"
    assert robot.installer.active() == "a"  # no second switch


def _refused(robot: OrderReceiver, order: SignedEnvelope, artifact: Path, check: str, **kw):
    with pytest.raises(SecurityError) as refused:
        robot.accept(order, artifact, **kw)
    assert refused.value.check == check, refused.value
    assert robot.installer.status().version is None  # nothing installed
    return str(refused.value)


def test_orders_for_other_robots_other_keys_or_expired_are_refused(
    tmp_path: Path, signer: OrderSigner, artifact: tuple[Path, str]
) -> None:
    path, sha = artifact
    robot = _robot(tmp_path, signer)
    assert "not robot 101" in _refused(robot, _order(signer, sha, ["102"]), path, "robots")
    forged = _order(other_signer(tmp_path), sha, ROBOTS)
    assert "unknown key" in _refused(robot, forged, path, "signature")
    order = _order(signer, sha, ROBOTS)
    later = time.time() + 3 * 3600  # the robot was offline for three hours
    assert "expired" in _refused(robot, order, path, "expiry", now=later)
    short = _order(signer, sha, ROBOTS, expires_in_s=1)
    assert "expired" in _refused(robot, short, path, "expiry", now=time.time() + 5)


def test_an_offline_robot_installs_an_order_that_has_not_expired(
    tmp_path: Path, signer: OrderSigner, artifact: tuple[Path, str]
) -> None:
    robot = _robot(tmp_path, signer)
    order = _order(signer, artifact[1], ROBOTS)
    assert robot.accept(order, artifact[0], now=time.time() + 300).installed  # back in 5 min


def test_a_tampered_order_or_approval_does_not_verify(
    tmp_path: Path, signer: OrderSigner, artifact: tuple[Path, str]
) -> None:
    path, sha = artifact
    robot = _robot(tmp_path, signer)
    order = _order(signer, sha, ["102"])
    widened = order.model_copy(update={"payload": {**order.payload, "robot_ids": ROBOTS}})
    assert "does not verify" in _refused(robot, widened, path, "signature")
    # an approval signed by the order key (a leaked order key cannot approve)
    fake = statement(OrderSigner(tmp_path / "x"), sha, ROBOTS)
    fake = fake.model_copy(update={"key_id": signer.order_key.key_id})
    unapproved = signer.order("deploy", "v2", sha, ROBOTS, "d9", fake)
    _refused(robot, unapproved, path, "signature")


def test_an_approval_replayed_in_a_new_order_is_refused(
    tmp_path: Path, signer: OrderSigner, artifact: tuple[Path, str]
) -> None:
    path, sha = artifact
    robot = _robot(tmp_path, signer)
    approval = statement(signer, sha, ROBOTS)
    assert robot.accept(signer.order("deploy", "v2", sha, ROBOTS, "d1", approval), path).installed
    replay = signer.order("deploy", "v2", sha, ROBOTS, "d2", approval)  # fresh order, old approval
    with pytest.raises(SecurityError, match="already used by 'd1@101'") as refused:
        robot.accept(replay, path)
    assert refused.value.check == "replay"


def test_a_corrupted_download_is_refused_against_the_signed_hash(
    tmp_path: Path, signer: OrderSigner, artifact: tuple[Path, str]
) -> None:
    path, sha = artifact
    robot = _robot(tmp_path, signer)
    path.write_bytes(b"v2 weights, corrupted in transit")
    from robotops.edge.slots import InstallError

    with pytest.raises(InstallError, match="the order signed"):
        robot.accept(_order(signer, sha, ROBOTS), path)
    assert robot.installer.status().version is None


def test_the_cli_installs_reports_and_refuses(
    tmp_path: Path, signer: OrderSigner, artifact: tuple[Path, str]
) -> None:
    import json

    from typer.testing import CliRunner

    from robotops.cli import app
    from robotops.security.trust import save_trust

    path, sha = artifact
    trust = tmp_path / "trust.json"
    save_trust(trust, _trust(signer))
    order_file = tmp_path / "order.json"
    order_file.write_text(_order(signer, sha, ROBOTS).model_dump_json())
    root = tmp_path / "edge"
    common = ["--root", str(root), "--robot", "101", "--trust", str(trust)]
    runner = CliRunner()
    done = runner.invoke(app, ["edge", "install", str(order_file), str(path), *common])
    assert done.exit_code == 0, done.output
    assert "running v2 in slot a" in done.output
    status = json.loads(
        runner.invoke(app, ["edge", "status", "--root", str(root), "--json"]).stdout
    )
    assert (status["version"], status["slot"], status["sha256"]) == ("v2", "a", sha)
    other = [*common[:2], "--robot", "103", *common[4:]]
    refused = runner.invoke(app, ["edge", "install", str(order_file), str(path), *other])
    assert refused.exit_code == 2 and "not robot 103" in " ".join(refused.output.split())
