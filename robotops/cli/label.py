"""``robotops label`` and ``robotops labels ...``: label segments, manage labeler versions.

Also registers ``robotops eval labeler`` on the eval group.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from robotops.cli.base import JsonOpt, app, clean_errors, console, emit_json
from robotops.cli.eval import eval_app
from robotops.settings import get_settings

if TYPE_CHECKING:
    from robotops.tools.labeling.run import LabelDeps

labels_app = typer.Typer(
    help="Labeler versions: list, quarantine, train the embedded one.", no_args_is_help=True
)
app.add_typer(labels_app, name="labels")


def _deps(with_index: bool = True) -> LabelDeps:
    from robotops.memory.vectors import VectorIndex
    from robotops.tools.labeling.run import LabelDeps

    settings = get_settings()
    index = VectorIndex.from_settings(settings) if with_index else None
    return LabelDeps.from_settings(settings, index=index)


@app.command("label")
@clean_errors
def label_cmd(
    backend: Annotated[
        str | None, typer.Option(help="embedded (default, no download), clip or openai.")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Only segments ending after: epoch ns, ISO time (UTC) or age (2h)."),
    ] = None,
    logs: Annotated[
        str | None, typer.Option(help="Comma list of log ids (or prefixes) to label.")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Label at most this many segments.")] = None,
    no_index: Annotated[
        bool, typer.Option("--no-index", help="Only the catalog; leave the vector index alone.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Label camera segments not yet labeled by this labeler version (incremental)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from robotops.cli.search import parse_since
    from robotops.tools.labeling.models import LabelRequest
    from robotops.tools.labeling.run import label_segments

    request = LabelRequest(
        backend=backend,
        since_ns=parse_since(since) if since else None,
        log_ids=[x.strip() for x in logs.split(",") if x.strip()] if logs else [],
        limit=limit,
    )
    deps = _deps(with_index=not no_index)
    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("labeling segments", total=None)
        result = label_segments(
            request,
            deps,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    if as_json:
        emit_json(result)
        return
    typer.echo(
        f"{result.labeler_version}  ({result.backend}, {result.model[:60]})\n"
        f"labeled {result.labeled} of {result.pending} pending segments, {result.failed} "
        f"failed, in {result.seconds:.1f} s"
    )
    for name, n in result.labels.items():
        typer.echo(f"  {name:18s} {n}")
    for line in result.errors:
        typer.echo(f"  error: {line}")
    for line in result.notes:
        typer.echo(f"  note: {line}")


@labels_app.command("list")
@clean_errors
def list_cmd(as_json: JsonOpt = False) -> None:
    """Every labeler version, with its labels, errors, quarantine and datasets built from it."""
    from robotops.tools.labeling.quarantine import list_labelers

    infos = list_labelers(_deps(with_index=False))
    if as_json:
        emit_json(infos)
        return
    if not infos:
        typer.echo("no labeler versions yet: run `robotops label`")
    for v in infos:
        flag = "QUARANTINED  " if v.quarantined else ""
        typer.echo(
            f"{flag}{v.version}  {v.backend}  labels {v.labels}  segments {v.segments}  "
            f"errors {v.errors}  datasets {len(v.datasets)}  {v.model[:60]}"
        )


@labels_app.command("quarantine")
@clean_errors
def quarantine_cmd(
    labeler_version: Annotated[str, typer.Argument(help="Version (or a unique prefix).")],
    reason: Annotated[str, typer.Option(help="Why, for the record.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Take a labeler version's labels out of search and out of datasets built from now on."""
    from robotops.tools.labeling.models import QuarantineRequest
    from robotops.tools.labeling.quarantine import quarantine_labeler

    result = quarantine_labeler(
        QuarantineRequest(labeler_version=labeler_version, reason=reason), _deps()
    )
    if as_json:
        emit_json(result)
        return
    state = "was already quarantined" if result.already else "is quarantined"
    typer.echo(
        f"{result.labeler_version} {state}: {result.labels_hidden} labels out of service, "
        f"{result.segments_updated} segments re-described and re-indexed"
    )
    if result.datasets_affected:
        typer.echo("datasets already built from it (review or rebuild):")
        for sha in result.datasets_affected:
            typer.echo(f"  {sha}")
    else:
        typer.echo("no dataset was built from it")
    for line in result.notes:
        typer.echo(f"note: {line}")


@labels_app.command("reindex")
@clean_errors
def reindex_cmd(as_json: JsonOpt = False) -> None:
    """Re-describe and re-index every labeled segment from the labels in force."""
    from robotops.tools.labeling.quarantine import reindex_labels

    deps = _deps()
    changed = reindex_labels(deps)
    segments = len(deps.store.labeled_segments())
    if as_json:
        emit_json({"segments": segments, "descriptions_changed": changed})
        return
    typer.echo(f"{segments} labeled segments re-indexed, {changed} descriptions changed")


@labels_app.command("train-embedded")
@clean_errors
def train_embedded_cmd(
    frames: Annotated[int, typer.Option(help="Simulated frames to render.")] = 3200,
    seed: Annotated[int, typer.Option(help="Seed for rendering and training.")] = 0,
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 30,
    workers: Annotated[int, typer.Option(help="Rendering processes; 0 = CPUs.")] = 0,
    out: Annotated[Path, typer.Option(help="Where to write the weights and card.")] = Path(
        "policies/labeler_weights"
    ),
    as_json: JsonOpt = False,
) -> None:
    """Reproduce the embedded labeler's weights from simulated frames (seeded)."""
    from robotops.tools.labeling.train import train_embedded

    with console.status("rendering and training") as status:
        path, card = train_embedded(
            out, frames, seed, epochs, workers, progress=lambda msg: status.update(msg)
        )
    if as_json:
        emit_json(card)
        return
    typer.echo(f"{path}  sha256 {card.weights_sha256[:12]}  dataset {card.dataset_sha256[:12]}")
    for name, m in card.metrics.items():
        typer.echo(f"  {name:18s} val F1 {m['f1']:.3f}  threshold {m['threshold']:.2f}")


@eval_app.command("labeler")
@clean_errors
def eval_labeler_cmd(
    frames: Annotated[int, typer.Option(help="Clean frames from shift worlds.")] = 800,
    degraded: Annotated[int, typer.Option(help="Frames for the degradation labels.")] = 320,
    seed: Annotated[int, typer.Option(help="Seed (never used in training).")] = 777,
    search: Annotated[
        bool, typer.Option(help="Also measure search recall@10 on a log of unseen frames.")
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    """Precision, recall and F1 per label of the embedded labeler against simulator truth."""
    from robotops.evals.labeler import evaluate, render_report

    with console.status("rendering unseen frames and labeling them"):
        result = evaluate(frames=frames, degraded=degraded, seed=seed, search=search)
    emit_json(result) if as_json else typer.echo(render_report(result))
