"""Train a new policy version from a stored dataset: gate, decode, fine-tune, store, register.

The order is the point: the alignment gate runs before any frame is decoded or any epoch is
spent, and the result is recorded everywhere lineage needs it (weights in the blob store, the
version in the catalog with edges to its dataset and parent).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field

from robotops.errors import InvalidRequestError, NotFoundError
from robotops.memory.blobs import BlobStore
from robotops.memory.catalog import Catalog
from robotops.memory.policies import PolicyStore, PolicyVersion
from robotops.policies.finetune import (
    FinetuneConfig,
    FinetuneResult,
    finetune,
    policy_dir,
    resolve_weights,
)
from robotops.policies.registry import BUNDLED_DIR, load_card
from robotops.settings import DatasetSettings
from robotops.tools.datasets.alignment import AlignmentReport
from robotops.tools.datasets.frames import load_frames
from robotops.tools.datasets.gate import gate_dataset
from robotops.tools.datasets.store import load_dataset

_VERSION_RE = re.compile(r"^v(\d+)$")


class TrainPolicyRequest(BaseModel):
    """Fine-tune ``parent`` on a stored dataset into a new version."""

    dataset: str = Field(description="dataset sha256 (or prefix), or a manifest JSON path")
    parent: str = Field("v1", description="the version to start from")
    version: str | None = Field(None, description="the new version's name; default next vN")
    config: FinetuneConfig = FinetuneConfig()


class TrainPolicyResult(BaseModel):
    """The new version and how it was made."""

    version: str
    parent: str
    dataset_sha256: str
    weights_sha256: str
    weights_path: str
    blob_sha256: str
    metrics: dict[str, float]
    epochs_run: int
    seconds: float
    resumed: bool
    alignment: list[AlignmentReport]


def next_version(data_dir: Path, store: PolicyStore) -> str:
    """One more than the highest ``vN`` known (bundled, trained on disk, or registered)."""
    names = {p.stem for d in (BUNDLED_DIR, policy_dir(data_dir)) for p in d.glob("*.pt")}
    names |= {p.version for p in store.list()}
    numbers = [int(m.group(1)) for n in names if (m := _VERSION_RE.match(n))]
    return f"v{max(numbers, default=0) + 1}"


def ensure_registered(version: str, data_dir: Path, store: PolicyStore) -> PolicyVersion:
    """The version's catalog record, created from its card (e.g. for the bundled v1)."""
    try:
        return store.get(version)
    except NotFoundError:
        path = resolve_weights(version, data_dir)
        return store.register(load_card(path), path)


def train_policy_version(
    request: TrainPolicyRequest,
    catalog: Catalog,
    blobs: BlobStore,
    data_dir: Path,
    settings: DatasetSettings | None = None,
    progress: Callable[[int, float, float], None] | None = None,
) -> TrainPolicyResult:
    """Gate the dataset's logs, fine-tune, put the weights in the blob store, register.

    Raises:
        AlignmentError: a log of the dataset failed the alignment gate (nothing trained).
        NotFoundError: unknown dataset or parent version.
        InvalidRequestError: the dataset cannot be split or decoded, or the version exists.
    """
    store = PolicyStore(catalog)
    manifest = load_dataset(request.dataset, catalog, blobs)
    reports = gate_dataset(manifest, blobs, settings)
    parent = ensure_registered(request.parent, data_dir, store)
    version = request.version or next_version(data_dir, store)
    if version == request.parent:
        raise InvalidRequestError(f"the new version must differ from its parent {version}")
    frames = load_frames(manifest, blobs)
    command = (
        f"robotops train --dataset {manifest.sha256[:16]} --from {request.parent} "
        f"--version {version} --epochs {request.config.epochs} --seed {request.config.seed}"
    )
    result: FinetuneResult = finetune(
        frames,
        manifest.sha256,
        resolve_weights(request.parent, data_dir),
        version,
        data_dir,
        request.config,
        progress,
        command,
    )
    blob = blobs.put_file(Path(result.weights_path))
    store.register(
        result.card,
        Path(result.weights_path),
        config=request.config.model_dump(),
        parent_sha256=parent.weights_sha256,
    )
    return TrainPolicyResult(
        version=version,
        parent=request.parent,
        dataset_sha256=manifest.sha256,
        weights_sha256=result.card.weights_sha256,
        weights_path=result.weights_path,
        blob_sha256=blob,
        metrics=result.card.metrics,
        epochs_run=result.report.epochs_run,
        seconds=result.seconds,
        resumed=result.resumed,
        alignment=reports,
    )
