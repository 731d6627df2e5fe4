"""Policy installs on the robot: two slots, an atomic switch, a health check, and a way back.

The robot keeps two slots, ``a`` and ``b``. The running policy is the slot the ``current``
symlink names; an install writes the new artifact into the other slot, checks its sha256,
switches the symlink in one ``rename`` (a reader sees the old or the new slot, never neither),
then runs the health check. A failed check switches back by itself. Before the switch a
journal records where the robot came from, so an agent killed in the middle of a switch or of
the health check restores the last good slot when it starts again.

Layout under ``root``::

    slots/a/policy.pt, slots/b/policy.pt   the two artifacts
    slots/{a,b}/card.json                  version, sha256, order id, installed at
    current -> slots/a                     what runs (a relative symlink)
    state.json                             last good slot, last result
    switch.journal                         present only while a switch is unconfirmed
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from robotops.errors import RobotOpsError

Slot = Literal["a", "b"]
SLOTS: tuple[Slot, Slot] = ("a", "b")
ARTIFACT = "policy.pt"


class InstallError(RobotOpsError):
    """An install that did not happen (bad artifact) or did not stay (failed health check)."""


class SlotCard(BaseModel):
    """What a slot holds."""

    version: str
    sha256: str
    order_id: str
    installed_at: float


class SlotState(BaseModel):
    """The installer's memory across restarts."""

    last_good: Slot | None = None
    last_result: str = "nothing installed yet"


class SlotStatus(BaseModel):
    """What the robot reports: the running version and slot, and what happened last."""

    version: str | None
    slot: Slot | None
    sha256: str | None
    last_good: Slot | None
    last_result: str


class InstallResult(BaseModel):
    """How one install ended."""

    installed: bool
    slot: Slot
    version: str
    health: str
    status: SlotStatus


