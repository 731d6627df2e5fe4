"""``robotops train``, ``robotops dataset ...`` and ``robotops eval perception``: curated
datasets, the alignment gate, fine-tuning, and the perception eval."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from robotops.cli.base import JsonOpt, app, clean_errors, console, emit_json
from robotops.cli.eval import eval_app
from robotops.errors import ConfigError, InvalidRequestError
from robotops.settings import get_settings

dataset_app = typer.Typer(
    help="Training datasets: build from labels and searches, check alignment.",
    no_args_is_help=True,
)
app.add_typer(dataset_app, name="dataset")


def _stores():
    from robotops.memory.blobs import LocalBlobStore
    from robotops.memory.catalog import Catalog

    settings = get_settings()
    return settings, Catalog.from_settings(settings), LocalBlobStore.from_settings(settings)


def _worlds(path: Path | None) -> list:
    from pydantic import TypeAdapter, ValidationError

    from robotops.sim.world.specs import WorldSpec

    if path is None:
        return []
    try:
        return TypeAdapter(list[WorldSpec]).validate_json(path.read_text())
    except (OSError, ValidationError) as exc:
        raise ConfigError(f"{path}: not a JSON list of world specs ({exc})") from exc


@app.command("train")
@clean_errors
def train_cmd(
    dataset: Annotated[str, typer.Option(help="Dataset sha256 (or prefix) or manifest JSON.")],
    parent: Annotated[str, typer.Option("--from", help="Version to fine-tune.")] = "v1",
    version: Annotated[str | None, typer.Option(help="New version name (default next vN).")] = None,
    epochs: Annotated[int, typer.Option(help="Maximum epochs (early stopping).")] = 20,
    seed: Annotated[int, typer.Option(help="Training seed.")] = 0,
    lr: Annotated[float, typer.Option(help="Adam learning rate.")] = 1e-3,
    device: Annotated[str, typer.Option(help="cpu, cuda or auto.")] = "cpu",
    pos_weight: Annotated[float, typer.Option(help="Loss weight of obstacle frames.")] = 2.0,
    as_json: JsonOpt = False,
) -> None:
    """Fine-tune a perception version on a dataset: alignment gate first, checkpoints every
    epoch (rerun the same command to resume after a kill), early stopping on validation."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from robotops.policies.finetune import FinetuneConfig
    from robotops.tools.datasets.train import TrainPolicyRequest, train_policy_version

    settings, catalog, blobs = _stores()
    request = TrainPolicyRequest(
        dataset=dataset,
        parent=parent,
        version=version,
        config=FinetuneConfig(
            epochs=epochs, seed=seed, lr=lr, device=device, pos_weight=pos_weight
        ),
    )
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[loss]}"))
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=as_json) as bar:
        task = bar.add_task(f"fine-tuning {parent}", total=epochs, loss="")

        def progress(epoch: int, train_loss: float, val_loss: float) -> None:
            loss = f"train {train_loss:.4f} val {val_loss:.4f}"
            bar.update(task, completed=epoch, loss=loss)

        try:
            result = train_policy_version(
                request, catalog, blobs, settings.data_dir, settings.datasets, progress
            )
        finally:
            catalog.close()
    if as_json:
        emit_json(result)
        return
    typer.echo(
        f"{result.version} (from {result.parent}) on dataset {result.dataset_sha256[:12]}: "
        f"{result.epochs_run} epochs in {result.seconds:.1f} s"
        f"{' (resumed)' if result.resumed else ''}, val accuracy "
        f"{result.metrics['val_accuracy']:.3f}, weights {result.weights_sha256[:12]} -> "
        f"{result.weights_path}"
    )


