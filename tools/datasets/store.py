"""Datasets in the stores: the manifest as a blob, and lineage edges to what it was made from.

A dataset's id is the sha256 of its manifest's canonical bytes, which are exactly what the blob
store keeps. The catalog records the dataset as an artifact made from its logs and sim frame
packs, and (through :class:`LabelStore`) from the labeler versions whose labels selected it.
"""

from __future__ import annotations

import json
from pathlib import Path

from robotops import __version__
from robotops.errors import InvalidRequestError, NotFoundError
from robotops.memory.blobs import BlobStore
from robotops.memory.catalog import Catalog
from robotops.memory.labels import LabelStore
from robotops.memory.lineage import record_artifact
from robotops.tools.datasets.models import DatasetManifest

TOOL = "robotops.tools.datasets"


def save_dataset(manifest: DatasetManifest, catalog: Catalog, blobs: BlobStore) -> str:
    """Store the manifest and record its provenance; returns the dataset's sha256."""
    data = manifest.canonical_bytes()
    sha = blobs.put_bytes(data)
    parents = [(log, "frames-from") for log in manifest.logs]
    parents += [(p.blob_sha256, "frames-from") for p in manifest.sim_packs]
    with catalog.transaction() as session:
        for pack in manifest.sim_packs:
            record_artifact(
                session,
                sha256=pack.blob_sha256,
                kind="sim-frames",
                produced_by=TOOL,
                tool_version=__version__,
                uri=str(blobs.path_of(pack.blob_sha256)),
                meta={"frames": pack.frames, "seed": pack.seed, "worlds": pack.worlds_sha256},
            )
        record_artifact(
            session,
            sha256=sha,
            kind="dataset",
            produced_by=TOOL,
            tool_version=__version__,
            uri=str(blobs.path_of(sha)),
            size_bytes=len(data),
            parents=parents,
            meta={"name": manifest.name, "frames": len(manifest.frames), **manifest.counts()},
        )
    if manifest.labeler_versions:
        LabelStore(catalog).record_dataset(sha, manifest.labeler_versions, manifest.name)
    return sha


def load_dataset(ref: str, catalog: Catalog, blobs: BlobStore) -> DatasetManifest:
    """A dataset by sha256 (or a prefix of it) or by the path of a manifest JSON file.

    Raises:
        NotFoundError: no such dataset.
        InvalidRequestError: the stored bytes are not the dataset they claim to be.
    """
    path = Path(ref)
    if path.suffix == ".json" and path.is_file():
        return DatasetManifest.model_validate_json(path.read_text())
    artifact = catalog.get_artifact(ref)
    if artifact.kind != "dataset":
        raise NotFoundError("dataset", ref)
    with blobs.open(artifact.sha256) as stream:
        manifest = DatasetManifest.model_validate(json.loads(stream.read()))
    if manifest.sha256 != artifact.sha256:
        raise InvalidRequestError(
            f"dataset {artifact.sha256[:12]}: stored manifest hashes to {manifest.sha256[:12]}"
        )
    return manifest
