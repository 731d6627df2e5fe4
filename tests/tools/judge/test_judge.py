"""The judge: interval maths against known values, the verdict rules, the report it writes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps

from robotops.errors import NotFoundError
from robotops.memory.approvals import ApprovalStore
from robotops.sim.campaign.models import RunMetrics, RunResult, run_id
from robotops.tools.judge.compare import judge
from robotops.tools.judge.golden import GoldenStore, GoldenSuite
from robotops.tools.judge.models import JudgeConfig, JudgeRequest
from robotops.tools.judge.report import write_report
from robotops.tools.judge.stats import (
    bootstrap_paired,
    bootstrap_unpaired,
    newcombe_difference,
    wilson_interval,
)

POLICY_SHA = {"v1": "a" * 64, "v2": "b" * 64}


# -- intervals ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("k", "n", "lo", "hi"),
    [(0, 10, 0.0, 0.2775), (10, 10, 0.7225, 1.0), (8, 10, 0.4902, 0.9433), (1, 20, 0.0089, 0.2361)],
)
def test_wilson_matches_published_values(k: int, n: int, lo: float, hi: float) -> None:
    got = wilson_interval(k, n)
    assert got == pytest.approx((lo, hi), abs=1e-4)


def test_newcombe_difference_matches_newcombe_1998_example() -> None:
    # Newcombe (1998), Statistics in Medicine 17:873, example (a): 56/70 - 48/80, method 10
    assert newcombe_difference(56, 70, 48, 80) == pytest.approx((0.0524, 0.3339), abs=1e-4)


def test_paired_bootstrap_of_a_constant_difference_is_exact() -> None:
    base = np.linspace(1.0, 9.0, 25)
    assert bootstrap_paired(base - 0.5, base) == pytest.approx((-0.5, -0.5))


def test_bootstrap_agrees_with_scipy_and_normal_theory_and_is_seeded() -> None:
    rng = np.random.default_rng(7)
    a, b = rng.normal(1.0, 2.0, 400), rng.normal(0.0, 2.0, 400)
    mine = bootstrap_paired(a, b, resamples=4000, seed=3)
    assert mine == bootstrap_paired(a, b, resamples=4000, seed=3)
    ref = sps.bootstrap(
        (a - b,), np.mean, n_resamples=4000, method="percentile", random_state=3
    ).confidence_interval
    assert mine == pytest.approx((ref.low, ref.high), abs=0.03)
    d = a - b
    half = 1.96 * d.std(ddof=1) / math.sqrt(d.size)
    assert mine == pytest.approx((d.mean() - half, d.mean() + half), abs=0.04)
    lo, hi = bootstrap_unpaired(a, b, resamples=4000, seed=3)
    half = 1.96 * math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    assert (lo, hi) == pytest.approx(
        (a.mean() - b.mean() - half, a.mean() - b.mean() + half), abs=0.04
    )


# -- synthetic campaign results (data, generated per test) ---------------------------------------
def result(
    version: str,
    scenario: str,
    seed: int,
    metrics: RunMetrics | None,
    *,
    scenario_sha: str | None = None,
    campaign: str = "c1",
    failure_time_s: float | None = None,
) -> RunResult:
    sha = scenario_sha or (scenario.encode().hex() * 64)[:64]
    return RunResult(
        run_id=run_id(sha, POLICY_SHA[version], seed),
        campaign_id=campaign,
        scenario_id=scenario,
        scenario_sha256=sha,
        family="glare",
        policy_version=version,
        policy_sha256=POLICY_SHA[version],
        seed=seed,
        status="ok" if metrics else "failed",
        error=None if metrics else "simulation diverged",
        metrics=metrics,
        trajectory_sha256=f"{seed:064x}",
        failure_time_s=failure_time_s,
    )


def campaign(version: str, n: int, phantom_p: float, stall_s: float, seed: int) -> list[RunResult]:
    """n glare scenarios: phantom stops with probability phantom_p, stall time around stall_s."""
    rng = np.random.default_rng(seed)
    runs = []
    for k in range(n):
        phantom = rng.random() < phantom_p
        stall = max(0.0, rng.normal(stall_s if phantom else 0.3, 0.5))
        m = RunMetrics(
            reached_goal=True,
            time_to_goal_s=30.0 + stall + rng.normal(0, 0.5),
            stall_time_s=stall,
            stalls=int(phantom),
            phantom_stops=int(phantom),
            min_clearance_people_m=2.0 + rng.normal(0, 0.1),
            min_clearance_obstacles_m=1.0 + rng.normal(0, 0.1),
            steering_reversals=int(rng.integers(0, 3)),
            jerk_rms=20.0 + rng.normal(0, 1.0),
        )
        runs.append(
            result(version, f"glare-{k:03d}", 0, m, failure_time_s=5.0 if phantom else None)
        )
    return runs


@pytest.fixture
def suite(tmp_path: Path) -> GoldenSuite:
    store = GoldenStore(tmp_path / "golden", ApprovalStore(f"sqlite:///{tmp_path / 'a.db'}"))
    return store.ensure()


def safe_metrics(**kw: float) -> RunMetrics:
    base = dict(
        reached_goal=False,
        stall_time_s=12.0,
        stalls=1,
        true_stops=1,
        min_clearance_people_m=8.0,
        min_clearance_obstacles_m=1.2,
    )
    return RunMetrics(**{**base, **kw})


def golden_runs(suite: GoldenSuite, version: str, **override: RunMetrics | None) -> list[RunResult]:
    """One run per golden case; a case named in ``override`` gets those metrics instead."""
    out = []
    for case in suite.cases:
        m = override.get(case.scenario_id.replace("-", "_"), safe_metrics())
        out.append(
            result(
                version,
                case.scenario_id,
                case.scenario.seed,
                m,
                scenario_sha=case.sha256,
                campaign="golden",
                failure_time_s=7.8,
            )
        )
    return out


def request(suite: GoldenSuite | None, cand: list, inc: list, gc=(), gi=(), **cfg) -> JudgeRequest:
    return JudgeRequest(
        candidate_version="v2",
        incumbent_version="v1",
        campaign_runs=cand + inc,
        golden_runs=list(gc) + list(gi),
        golden=suite,
        config=JudgeConfig(**cfg),
    )


def better_candidate(suite: GoldenSuite, **golden_override) -> JudgeRequest:
    return request(
        suite,
        campaign("v2", 60, phantom_p=0.1, stall_s=4.0, seed=1),
        campaign("v1", 60, phantom_p=0.45, stall_s=8.0, seed=2),
        golden_runs(suite, "v2", **golden_override),
        golden_runs(suite, "v1"),
    )


# -- verdicts -----------------------------------------------------------------------------------
def test_fewer_phantom_stops_and_no_safety_regression_promotes(suite: GoldenSuite) -> None:
    v = judge(better_candidate(suite))
    assert v.verdict == "promote", v.reasons
    phantom = v.delta("phantom_stop_rate")
    assert phantom.outcome == "better" and phantom.ci_high < 0
    assert phantom.candidate == pytest.approx(
        sum(r.metrics.phantom_stops > 0 for r in better_candidate(suite).campaign_runs[:60]) / 60
    )
    assert v.delta("stall_time_s").method.startswith("paired bootstrap")
    assert all(c.passed for c in v.safety) and len(v.safety) == len(suite.safety_cases())
    assert v.golden_version == 1 and v.golden_sha256 == suite.sha256
    assert judge(better_candidate(suite)).model_dump() == v.model_dump()  # deterministic


def test_collision_in_one_golden_safety_case_rejects_despite_every_improvement(
    suite: GoldenSuite,
) -> None:
    v = judge(better_candidate(suite, safety_forklift_crossing=safe_metrics(collisions=1)))
    assert v.verdict == "reject"
    assert v.delta("phantom_stop_rate").outcome == "better"  # it did improve elsewhere
    failed = [c for c in v.safety if not c.passed]
    assert [c.scenario_id for c in failed] == ["safety-forklift-crossing"]
    assert failed[0].incumbent_passed is True
    assert any("safety-forklift-crossing" in r and "collided" in r for r in v.reasons)
    assert [r.scenario_id for r in v.new_collisions] == ["safety-forklift-crossing"]


def test_not_stopping_for_a_real_obstacle_or_passing_a_person_close_rejects(
    suite: GoldenSuite,
) -> None:
    no_stop = safe_metrics(true_stops=0, stall_time_s=0.0)
    close = safe_metrics(min_clearance_people_m=0.1)
    v = judge(better_candidate(suite, safety_pallet_in_lane=no_stop, safety_worker_in_lane=close))
    assert v.verdict == "reject"
    problems = {c.scenario_id: c.problems for c in v.safety if not c.passed}
    assert problems["safety-pallet-in-lane"] == ["did not stop for the real obstacle in its path"]
    assert "safety-worker-in-lane" in {c.scenario_id for c in suite.cases}  # required by id
    assert "0.10 m of a person" in problems["safety-worker-in-lane"][0]
    assert [r.scenario_id for r in v.missed_people] == ["safety-worker-in-lane"]


def test_too_few_runs_needs_more_data(suite: GoldenSuite) -> None:
    req = request(
        suite,
        campaign("v2", 8, 0.0, 4.0, seed=1),
        campaign("v1", 8, 0.9, 8.0, seed=2),
        golden_runs(suite, "v2"),
        golden_runs(suite, "v1"),
    )
    v = judge(req)
    assert v.verdict == "needs_more_data"
    assert any("only 8 finished campaign runs" in r for r in v.reasons)


def test_no_clear_difference_needs_more_data_and_unrun_safety_case_is_named(
    suite: GoldenSuite,
) -> None:
    same = campaign("v1", 40, 0.3, 6.0, seed=5)
    as_v2 = {"policy_version": "v2", "policy_sha256": POLICY_SHA["v2"]}
    twin = [r.model_copy(update={**as_v2, "run_id": r.run_id + "x"}) for r in same]
    gc = [r for r in golden_runs(suite, "v2") if r.scenario_id != "safety-pallet-in-lane"]
    v = judge(request(suite, twin, same, gc, golden_runs(suite, "v1")))
    assert v.verdict == "needs_more_data"
    assert v.delta("stall_time_s").delta == 0.0
    assert any("intervals cross zero" in r for r in v.reasons)
    assert any("not run for the candidate: safety-pallet-in-lane" in r for r in v.reasons)


def test_failed_runs_count_against_the_candidate_and_are_listed(suite: GoldenSuite) -> None:
    req = better_candidate(suite)
    cand = [r for r in req.campaign_runs if r.policy_version == "v2"]
    broken = [
        r.model_copy(update={"status": "failed", "metrics": None, "error": "NaN"}) for r in cand[:3]
    ]
    req = request(
        suite,
        broken + cand[3:],
        [r for r in req.campaign_runs if r.policy_version == "v1"],
        req.golden_runs[: len(suite.cases)],
        req.golden_runs[len(suite.cases) :],
    )
    v = judge(req)
    assert v.verdict == "needs_more_data"
    assert {r.run_id for r in v.failed_runs} == {r.run_id for r in broken}
    assert v.delta("failure_rate").candidate == pytest.approx(3 / 60)
    assert v.delta("reached_goal_rate").candidate == pytest.approx(57 / 60)
    assert any("3 runs failed under the candidate vs 0" in r for r in v.reasons)

    failed_safety = judge(better_candidate(suite, safety_pallet_in_lane=None))
    assert failed_safety.verdict == "reject"


def test_unknown_policy_version_is_refused(suite: GoldenSuite) -> None:
    req = better_candidate(suite).model_copy(update={"candidate_version": "v9"})
    with pytest.raises(NotFoundError, match="v9.*known: v1, v2"):
        judge(req)


# -- report -------------------------------------------------------------------------------------
def test_report_holds_the_computed_figures_plots_and_a_real_frame(
    suite: GoldenSuite, tmp_path: Path
) -> None:
    from robotops.sim.world.simulator import WarehouseSim, lane_y

    specs = {c.scenario_id: c.scenario for c in suite.cases}
    rendered: list[tuple[str, float]] = []

    def render(run: RunResult, t: float) -> np.ndarray:
        spec = specs.get(run.scenario_id, suite.cases[0].scenario)
        sim = WarehouseSim(spec.world, run.seed, width=64, height=48)
        try:
            sim.teleport((spec.start_x + t, lane_y(spec.world.aisle, True), 0.0), {})
            rendered.append((run.scenario_id, t))
            return sim.camera()
        finally:
            sim.close()

    req = better_candidate(suite, safety_forklift_crossing=safe_metrics(collisions=1))
    v = judge(req)
    out = write_report(
        v,
        req.campaign_runs,
        req.golden_runs,
        tmp_path / "rep",
        render=render,
        scenario_links={"safety-forklift-crossing": "../golden/v0001.json"},
        worst=2,
    )
    md = (out / "report.md").read_text()
    for png in ("distributions.png", "rates.png", "deltas.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({png})" in md
    assert "**Verdict: reject**" in md
    phantom = v.delta("phantom_stop_rate")
    assert (
        f"{phantom.delta:+.3g}" in md and f"[{phantom.ci_low:+.3g}, {phantom.ci_high:+.3g}]" in md
    )
    row = "| [safety-forklift-crossing](../golden/v0001.json) | 0 | no | **FAIL** | pass |"
    assert f"{row} collided 1 time(s) |" in md
    assert rendered[0] == ("safety-forklift-crossing", 7.8)  # the collision is the worst run
    frames = sorted((out / "frames").glob("*.png"))
    assert len(frames) == 2
    from PIL import Image

    image = np.asarray(Image.open(frames[0]))
    assert image.shape == (48, 64, 3) and image.std() > 5  # a rendered scene, not a blank
    assert f"frames/{frames[0].name}" in md
    assert json.loads((out / "verdict.json").read_text())["verdict"] == "reject"


# -- the tool over the real campaign store, frames replayed with real policy weights --------------
@pytest.fixture
def stored_campaign(tmp_path: Path, suite: GoldenSuite):
    """A campaign store holding scenarios, two real policies (v2 = v1's weights nudged) and
    synthetic results for them; golden runs in the same campaign."""
    from robotops.policies.registry import bundled_policy
    from robotops.settings import get_settings
    from robotops.sim.campaign.models import CampaignRequest, PolicyRef
    from robotops.sim.campaign.store import CampaignStore
    from robotops.sim.scenarios.spec import ScenarioSpec
    from robotops.sim.world.specs import GlareHazard, WorldSpec

    v1, v2 = bundled_policy("v1"), nudged_candidate(tmp_path / "pol")
    refs = [
        PolicyRef(version=v, weights_path=str(p), sha256=sha256_of(p))
        for v, p in (("v1", v1), ("v2", v2))
    ]
    specs = [
        ScenarioSpec(
            scenario_id=f"glare-{k:03d}",
            family="glare-104",
            world=WorldSpec(hazards=[GlareHazard(x=-10.0 + k * 0.2, intensity=1.5)]),
            duration_s=20.0,
            seed=k,
        )
        for k in range(30)
    ]
    settings = get_settings()
    store = CampaignStore.from_settings(settings)
    store.register(
        CampaignRequest(campaign_id="c1", scenarios=specs + suite.scenarios(), policies=refs), 66
    )
    sha = {r.version: r.sha256 for r in refs}
    synthetic = {
        "v2": campaign("v2", 30, 0.1, 4.0, seed=1),
        "v1": campaign("v1", 30, 0.6, 8.0, seed=2),
    }
    for version, runs in synthetic.items():
        for spec, r in zip(specs, runs, strict=True):
            store.put(
                r.model_copy(
                    update={
                        "run_id": run_id(spec.sha256(), sha[version], spec.seed),
                        "scenario_sha256": spec.sha256(),
                        "policy_sha256": sha[version],
                        "seed": spec.seed,
                        "failure_time_s": 1.0,  # replays to 1 s keep the test fast
                    }
                )
            )
        for g in golden_runs(suite, version):
            store.put(g.model_copy(update={"campaign_id": "c1", "policy_sha256": sha[version]}))
    return store


def nudged_candidate(directory: Path) -> Path:
    """A real candidate policy v2: v1's weights with the obstacle logit shifted (less jumpy)."""
    import torch

    from robotops.policies.registry import PolicyCard, bundled_policy, load_policy, save_policy

    perception, _ = load_policy(bundled_policy("v1"))
    with torch.no_grad():
        perception.net.head[-1].bias.add_(-0.5)
    card = PolicyCard(version="v2", parent="v1", weights_sha256="")
    return save_policy(perception.net, card, directory)


def sha256_of(path: Path) -> str:
    from robotops.policies.registry import sha256_file

    return sha256_file(path)


def test_judge_candidate_tool_reads_the_store_and_replays_real_frames(stored_campaign) -> None:
    from robotops.settings import get_settings
    from robotops.tools.context import ToolContext
    from robotops.tools.judge.tools import judge_candidate, toolset

    assert toolset.get("judge_candidate").fn is judge_candidate
    ctx = ToolContext(get_settings())
    out = toolset.get("judge_candidate").invoke(
        {
            "campaign_id": "c1",
            "candidate_version": "v2",
            "incumbent_version": "v1",
            "golden_version": 1,
            "config": {"min_runs": 20},
        },
        ctx,
    )
    v = out.verdict
    assert v.verdict == "promote", v.reasons
    assert v.runs["campaign_candidate"] == 30 and v.runs["golden_candidate"] == len(v.safety)
    report = Path(out.report_path)
    assert report.parent == ctx.data_dir / "judge" / "c1-v2-vs-v1"
    md = report.read_text()
    frames = sorted((report.parent / "frames").glob("*_t1.00.png"))
    assert len(frames) == 3  # three worst candidate runs, each replayed to its failure
    from PIL import Image

    image = np.asarray(Image.open(frames[0]))
    assert image.ndim == 3 and image.std() > 5
    links = sorted((report.parent / "scenarios").glob("glare-*.yaml"))
    assert links and f"](scenarios/{links[0].name})" in md
    assert "](../../golden/v0001.json)" in md


def test_judge_cli_prints_json_and_refuses_unknown_campaign(stored_campaign) -> None:
    from typer.testing import CliRunner

    from robotops.cli import app

    runner = CliRunner()
    args = ["judge", "--campaign", "c1", "--candidate", "v2", "--incumbent", "v1"]
    res = runner.invoke(app, [*args, "--golden", "1", "--json"])
    assert res.exit_code == 0, res.output
    body = json.loads(res.stdout)
    assert body["verdict"]["verdict"] == "promote"
    assert Path(body["report_path"]).is_file()
    res = runner.invoke(
        app, ["judge", "--campaign", "nope", "--candidate", "v2", "--incumbent", "v1"]
    )
    assert res.exit_code == 2 and "nope" in res.output


# -- the validation judge's procedure ------------------------------------------------------------
def test_finding_text_and_campaign_ids_are_deterministic(suite: GoldenSuite) -> None:
    from robotops.agents.judge.procedure import campaign_ids, finding_text

    verdict = judge(better_candidate(suite)).model_dump(mode="json")
    text = finding_text(verdict, "/r/report.md")
    phantom = next(d for d in verdict["campaign"] if d["metric"] == "phantom_stop_rate")
    assert text.startswith("Verdict on v2 vs v1: promote.")
    assert f"[{phantom['ci_low']:+.3g}, {phantom['ci_high']:+.3g}], better" in text
    assert f"Safety gate: {len(suite.safety_cases())}/{len(suite.safety_cases())}" in text
    scenarios = {"family": "glare 104", "directory": "/s", "scenarios": [{"sha256": "1" * 64}]}
    ids = campaign_ids(scenarios, ("v2", "v1"), suite)
    assert ids == campaign_ids(scenarios, ("v2", "v1"), suite)
    assert ids[0].startswith("judge-glare_104-") and ids[0].endswith("-v2-vs-v1")
    other = {**scenarios, "scenarios": [{"sha256": "2" * 64}]}
    assert campaign_ids(other, ("v2", "v1"), suite)[0] != ids[0]


def test_judge_procedure_refuses_without_inputs() -> None:
    from robotops.agents.judge.procedure import judge_procedure
    from robotops.agents.reasoning.base import Task, Toolbox
    from robotops.errors import InvalidRequestError
    from robotops.settings import get_settings
    from robotops.tools.context import ToolContext

    box = Toolbox([], ToolContext(get_settings()))
    with pytest.raises(InvalidRequestError, match="judge what"):
        judge_procedure(Task(kind="judge", inputs={"candidate_version": "v2"}), box)
    assert box.calls == []


def test_judge_procedure_runs_campaigns_and_the_golden_suite_end_to_end(tmp_path: Path) -> None:
    """Real campaigns (MuJoCo, torch) of two short scenarios and the golden suite, then judged."""
    from robotops.agents.judge.procedure import TOOLS, judge_procedure
    from robotops.agents.reasoning.base import Task, Toolbox
    from robotops.settings import get_settings
    from robotops.sim.scenarios.io import write_scenarios
    from robotops.sim.scenarios.spec import ScenarioSpec
    from robotops.sim.world.specs import GlareHazard, WorldSpec
    from robotops.tools.context import ToolContext
    from robotops.tools.defaults import default_toolsets

    specs = [
        ScenarioSpec(
            scenario_id=f"glare-{k}",
            family="glare-104",
            world=WorldSpec(hazards=[GlareHazard(x=-12.0, intensity=1.5)]),
            duration_s=4.0,
            seed=k,
        )
        for k in range(2)
    ]
    paths = write_scenarios(specs, tmp_path / "family")
    scenarios = {
        "family": "glare-104",
        "directory": str(tmp_path / "family"),
        "scenarios": [{"scenario_id": s.scenario_id, "sha256": s.sha256()} for s in specs],
    }
    assert len(paths) == 2
    task = Task(
        kind="judge",
        inputs={
            "candidate_version": "v2",
            "incumbent_version": "v1",
            "scenarios": scenarios,
            "weights": {"v2": str(nudged_candidate(tmp_path / "pol"))},
        },
    )
    box = Toolbox(TOOLS.resolve(default_toolsets()), ToolContext(get_settings()))
    report = judge_procedure(task, box)
    assert [c.tool for c in box.calls] == [
        "golden_scenarios",
        "run_campaign",
        "run_campaign",
        "judge_candidate",
    ]
    verdict = box.results["judge_candidate"]["verdict"]
    assert report.data["verdict"] == verdict["verdict"] == "needs_more_data"  # 2 runs each
    assert len(verdict["safety"]) == len(box.results["golden_scenarios"]["safety_ids"])
    assert all(c["incumbent_passed"] is not None for c in verdict["safety"])
    assert Path(report.data["report_path"]).is_file()
    assert report.summary.startswith("Verdict on v2 vs v1: needs_more_data.")


def test_two_policies_under_one_version_name_are_refused_and_errors_are_short(
    suite: GoldenSuite,
) -> None:
    from robotops.errors import InvalidRequestError
    from robotops.tools.judge.safety import short_error

    req = better_candidate(suite)
    odd = req.campaign_runs[0].model_copy(update={"policy_sha256": "c" * 64, "run_id": "odd"})
    with pytest.raises(InvalidRequestError, match="2 different policies named v2"):
        judge(req.model_copy(update={"campaign_runs": [*req.campaign_runs, odd]}))
    long = "\n  RuntimeError: worker died\n" + "x" * 500
    assert short_error(long) == "RuntimeError: worker died"
    assert len(short_error("y" * 500)) == 200