@dataset_app.command("build")
@clean_errors
def build_cmd(
    label: Annotated[
        list[str] | None, typer.Option(help="Hazard label to select (repeat).")
    ] = None,
    log: Annotated[list[str] | None, typer.Option(help="Only these logs (repeat).")] = None,
    search: Annotated[str | None, typer.Option(help="Add the hits of this search.")] = None,
    worlds: Annotated[
        Path | None, typer.Option(help="JSON list of world specs to render frames in.")
    ] = None,
    sim_frames: Annotated[int, typer.Option(help="Simulator frames to render.")] = 0,
    normal_ratio: Annotated[float, typer.Option(help="Normal frames per hazard frame.")] = 1.0,
    stride: Annotated[int, typer.Option(help="Keep every k-th camera frame.")] = 1,
    seed: Annotated[int, typer.Option(help="Seed for balancing, splits, rendering.")] = 0,
    name: Annotated[str, typer.Option(help="Dataset name.")] = "perception",
    as_json: JsonOpt = False,
) -> None:
    """Build and store a perception dataset (targets from the range teacher, split by robot
    and time block) and print its sha256."""
    from robotops.tools.context import ToolContext
    from robotops.tools.datasets.build import DatasetRequest
    from robotops.tools.datasets.tools import build_dataset_tool

    request = DatasetRequest(
        name=name,
        labels=label if label is not None else ["glare", "hard_shadow"],
        log_ids=log or None,
        search=search,
        worlds=_worlds(worlds),
        sim_frames=sim_frames,
        normal_ratio=normal_ratio,
        frame_stride=stride,
        seed=seed,
    )
    ctx = ToolContext(get_settings(), actor="cli")
    try:
        with console.status("building the dataset"):
            summary = build_dataset_tool(request, ctx)
    finally:
        ctx.close()
    if as_json:
        emit_json(summary)
        return
    typer.echo(f"{summary.sha256}  {summary.frames} frames  {json.dumps(summary.counts)}")


@dataset_app.command("check")
@clean_errors
def check_cmd(
    dataset: Annotated[str | None, typer.Option(help="Check every log of this dataset.")] = None,
    log: Annotated[list[str] | None, typer.Option(help="A log id or MCAP path (repeat).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the alignment gate (clock offset and drift, motion lag, gaps, duplicates,
    reordering, stray labels); exit 1 when any log fails."""
    from robotops.tools.datasets.alignment import AlignmentReport, check_alignment
    from robotops.tools.datasets.gate import dataset_reports
    from robotops.tools.datasets.store import load_dataset

    if not dataset and not log:
        raise InvalidRequestError("nothing to check: give --dataset and/or --log")
    settings, catalog, blobs = _stores()
    reports: list[AlignmentReport] = []
    try:
        if dataset:  # the dataset's labels are checked against its frames too
            manifest = load_dataset(dataset, catalog, blobs)
            reports += dataset_reports(manifest, blobs, settings.datasets)
        for ref in log or []:
            path, name = Path(ref), Path(ref).name
            if not path.exists():
                name = catalog.get_log(ref).id
                path = blobs.path_of(name)
            reports.append(check_alignment(path, settings.datasets, name))
    finally:
        catalog.close()
    if as_json:
        emit_json(reports)
    else:
        for r in reports:
            typer.echo(r.text())
    if any(not r.ok for r in reports):
        raise typer.Exit(1)


@eval_app.command("perception")
@clean_errors
def perception_cmd(
    candidate: Annotated[str, typer.Option(help="Version to evaluate.")] = "v2",
    baseline: Annotated[str, typer.Option(help="Version to compare with.")] = "v1",
    frames: Annotated[int, typer.Option(help="Held-out frames to render.")] = 600,
    seed: Annotated[int, typer.Option(help="Rendering seed (not a training seed).")] = 9_001,
    worlds_seed: Annotated[int, typer.Option(help="Seed placing the held-out hazards.")] = 200,
    worlds: Annotated[
        int, typer.Option(help="Robots of the held-out shift (hazard ones kept).")
    ] = 8,
    threshold: Annotated[
        float | None, typer.Option(help="Stop probability (default the controller's).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Phantom-obstacle rate on glare and shadow frames and real-obstacle recall, baseline vs
    candidate, on frames rendered in held-out worlds."""
    from robotops.evals.perception import default_eval_worlds, evaluate_perception
    from robotops.policies.finetune import resolve_weights

    data_dir = get_settings().data_dir
    with console.status(f"rendering {frames} held-out frames"):
        result = evaluate_perception(
            resolve_weights(candidate, data_dir),
            resolve_weights(baseline, data_dir),
            default_eval_worlds(worlds_seed, worlds),
            frames,
            seed,
            threshold,
        )
    if as_json:
        emit_json(result)
        return
    for s in (result.baseline, result.candidate):
        console.print(
            f"{s.version}: phantom rate glare {_pct(s.phantom_rate_glare)}, shadow "
            f"{_pct(s.phantom_rate_shadow)}, both {_pct(s.phantom_rate)}; recall {_pct(s.recall)}"
        )
    console.print(
        f"{result.frames} frames ({result.glare_frames} glare, {result.shadow_frames} shadow, "
        f"{result.obstacle_frames} real obstacles); phantom reduction "
        f"{_pct(result.phantom_reduction)}; goals met: {result.goals_met}"
    )


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"
