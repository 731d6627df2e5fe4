"""What the pages are built from, without a browser: evidence arranged for a decision, the
adapters when campaign and rollout data are absent, and a fleet that does not answer."""

from __future__ import annotations

import dataclasses
import shutil

from fastapi.testclient import TestClient
from PIL import Image

from robotops.api.app import create_app
from robotops.api.web import data, incidents
from robotops.api.web.evidence import evidence_view, resolve_under
from robotops.settings import FleetSettings, Settings
from robotops.sim.fleet.state import FleetStore
from robotops.tools.fleet.client import FleetClient


def test_evidence_finds_verdict_deltas_images_and_hashes_wherever_they_sit(tmp_path):
    frame = tmp_path / "plots" / "worst.png"
    frame.parent.mkdir()
    Image.new("RGB", (4, 4)).save(frame)
    evidence = {
        "judge": {
            "verdict": "reject",
            "reasons": ["collision_rate clearly worse"],
            "campaign": [
                {"metric": "collision_rate", "delta": 0.2, "ci_low": 0.05, "ci_high": 0.3}
            ],
            "golden": [{"metric": "stall_time_s", "delta": -1.0, "ci": [-2.0, 0.5]}],
            "evidence_sha256": "e" * 64,
        },
        "frames": [str(frame), "/etc/passwd.png", "plots/missing.png"],
        "dataset_sha256": "f" * 64,
    }
    view = evidence_view(evidence, tmp_path)
    assert view.verdict == "reject" and view.reasons == ["collision_rate clearly worse"]
    assert [(d.metric, d.ci_low, d.ci_high, d.source) for d in view.deltas] == [
        ("collision_rate", 0.05, 0.3, "judge.campaign"),
        ("stall_time_s", -2.0, 0.5, "judge.golden"),
    ]
    assert [i.path for i in view.images] == [str(frame)]
    assert view.hashes == [("judge.evidence_sha256", "e" * 64), ("dataset_sha256", "f" * 64)]


def test_paths_outside_the_data_dir_are_never_resolved(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "secret.png").write_bytes(b"x")
    (tmp_path / "data" / "ok.png").write_bytes(b"x")
    (tmp_path / "data" / "link.png").symlink_to(tmp_path / "secret.png")
    root = tmp_path / "data"
    assert resolve_under("ok.png", root) == (root / "ok.png").resolve()
    assert resolve_under("../secret.png", root) is None
    assert resolve_under(str(tmp_path / "secret.png"), root) is None
    assert resolve_under("link.png", root) is None  # a link out of the data dir
    assert resolve_under("nothing.png", root) is None


def test_adapters_say_there_is_nothing_yet(tmp_path):
    settings = Settings(data_dir=tmp_path)
    assert data.campaigns(settings) == []
    assert data.campaign_runs(settings, "c-1") is None
    assert data.verdicts(settings, "c-1") == []
    assert data.rollouts(settings) == []
    assert not (tmp_path / "campaigns.db").exists()  # reading creates nothing


def test_an_unreadable_judge_report_is_reported_not_fatal(tmp_path):
    report = tmp_path / "judge" / "c-1-v2"
    report.mkdir(parents=True)
    (report / "verdict.json").write_text('{"verdict": "promote"}')
    (found,) = data.verdicts(Settings(data_dir=tmp_path), "c-1")
    assert found.verdict is None and "verdict.json is not a readable verdict" in found.error
    assert "evidence_sha256" in found.error  # says which field is missing


def test_a_fleet_that_does_not_answer_is_explained_on_the_fleet_page(site):
    dead = site.deps.settings.model_copy(
        update={"fleet": FleetSettings(url="http://127.0.0.1:9", retries=0, timeout_s=2)}
    )
    app = create_app(dataclasses.replace(site.deps, settings=dead))
    with TestClient(app) as client:
        client.cookies.set("robotops_session", site.tokens["viewer"])
        page = client.get("/ui/fleet")
    assert page.status_code == 200
    assert "The fleet API at <code>http://127.0.0.1:9</code> is not answering" in page.text
    assert "unavailable after 1 attempt(s)" in page.text


def test_the_fleet_page_shows_each_rollouts_stage_and_gate_values(site, tmp_path):
    from robotops.tools.rollout.gates import GateResult, GateSpec, baseline_from
    from robotops.tools.rollout.models import Rollout, RolloutPlan, StagePlan, StageRecord
    from robotops.tools.rollout.store import RolloutStore

    plan = RolloutPlan(
        rollout_id="ro-1",
        candidate_version="v2",
        candidate_sha256="2" * 64,
        incumbent_version="v1",
        incumbent_sha256="1" * 64,
        verdict="promote",
        stages=[
            StagePlan(index=0, name="canary", robot_ids=["101"], bake_minutes=1),
            StagePlan(index=1, name="rest", robot_ids=["102"], bake_minutes=1),
        ],
        gates=GateSpec(),
        baseline=baseline_from([], "v1"),
    )
    gate = GateResult(
        gate="stall_ratio", passed=True, observed=1.2, limit=1.5, expected=1.0, detail="ok"
    )
    RolloutStore(tmp_path / "rollouts").save(
        Rollout(
            plan=plan,
            status="baking",
            stages=[StageRecord(index=0, status="baking", gates=[gate]), StageRecord(index=1)],
        )
    )
    settings = site.deps.settings.model_copy(update={"data_dir": tmp_path})
    with TestClient(create_app(dataclasses.replace(site.deps, settings=settings))) as client:
        client.cookies.set("robotops_session", site.tokens["viewer"])
        text = client.get("/ui/fleet").text
    row = text[text.index('data-testid="rollout-row"') :]
    assert "ro-1" in row and "baking" in row and "1 / 2" in row
    assert "#101: v2" in row and "#102: v1" in row
    assert "stall_ratio 1.2 (limit 1.5)" in row


def test_an_incident_is_drawn_once_and_later_views_do_not_read_the_log(site, tmp_path):
    with FleetClient.from_settings(site.deps.settings) as fleet:
        incident = fleet.incidents()[0]
    fleet_root = site.deps.settings.data_dir.parent / "fleet"
    log = tmp_path / "pulled.mcap"
    shutil.copy(FleetStore(fleet_root).log_path(incident.robot_id, incident.log_name), log)
    settings = site.deps.settings.model_copy(update={"data_dir": tmp_path / "data"})
    deps = dataclasses.replace(site.deps, settings=settings)
    frames, timeline = incidents.draw(deps, incident, log)
    assert frames and all(f.offset_s <= 0 for f in frames)
    assert timeline.read_bytes().startswith(b"\x89PNG")
    log.unlink()  # a second view must come from what was drawn, not from the log
    assert incidents.draw(deps, incident, log) == (frames, timeline)