@dataclass
class HealthCheck:
    """A command the user configures; exit 0 within ``timeout_s`` means healthy.

    The command runs with ``ROBOTOPS_POLICY`` set to the new artifact's path, so it can load
    it (or check the topics the new policy should publish).
    """

    command: list[str] | None = None
    timeout_s: float = 30.0

    def __call__(self, artifact: Path) -> tuple[bool, str]:
        if not self.command:
            return True, "no health check configured"
        env = dict(os.environ, ROBOTOPS_POLICY=str(artifact))
        try:
            done = subprocess.run(
                self.command, env=env, capture_output=True, text=True, timeout=self.timeout_s
            )
        except subprocess.TimeoutExpired:
            return False, f"health check {self.command[0]} gave no answer in {self.timeout_s:g} s"
        except OSError as exc:
            return False, f"health check {self.command[0]} could not run: {exc.strerror}"
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
            return False, f"health check exited {done.returncode}: {tail[0][:200]}"
        return True, "health check passed"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _write_json(path: Path, payload: object) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w") as f:
        json.dump(payload, f, indent=2, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class SlotInstaller:
    """Installs verified artifacts into the inactive slot and keeps the robot on a good one.

    Args:
        root: the installer's folder on the robot.
        health: the check run after each switch.
        on_switch: called after the symlink moved and before the health check (the agent
            restarts the policy process here; tests use it to kill mid-switch).
    """

    def __init__(
        self,
        root: Path,
        health: Callable[[Path], tuple[bool, str]] | None = None,
        on_switch: Callable[[Slot], None] | None = None,
    ) -> None:
        self.root = Path(root)
        self.health = health or HealthCheck()
        self.on_switch = on_switch
        for slot in SLOTS:
            (self.root / "slots" / slot).mkdir(parents=True, exist_ok=True)

    # --- what is where -----------------------------------------------------------------------

    @property
    def _current(self) -> Path:
        return self.root / "current"

    @property
    def _journal(self) -> Path:
        return self.root / "switch.journal"

    def active(self) -> Slot | None:
        """The slot ``current`` names, or None before the first install."""
        if not self._current.is_symlink():
            return None
        name = Path(os.readlink(self._current)).name
        return name if name in SLOTS else None  # type: ignore[return-value]

    def card(self, slot: Slot) -> SlotCard | None:
        path = self.root / "slots" / slot / "card.json"
        return SlotCard.model_validate_json(path.read_text()) if path.is_file() else None

    def state(self) -> SlotState:
        path = self.root / "state.json"
        return SlotState.model_validate_json(path.read_text()) if path.is_file() else SlotState()

    def status(self) -> SlotStatus:
        slot, state = self.active(), self.state()
        card = self.card(slot) if slot else None
        return SlotStatus(
            version=card.version if card else None,
            slot=slot,
            sha256=card.sha256 if card else None,
            last_good=state.last_good,
            last_result=state.last_result,
        )

    def artifact(self) -> Path | None:
        """The running artifact's path (through the ``current`` link)."""
        return self._current / ARTIFACT if self.active() else None

    # --- install, switch, recover ------------------------------------------------------------

    def install(self, artifact: Path, version: str, sha256: str, order_id: str) -> InstallResult:
        """Put ``artifact`` in the inactive slot, switch to it, and keep it only if healthy.

        The caller has verified the signed order; the bytes are checked here against the
        sha256 the order signed, so a swapped or corrupted download never runs.
        """
        self.recover()  # a switch left half-done by a crash is settled first
        source = self.active()
        target: Slot = "b" if source == "a" else "a"
        self._stage(Path(artifact), target, version, sha256, order_id)
        _write_json(self._journal, {"from": source, "to": target, "order_id": order_id})
        self._point_at(target)
        if self.on_switch:
            self.on_switch(target)
        healthy, why = self.health(self.root / "slots" / target / ARTIFACT)
        if healthy:
            self._settle(target, f"{version} installed in slot {target}: {why}")
        else:
            self._back_to(source, f"{version} in slot {target} failed: {why}; back on {source}")
        return InstallResult(
            installed=healthy, slot=target, version=version, health=why, status=self.status()
        )

    def recover(self) -> str | None:
        """After a crash mid-switch, go back to the last good slot; None when nothing to do."""
        if not self._journal.is_file():
            return None
        journal = json.loads(self._journal.read_text())
        good = self.state().last_good or journal.get("from")
        why = (
            f"restarted during the switch to slot {journal['to']} "
            f"(order {journal['order_id']}); restored slot {good}"
        )
        self._back_to(good, why)
        return why

    def _stage(self, artifact: Path, slot: Slot, version: str, sha256: str, order_id: str) -> None:
        if not artifact.is_file():
            raise InstallError(f"artifact {artifact} does not exist")
        actual = sha256_of(artifact)
        if actual != sha256:
            raise InstallError(
                f"artifact {artifact.name} has sha256 {actual[:12]}, the order signed "
                f"{sha256[:12]}: refused, nothing installed"
            )
        folder = self.root / "slots" / slot
        tmp = folder / f".{ARTIFACT}.tmp"
        shutil.copyfile(artifact, tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, folder / ARTIFACT)
        card = SlotCard(version=version, sha256=sha256, order_id=order_id, installed_at=time.time())
        _write_json(folder / "card.json", card.model_dump(mode="json"))

    def _point_at(self, slot: Slot | None) -> None:
        """Move ``current`` to ``slot`` in one rename (or remove it: nothing installed)."""
        if slot is None:
            self._current.unlink(missing_ok=True)
            return
        tmp = self.root / ".current.tmp"
        tmp.unlink(missing_ok=True)
        os.symlink(Path("slots") / slot, tmp)
        os.replace(tmp, self._current)

    def _settle(self, slot: Slot, why: str) -> None:
        _write_json(
            self.root / "state.json", SlotState(last_good=slot, last_result=why).model_dump()
        )
        self._journal.unlink(missing_ok=True)

    def _back_to(self, slot: Slot | None, why: str) -> None:
        self._point_at(slot)
        state = SlotState(last_good=slot, last_result=why)
        _write_json(self.root / "state.json", state.model_dump())
        self._journal.unlink(missing_ok=True)
