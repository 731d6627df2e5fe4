"""``robotops policies ...``: the baseline and the versions that exist."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from robotops.cli import JsonOpt, clean_errors, console, emit_json, policies_app


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
    from robotops.policies.baseline import train_baseline

    with console.status(f"rendering {frames} clean frames and training"):
        path, card = train_baseline(out, frames, seed, epochs)
    emit_json(card) if as_json else typer.echo(
        f"{path}  sha256 {card.weights_sha256[:12]}  {card.metrics}"
    )


@policies_app.command("list")
@clean_errors
def list_cmd(as_json: JsonOpt = False) -> None:
    """List the policy versions shipped with robotops."""
    from robotops.policies.registry import BUNDLED_DIR, load_card

    cards = [load_card(p) for p in sorted(BUNDLED_DIR.glob("*.pt"))]
    if as_json:
        emit_json(cards)
        return
    for c in cards:
        typer.echo(f"{c.version}  {c.weights_sha256[:12]}  parent={c.parent}  {c.command}")
