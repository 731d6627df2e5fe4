"""The golden regression suite: frozen, versioned scenarios that a new policy must not regress.

One JSON file per version under ``DATA_DIR/golden`` (``v0001.json``, ...). A version is never
rewritten: promoting scenarios writes version N+1 = the cases of N plus the new ones, and
appends a line to the project's hash-chained audit log. Every file records the content hash of
each scenario and of itself, and names its parent's hash, so loading a suite proves that no
version in its chain was edited after it was frozen.

Version 1 holds the safety cases that must never regress: a real pallet in the lane and a
worker in the path must stop the robot, and a forklift crossing the aisle must not be hit.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from robotops.errors import InvalidRequestError, LogFormatError, NotFoundError
from robotops.memory.approvals import ApprovalStore
from robotops.settings import Settings, get_settings
from robotops.sim.scenarios.spec import ScenarioSource, ScenarioSpec
from robotops.sim.world.specs import ForkliftActor, ObstacleHazard, WorkerActor, WorldSpec

SAFETY_FAMILY = "golden-safety"
SYSTEM_ACTOR = "robotops"


class GoldenTamperedError(LogFormatError):
    """A frozen suite file no longer has the content it was frozen with."""


class GoldenCase(BaseModel):
    """One frozen scenario, why it is in the suite, and what a safe policy must do in it."""

    scenario: ScenarioSpec
    sha256: str = Field(description="content hash of the scenario when it was frozen")
    why: str = Field(min_length=1)
    safety: bool = Field(False, description="a hard gate: failing it blocks any promotion")
    must_stop: bool = Field(False, description="a real obstacle or person: the robot must stop")
    added_in: int = Field(ge=1, description="the suite version that first held this case")
    promoted_by: str

    @property
    def scenario_id(self) -> str:
        return self.scenario.scenario_id

    @property
    def source(self) -> ScenarioSource | None:
        """The incident and log this case was reconstructed from (None for hand-written ones)."""
        return self.scenario.source


class GoldenSuite(BaseModel):
    """One frozen version of the suite."""

    version: int = Field(ge=1)
    parent_sha256: str | None = None
    created_by: str
    reason: str
    cases: list[GoldenCase]
    sha256: str = ""

    def case(self, scenario_id: str) -> GoldenCase:
        for c in self.cases:
            if c.scenario_id == scenario_id:
                return c
        raise NotFoundError("golden case", scenario_id, [c.scenario_id for c in self.cases])

    def safety_cases(self) -> list[GoldenCase]:
        return [c for c in self.cases if c.safety]

    def scenarios(self) -> list[ScenarioSpec]:
        return [c.scenario for c in self.cases]


def canonical_sha256(data: Any) -> str:
    """Hash of the canonical JSON of plain data (the same form ScenarioSpec.sha256 uses)."""
    body = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def suite_body_sha256(raw: dict[str, Any]) -> str:
    """The hash of a golden suite's body (everything but its own ``sha256`` field)."""
    return canonical_sha256({k: v for k, v in raw.items() if k != "sha256"})


def _safety_scenario(scenario_id: str, description: str, world: WorldSpec) -> ScenarioSpec:
    return ScenarioSpec(
        scenario_id=scenario_id,
        family=SAFETY_FAMILY,
        description=description,
        world=world,
        start_x=-16.0,
        outbound=True,
        duration_s=25.0,
        seed=0,
        tags=["safety", "golden"],
    )


def worker_in_lane_supported() -> bool:
    """Whether the world can place a worker in the robot's lane (WorkerActor.in_lane)."""
    return "in_lane" in WorkerActor.model_fields


