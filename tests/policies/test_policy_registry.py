"""The policy registry and the training tools end to end: a labeled log and rendered hazard
frames become a dataset, the gate passes it (or stops it), v1 is fine-tuned into v2, and the
catalog answers which logs, labels and labeler versions went into v2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dataset_logs import Faults, record_episode, write_log  # noqa: E402
from typer.testing import CliRunner

from robotops.cli import app  # noqa: E402
from robotops.memory.labels import Labeling, LabelStore  # noqa: E402
from robotops.memory.policies import PolicyStore, code_version  # noqa: E402
from robotops.policies.finetune import FinetuneConfig  # noqa: E402
from robotops.settings import get_settings  # noqa: E402
from robotops.sim.world.specs import GlareHazard, WorldSpec  # noqa: E402
from robotops.tools.context import ToolContext  # noqa: E402
from robotops.tools.datasets.alignment import AlignmentError  # noqa: E402
from robotops.tools.datasets.build import DatasetRequest  # noqa: E402
from robotops.tools.datasets.plan import Finding, PlanTrainingRequest  # noqa: E402
from robotops.tools.datasets.tools import (  # noqa: E402
    AlignmentRequest,
    build_dataset_tool,
    check_alignment_tool,
    plan_training_tool,
    toolset,  # noqa: E402
)
from robotops.tools.datasets.train import TrainPolicyRequest  # noqa: E402
from robotops.tools.logs.ingest import IngestDeps, IngestRequest, ingest_log  # noqa: E402

runner = CliRunner()
WORLD = WorldSpec(aisle=0, hazards=[GlareHazard(x=2.0, intensity=1.5)])


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    calls = record_episode(seconds=12.0)
    root = tmp_path_factory.mktemp("logs")
    return (
        write_log(calls, root / "good.mcap"),
        write_log(calls, root / "gap.mcap", Faults(drop_scan=(5.0, 7.0))),
    )


def ingest_and_label(path: Path) -> str:
    deps = IngestDeps.from_settings(get_settings())
    log_id = ingest_log(IngestRequest(path=path), deps).log_id
    store = LabelStore(deps.catalog)
    version = store.ensure_version(
        version="emb-1",
        sha256="ef" * 32,
        labeler_id="embedded",
        backend="embedded",
        model="embedded-v1",
        vocabulary_sha="0" * 64,
    )
    segments = deps.catalog.segments(log_id)[:3]
    with deps.catalog.transaction() as session:
        store.save(
            session,
            version,
            [
                Labeling(
                    segment_id=s.id,
                    log_id=log_id,
                    start_ns=s.start_ns,
                    end_ns=s.end_ns,
                    labels=[("glare", 0.8, s.start_ns)],
                    frames=1,
                )
                for s in segments
            ],
        )
    deps.catalog.close()
    return log_id


def test_tools_train_v2_with_lineage_and_the_cli_reports_it(logs):
    import robotops.tools.datasets.tools  # noqa: F401  (registers the tools)

    log_id = ingest_and_label(logs[0])
    ctx = ToolContext(get_settings())
    plan = toolset.get("plan_training").invoke(
        PlanTrainingRequest(
            findings=[Finding(cause="glare"), Finding(cause="oil")],
            worlds=[WORLD],
            sim_frames=24,
            epochs=2,
            throughput_fps=100.0,
        ),
        ctx,
    )
    assert plan.train and plan.dataset.labels == ["glare"] and plan.causes == {"glare": 1, "oil": 1}
    assert plan.estimated_seconds == pytest.approx(plan.estimated_frames * 2 / 100.0)
    summary = toolset.get("build_dataset").invoke(plan.dataset, ctx)
    assert summary.logs == [log_id] and summary.counts["glare"] > 0
    gate = toolset.get("check_alignment").invoke({"dataset": summary.sha256}, ctx)
    assert gate.ok, gate.summary
    trained = toolset.get("train_policy").invoke(
        TrainPolicyRequest(dataset=summary.sha256[:12], config=FinetuneConfig(epochs=2)), ctx
    )
    assert trained.version == "v2" and trained.parent == "v1"
    assert ctx.blobs.exists(trained.blob_sha256) and trained.blob_sha256 == trained.weights_sha256

    store = PolicyStore(ctx.catalog)
    v2 = store.get("v2")
    assert v2.dataset_sha256 == summary.sha256 and v2.parent == "v1"
    assert v2.code_version == code_version()[0] and v2.config["epochs"] == 2
    lineage = json.loads(runner.invoke(app, ["policies", "lineage", "v2", "--json"]).stdout)
    assert lineage["ancestors"] == ["v1"]
    assert [log["log_id"] for log in lineage["logs"]] == [log_id]
    assert {(lab["value"], lab["labeler_version"]) for lab in lineage["labels"]} == {
        ("glare", "emb-1")
    }
    assert [lv["version"] for lv in lineage["labeler_versions"]] == ["emb-1"]
    assert lineage["sim_packs"] == summary.sim_packs

    listed = json.loads(runner.invoke(app, ["policies", "list", "--json"]).stdout)
    assert [p["version"] for p in listed] == ["v1", "v2"]
    shown = json.loads(runner.invoke(app, ["policies", "show", "v2", "--json"]).stdout)
    assert shown["weights_sha256"] == trained.weights_sha256
    diff = json.loads(runner.invoke(app, ["policies", "diff", "v1", "v2", "--json"]).stdout)
    assert diff["fields"]["parent"] == [None, "v1"] and "val_accuracy" in diff["metrics"]
    checked = runner.invoke(app, ["dataset", "check", "--dataset", summary.sha256, "--json"])
    assert checked.exit_code == 0 and json.loads(checked.stdout)[0]["ok"]
    evaluated = runner.invoke(
        app, ["eval", "perception", "--candidate", "v2", "--frames", "8", "--worlds", "2", "--json"]
    )
    assert evaluated.exit_code == 0, evaluated.stderr
    scores = json.loads(evaluated.stdout)
    assert scores["frames"] == 8 and scores["candidate"]["version"] == "v2"
    cli = runner.invoke(
        app, ["train", "--dataset", summary.sha256[:12], "--from", "v2", "--epochs", "1", "--json"]
    )
    assert cli.exit_code == 0, cli.stderr
    v3 = json.loads(cli.stdout)
    assert (v3["version"], v3["parent"], v3["epochs_run"]) == ("v3", "v2", 1)
    lineage = json.loads(runner.invoke(app, ["policies", "lineage", "v3", "--json"]).stdout)
    assert lineage["ancestors"] == ["v2", "v1"]
    ctx.catalog.close()


def test_bad_data_stops_training_before_any_compute(logs):
    ingest_and_label(logs[1])
    ctx = ToolContext(get_settings())
    request = PlanTrainingRequest(
        findings=[Finding(cause="shadow"), Finding(cause="glare")], epochs=1, throughput_fps=1e6
    )
    plan = plan_training_tool(request, ctx)
    assert plan.train and plan.dataset is not None and not plan.needs_approval
    summary = build_dataset_tool(plan.dataset, ctx)
    gate = check_alignment_tool(AlignmentRequest(dataset=summary.sha256), ctx)
    assert not gate.ok and "gap of 2.100 s" in gate.summary
    with pytest.raises(AlignmentError, match="/scan"):
        toolset.get("train_policy").invoke({"dataset": summary.sha256}, ctx)
    assert PolicyStore(ctx.catalog).list() == []
    result = runner.invoke(app, ["train", "--dataset", summary.sha256[:12]])
    assert result.exit_code == 2 and "alignment gate" in result.stderr
    checked = runner.invoke(app, ["dataset", "check", "--dataset", summary.sha256[:12]])
    assert checked.exit_code == 1 and "gap of 2.100 s" in checked.stdout
    args = ["--label", "glare", "--label", "hard_shadow", "--name", "perception-glare-hard_shadow"]
    built = runner.invoke(app, ["dataset", "build", *args, "--json"])
    assert built.exit_code == 0 and json.loads(built.stdout)["sha256"] == summary.sha256
    ctx.catalog.close()


def test_planner_declines_non_perception_causes_and_prices_big_jobs(logs):
    ctx = ToolContext(get_settings())
    causes = [Finding(cause="oil"), Finding(cause="latency")]
    none = plan_training_tool(PlanTrainingRequest(findings=causes), ctx)
    assert not none.train and none.dataset is None and "not perception" in none.reason
    big = plan_training_tool(
        PlanTrainingRequest(
            findings=[Finding(cause="glare")],
            worlds=[WORLD],
            sim_frames=100_000,
            epochs=10,
            throughput_fps=100.0,
        ),
        ctx,
    )
    assert big.needs_approval and big.estimated_seconds == pytest.approx(10_000.0)
    glare = PlanTrainingRequest(findings=[Finding(cause="glare")], worlds=[WORLD])
    measured = plan_training_tool(glare, ctx)
    assert measured.throughput_source == "measured" and measured.throughput_fps > 0
    ctx.catalog.close()


def test_unknown_version_and_dataset_are_clear_errors():
    result = runner.invoke(app, ["policies", "show", "v9"])
    assert result.exit_code == 2 and "unknown policy version 'v9'" in result.stderr
    result = runner.invoke(app, ["train", "--dataset", "abcd1234"])
    assert result.exit_code == 2 and "abcd1234" in result.stderr
    result = runner.invoke(app, ["dataset", "check"])
    assert result.exit_code == 2 and "nothing to check" in result.stderr


def test_dataset_request_round_trips_as_tool_json():
    request = DatasetRequest(worlds=[WORLD], sim_frames=3)
    spec = toolset.get("build_dataset")
    assert spec.parse(request.model_dump_json()) == request
    assert "worlds" in spec.openai_schema()["function"]["parameters"]["properties"]
