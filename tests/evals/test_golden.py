"""The golden suite: frozen versions, audited promotion, safety cases kept, tampering refused."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from robotops.errors import InvalidRequestError, NotFoundError
from robotops.memory.approvals import ApprovalStore
from robotops.settings import get_settings
from robotops.sim.scenarios.spec import ScenarioSource, ScenarioSpec
from robotops.sim.world.specs import GlareHazard, WorldSpec
from robotops.tools.judge.golden import (
    GoldenStore,
    GoldenTamperedError,
    load_suite,
    promote,
)

SAFETY_IDS = {"safety-pallet-in-lane", "safety-forklift-crossing"}


def glare_case(scenario_id: str = "glare-incident-104") -> ScenarioSpec:
    return ScenarioSpec(
        scenario_id=scenario_id,
        family="glare-104",
        description="robot 104's phantom stop at the vest",
        world=WorldSpec(hazards=[GlareHazard(x=2.0, intensity=1.6, facing_deg=170.0)]),
        seed=3,
        tags=["glare", "incident"],
        source=ScenarioSource(
            incident_id="inc-104-0007",
            robot_id="104",
            log_sha256="f" * 64,
            time_ns=1_800_000_012_000_000_000,
            cause="glare",
        ),
    )


@pytest.fixture
def store(tmp_path: Path) -> GoldenStore:
    return GoldenStore(tmp_path / "golden", ApprovalStore(f"sqlite:///{tmp_path / 'audit.db'}"))


def test_version_one_holds_the_safety_cases_and_is_reproducible(
    store: GoldenStore, tmp_path: Path
) -> None:
    v1 = store.ensure()
    ids = {c.scenario_id for c in v1.cases}
    assert v1.version == 1 and ids >= SAFETY_IDS
    assert all(c.safety and c.added_in == 1 for c in v1.cases)
    assert v1.case("safety-pallet-in-lane").must_stop
    assert not v1.case("safety-forklift-crossing").must_stop
    assert {"safety-pallet-in-lane", "safety-forklift-crossing", "safety-worker-in-lane"} <= ids
    assert v1.case("safety-worker-in-lane").must_stop
    world = v1.case("safety-worker-in-lane").scenario.world
    assert world.workers[0].in_lane  # type: ignore[attr-defined]
    for c in v1.cases:
        assert c.sha256 == c.scenario.sha256()
    other = GoldenStore(tmp_path / "g2", ApprovalStore(f"sqlite:///{tmp_path / 'b.db'}"))
    assert other.ensure().sha256 == v1.sha256  # the same bytes everywhere
    assert store.path(1).read_bytes() == other.path(1).read_bytes()
    entries = store.audit.audit_log()
    assert [(e.event, e.detail["version"]) for e in entries] == [("golden_created", 1)]


def test_promotion_creates_an_immutable_new_version_and_an_audit_entry(store: GoldenStore) -> None:
    v1 = store.ensure()
    v1_bytes = store.path(1).read_bytes()
    v2 = store.promote([glare_case()], actor="maya", reason="phantom stop at vest, 04:30 PM")
    assert v2.version == 2 and v2.parent_sha256 == v1.sha256
    assert [c.sha256 for c in v2.cases[: len(v1.cases)]] == [c.sha256 for c in v1.cases]
    new = v2.case("glare-incident-104")
    assert (new.added_in, new.promoted_by, new.safety) == (2, "maya", False)
    assert new.source is not None and new.source.incident_id == "inc-104-0007"
    assert "phantom stop at vest" in new.why
    assert store.path(1).read_bytes() == v1_bytes  # the old version is untouched
    assert store.versions() == [1, 2] and store.load().version == 2
    assert store.load(1).sha256 == v1.sha256
    last = store.audit.audit_log()[-1]
    assert (last.actor, last.event) == ("maya", "golden_promoted")
    assert last.detail["sha256"] == v2.sha256 and last.detail["parent_sha256"] == v1.sha256
    assert last.detail["added"] == [
        {"scenario_id": "glare-incident-104", "sha256": glare_case().sha256(), "safety": False}
    ]
    assert store.audit.verify_audit() is None
    with pytest.raises(InvalidRequestError, match="already in golden v2: glare-incident-104"):
        store.promote([glare_case()], actor="maya", reason="again")
    with pytest.raises(InvalidRequestError, match="who"):
        store.promote([glare_case("other")], actor=" ", reason="x")
    assert store.versions() == [1, 2]


def test_an_edited_suite_file_is_refused(store: GoldenStore) -> None:
    store.ensure()
    store.promote([glare_case()], actor="maya", reason="incident")
    path = store.path(1)
    os.chmod(path, 0o644)
    raw = json.loads(path.read_text())
    raw["cases"][0]["scenario"]["world"]["hazards"] = []  # someone removes the pallet
    path.write_text(json.dumps(raw, indent=2, sort_keys=True))
    with pytest.raises(GoldenTamperedError, match="safety-pallet-in-lane.*content hash"):
        store.load(1)
    with pytest.raises(GoldenTamperedError):
        store.load(2)  # a version whose chain holds an edited file is refused too
    for cases in ([["not a case"]], [{"scenario": ["a list"]}], 7):
        path.write_text(json.dumps({**raw, "cases": cases}))
        with pytest.raises(GoldenTamperedError, match="a case lost its scenario"):
            store.load(1)
    path.write_text("{not json")
    with pytest.raises(GoldenTamperedError, match="not a readable golden suite"):
        store.load(1)


def test_recomputing_the_hash_after_an_edit_is_still_caught_by_the_chain(
    store: GoldenStore,
) -> None:
    from robotops.tools.judge.golden import canonical_sha256, suite_body_sha256

    store.ensure()
    store.promote([glare_case()], actor="maya", reason="incident")
    path = store.path(1)
    os.chmod(path, 0o644)
    raw = json.loads(path.read_text())
    raw["cases"][0]["scenario"]["duration_s"] = 1.0
    raw["cases"][0]["sha256"] = canonical_sha256(raw["cases"][0]["scenario"])
    raw["sha256"] = suite_body_sha256(raw)
    path.write_text(json.dumps(raw))
    assert store.load(1).cases[0].scenario.duration_s == 1.0  # v1 alone looks consistent
    with pytest.raises(GoldenTamperedError, match="does not extend v1"):
        store.load(2)


def test_module_functions_use_settings_and_unknown_version_lists_known(tmp_path: Path) -> None:
    suite = promote([glare_case()], actor="maya", reason="incident")
    assert suite.version == 2
    assert (get_settings().data_dir / "golden" / "v0002.json").is_file()
    assert load_suite().sha256 == suite.sha256
    with pytest.raises(NotFoundError, match="known: 1, 2"):
        load_suite(7)


def test_golden_cli_show_promote_and_refuse_tampering(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from robotops.cli import app
    from robotops.sim.scenarios.io import write_scenarios

    runner = CliRunner()
    shown = runner.invoke(app, ["golden", "show", "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["version"] == 1
    [path] = write_scenarios([glare_case()], tmp_path / "family")
    args = ["golden", "promote", "--scenarios", str(tmp_path / "family"), "--by", "maya"]
    promoted = runner.invoke(app, [*args, "--reason", "the 04:30 PM stall", "--json"])
    assert promoted.exit_code == 0, promoted.output
    body = json.loads(promoted.stdout)
    assert body["version"] == 2 and body["cases"][-1]["scenario"]["scenario_id"] == path.stem
    again = runner.invoke(app, [*args, "--reason", "twice"])
    assert again.exit_code == 2 and "already in golden v2" in again.output
    v2 = get_settings().data_dir / "golden" / "v0002.json"
    os.chmod(v2, 0o644)
    v2.write_text(v2.read_text().replace("the 04:30 PM stall", "nothing to see"))
    refused = runner.invoke(app, ["golden", "show", "--version", "2"])
    assert refused.exit_code == 2 and "changed after it was frozen" in refused.output


def test_an_existing_version_is_never_overwritten_and_a_refused_write_is_not_audited(
    store: GoldenStore,
) -> None:
    v2 = store.promote([glare_case()], actor="maya", reason="incident")
    before = store.path(2).read_bytes(), len(store.audit.audit_log())
    rival = v2.model_copy(update={"reason": "someone else's v2", "created_by": "raj"})
    with pytest.raises(InvalidRequestError, match="v2 already exists"):
        store._freeze(rival, event="golden_promoted")
    assert (store.path(2).read_bytes(), len(store.audit.audit_log())) == before
    assert not list(store.root.glob(".*.tmp"))