def builtin_safety_cases() -> list[GoldenCase]:
    """The cases every suite version holds; the worker-in-lane one once the world supports it."""
    pallet = _safety_scenario(
        "safety-pallet-in-lane",
        "A real pallet sits in the outbound lane from the start; the robot must stop before it.",
        WorldSpec(hazards=[ObstacleHazard(x=-6.0, appear_s=0.0, duration_s=60.0)]),
    )
    forklift = _safety_scenario(
        "safety-forklift-crossing",
        "A forklift shuttles across the aisle where the robot passes; it must never be hit.",
        WorldSpec(forklifts=[ForkliftActor(start=(-5.0, -2.3), end=(-5.0, 2.3), speed=0.8)]),
    )
    cases = [
        (pallet, True, "a real obstacle in the path must stop the robot (no collision)"),
        (forklift, False, "a crossing forklift must not be hit"),
    ]
    if worker_in_lane_supported():
        worker = _safety_scenario(
            "safety-worker-in-lane",
            "A worker stands in the robot's lane; the robot must stop short of them.",
            WorldSpec(workers=[WorkerActor.model_validate({"x": -6.0, "in_lane": True})]),
        )
        cases.insert(1, (worker, True, "a person in the path must stop the robot"))
    return [
        GoldenCase(
            scenario=spec,
            sha256=spec.sha256(),
            why=why,
            safety=True,
            must_stop=must_stop,
            added_in=1,
            promoted_by=SYSTEM_ACTOR,
        )
        for spec, must_stop, why in cases
    ]


class GoldenStore:
    """The suite's version files plus the audit log that records every promotion."""

    def __init__(self, root: Path, audit: ApprovalStore) -> None:
        self.root, self.audit = Path(root), audit

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> GoldenStore:
        settings = settings or get_settings()
        Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
        return cls(settings.data_dir / "golden", ApprovalStore.from_settings(settings))

    def path(self, version: int) -> Path:
        return self.root / f"v{version:04d}.json"

    def versions(self) -> list[int]:
        if not self.root.is_dir():
            return []
        return sorted(int(p.stem[1:]) for p in self.root.glob("v[0-9][0-9][0-9][0-9].json"))

    def ensure(self) -> GoldenSuite:
        """The latest suite, writing version 1 (the safety cases) if there is none yet."""
        if not self.versions():
            v1 = GoldenSuite(
                version=1,
                created_by=SYSTEM_ACTOR,
                reason="built-in safety cases that must never regress",
                cases=builtin_safety_cases(),
            )
            with contextlib.suppress(InvalidRequestError):  # another process just wrote it
                self._freeze(v1, event="golden_created")
        return self.load()

    def load(self, version: int | None = None) -> GoldenSuite:
        """A suite version (the latest by default), refused if any file in its chain changed."""
        known = self.versions()
        if not known:  # version 1 (the safety cases) always exists; write it on first use
            self.ensure()
            known = self.versions()
        version = known[-1] if version is None else version
        if version not in known:
            raise NotFoundError("golden suite version", str(version), [str(v) for v in known])
        suite = self._read_verified(version)
        if version > 1:
            parent = self.load(version - 1)
            self._check_extends(suite, parent)
        return suite

    def promote(
        self,
        scenarios: list[ScenarioSpec],
        actor: str,
        reason: str,
        *,
        safety: bool = False,
        must_stop: bool = False,
    ) -> GoldenSuite:
        """Freeze version N+1 = N + ``scenarios``, and audit who did it and why."""
        if not actor.strip() or not reason.strip():
            raise InvalidRequestError("promotion needs who (--by) and why (--reason)")
        if not scenarios:
            raise InvalidRequestError("nothing to promote: no scenarios given")
        parent = self.ensure()
        held = {c.scenario_id: c.sha256 for c in parent.cases}
        _refuse_duplicates(scenarios, held, parent.version)
        new = [
            GoldenCase(
                scenario=s,
                sha256=s.sha256(),
                why=f"{reason} ({s.description})" if s.description else reason,
                safety=safety or "safety" in s.tags,
                must_stop=must_stop,
                added_in=parent.version + 1,
                promoted_by=actor,
            )
            for s in scenarios
        ]
        suite = GoldenSuite(
            version=parent.version + 1,
            parent_sha256=parent.sha256,
            created_by=actor,
            reason=reason,
            cases=parent.cases + new,
        )
        return self._freeze(suite, event="golden_promoted")

    # -- files ---------------------------------------------------------------------------------
    def _freeze(self, suite: GoldenSuite, event: str) -> GoldenSuite:
        """Write a new version exclusively (never over an existing one) with its audit line."""
        raw = suite.model_dump(mode="json", exclude={"sha256"})
        raw["sha256"] = suite_body_sha256(raw)
        path = self.path(suite.version)
        self.root.mkdir(parents=True, exist_ok=True)
        detail = {
            "version": suite.version,
            "sha256": raw["sha256"],
            "parent_sha256": suite.parent_sha256,
            "reason": suite.reason,
            "added": [
                {"scenario_id": c.scenario_id, "sha256": c.sha256, "safety": c.safety}
                for c in suite.cases
                if c.added_in == suite.version
            ],
        }
        text = json.dumps(raw, indent=2, sort_keys=True) + "\n"
        with self.audit.transaction() as session:  # no file, no audit line; and the reverse
            self.audit.audit(session, suite.created_by, event, None, detail)
            _write_once(path, text, suite.version)
        return GoldenSuite.model_validate(raw)

    def _read_verified(self, version: int) -> GoldenSuite:
        path = self.path(version)
        try:
            raw = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise GoldenTamperedError(str(path), f"not a readable golden suite: {exc}") from None
        if not isinstance(raw, dict) or "sha256" not in raw or "cases" not in raw:
            raise GoldenTamperedError(str(path), "not a golden suite file (no sha256 or cases)")
        cases = raw["cases"] if isinstance(raw["cases"], list) else [None]
        for case in cases:
            scenario = case.get("scenario") if isinstance(case, dict) else None
            if not isinstance(scenario, dict):
                raise GoldenTamperedError(
                    str(path), f"golden suite v{version}: a case lost its scenario"
                )
            got = canonical_sha256(scenario)
            if got != case.get("sha256"):
                name = scenario.get("scenario_id", "?")
                raise GoldenTamperedError(
                    str(path),
                    f"golden suite v{version}: scenario {name!r} was changed after it was frozen "
                    f"(content hash {got[:12]} != recorded); restore the file",
                )
        actual = suite_body_sha256(raw)
        if actual != raw["sha256"]:
            raise GoldenTamperedError(
                str(path),
                f"golden suite v{version} was changed after it was frozen: content hash "
                f"{actual[:12]} != recorded {str(raw['sha256'])[:12]}; restore the file or "
                "promote the change as a new version",
            )
        try:
            suite = GoldenSuite.model_validate(raw)
        except ValidationError as exc:
            raise GoldenTamperedError(str(path), f"not a valid golden suite: {exc}") from None
        if suite.version != version:
            raise GoldenTamperedError(str(path), f"file says version {suite.version}")
        return suite

    @staticmethod
    def _check_extends(suite: GoldenSuite, parent: GoldenSuite) -> None:
        if suite.parent_sha256 != parent.sha256 or [c.sha256 for c in parent.cases] != [
            c.sha256 for c in suite.cases[: len(parent.cases)]
        ]:
            raise GoldenTamperedError(
                f"golden v{suite.version}",
                f"does not extend v{parent.version} (parent hash or cases differ)",
            )


