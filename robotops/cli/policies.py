"""``robotops policies ...``: the baseline and the versions that exist."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from robotops.cli.base import JsonOpt, clean_errors, console, emit_json, policies_app


@policies_app.command("train-baseline")
@clean_errors
def train_baseline_cmd(
    frames: Annotated[int, typer.Option(help="Clean frames to render.")] = 2400,
    seed: Annotated[int, typer.Option(help="Seed for rendering and training.")] = 0,
    epochs: Annotated[
        int, typer.Option(help="Maximum epochs (early stopping on validation).")
    ] = 12,
    out: Annotated[Path, typer.Option(help="Where to write v1.pt and v1.json.")] = Path(
        "policies/weights"
    ),
    as_json: JsonOpt = False,
) -> None:
    """Reproduce the baseline v1: perception trained on clean frames only (no glare, no shadow)."""
    from robotops.sim.baseline import train_baseline

    with console.status(f"rendering {frames} clean frames and training"):
        path, card = train_baseline(out, frames, seed, epochs)
    emit_json(card) if as_json else typer.echo(
        f"{path}  sha256 {card.weights_sha256[:12]}  {card.metrics}"
    )


def _policy_store():
    from robotops.memory.catalog import Catalog
    from robotops.memory.policies import PolicyStore
    from robotops.settings import get_settings

    return PolicyStore(Catalog.from_settings(get_settings()))


@policies_app.command("list")
@clean_errors
def list_cmd(as_json: JsonOpt = False) -> None:
    """List policy versions: the ones shipped with robotops and the ones trained here."""
    from robotops.policies.registry import BUNDLED_DIR, card_json, load_card

    rows = [
        {**card_json(load_card(p)), "source": "bundled", "path": str(p)}
        for p in sorted(BUNDLED_DIR.glob("*.pt"))
    ]
    store = _policy_store()
    try:
        known = {r["version"] for r in rows}
        for v in store.list():
            if v.version not in known:
                rows.append({**v.model_dump(mode="json"), "source": "trained", "seed": None})
    finally:
        store.catalog.close()
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        typer.echo(
            f"{r['version']}  {r['weights_sha256'][:12]}  parent={r['parent']}  "
            f"[{r['source']}]  {r['command']}"
        )


@policies_app.command("show")
@clean_errors
def show_cmd(
    version: Annotated[str, typer.Argument(help="Policy version, e.g. v2.")],
    as_json: JsonOpt = False,
) -> None:
    """Show one version: parent, dataset, code version, config, metrics, weights hash."""
    from robotops.settings import get_settings
    from robotops.tools.datasets.train import ensure_registered

    store = _policy_store()
    try:
        record = ensure_registered(version, get_settings().data_dir, store)
    finally:
        store.catalog.close()
    if as_json:
        emit_json(record)
        return
    for key, value in record.model_dump(mode="json").items():
        typer.echo(f"{key:15s} {value}")


@policies_app.command("diff")
@clean_errors
def diff_cmd(
    a: Annotated[str, typer.Argument(help="First version.")],
    b: Annotated[str, typer.Argument(help="Second version.")],
    as_json: JsonOpt = False,
) -> None:
    """What differs between two versions; metric deltas are B - A."""
    from robotops.settings import get_settings
    from robotops.tools.datasets.train import ensure_registered

    store = _policy_store()
    try:
        for v in (a, b):
            ensure_registered(v, get_settings().data_dir, store)
        diff = store.diff(a, b)
    finally:
        store.catalog.close()
    if as_json:
        emit_json(diff)
        return
    for key, (va, vb) in diff.fields.items():
        typer.echo(f"{key:15s} {va}  ->  {vb}")
    for key, delta in diff.metrics.items():
        typer.echo(f"{key:15s} {delta:+.4f}")


@policies_app.command("lineage")
@clean_errors
def lineage_cmd(
    version: Annotated[str, typer.Argument(help="Policy version, e.g. v2.")],
    as_json: JsonOpt = False,
) -> None:
    """Which logs, labels and labeler versions went into a version, and its ancestors."""
    from robotops.memory.blobs import LocalBlobStore
    from robotops.settings import get_settings
    from robotops.tools.datasets.store import load_dataset
    from robotops.tools.datasets.train import ensure_registered

    store = _policy_store()
    blobs = LocalBlobStore.from_settings(get_settings())
    try:
        ensure_registered(version, get_settings().data_dir, store)
        lineage = store.lineage(version, lambda sha: load_dataset(sha, store.catalog, blobs))
    finally:
        store.catalog.close()
    if as_json:
        emit_json(lineage)
        return
    p = lineage.policy
    typer.echo(f"{p.version}  weights {p.weights_sha256[:12]}  ancestors {lineage.ancestors}")
    typer.echo(f"dataset {lineage.dataset_sha256}")
    for log in lineage.logs:
        typer.echo(f"  log {log.log_id[:12]}  robot {log.robot_id}  {log.source_path}")
    for lab in lineage.labels:
        typer.echo(f"  label {lab.value} x{lab.count} by {lab.labeler_version}")
    for lv in lineage.labeler_versions:
        typer.echo(f"  labeler {lv.version} ({lv.backend}, {lv.model})")
    for pack in lineage.sim_packs:
        typer.echo(f"  sim frames {pack[:12]}")