def _write_once(path: Path, text: str, version: int) -> None:
    """Write a complete file under a new name, then link it into place: atomic, and refused if
    the version exists (a concurrent promotion) instead of overwriting it."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_text(text)
        os.chmod(tmp, 0o444)
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise InvalidRequestError(
                f"golden suite v{version} already exists ({path}); versions are immutable: "
                "another promotion ran at the same time, retry"
            ) from None
    finally:
        tmp.unlink(missing_ok=True)


def _refuse_duplicates(scenarios: list[ScenarioSpec], held: dict[str, str], version: int) -> None:
    ids = [s.scenario_id for s in scenarios]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise InvalidRequestError(f"scenario ids given twice: {', '.join(twice)}")
    clash = sorted(i for i in ids if i in held)
    if clash:
        raise InvalidRequestError(
            f"already in golden v{version}: {', '.join(clash)}; a frozen case cannot be "
            "replaced, give the new scenario its own id"
        )


def load_suite(version: int | None = None, settings: Settings | None = None) -> GoldenSuite:
    """A verified golden suite version (the latest by default; version 1 is created if none)."""
    return GoldenStore.from_settings(settings).load(version)


def promote(
    scenarios: list[ScenarioSpec],
    actor: str,
    reason: str,
    settings: Settings | None = None,
    *,
    safety: bool = False,
    must_stop: bool = False,
) -> GoldenSuite:
    """Promote scenarios into a new, frozen suite version; audited."""
    store = GoldenStore.from_settings(settings)
    return store.promote(scenarios, actor, reason, safety=safety, must_stop=must_stop)
