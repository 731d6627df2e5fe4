"""Run the alignment gate over every log a dataset takes frames from, before any training."""

from __future__ import annotations

from robotops.memory.blobs import BlobStore
from robotops.settings import DatasetSettings
from robotops.tools.datasets.alignment import AlignmentError, AlignmentReport, check_alignment
from robotops.tools.datasets.models import DatasetManifest


def dataset_reports(
    manifest: DatasetManifest, blobs: BlobStore, settings: DatasetSettings | None = None
) -> list[AlignmentReport]:
    """One report per log of the dataset, its labels checked against its frames."""
    labels: dict[str, list[tuple[str, int]]] = {}
    for lab in manifest.labels:
        labels.setdefault(lab.segment_id.split(":", 1)[0], []).append((lab.value, lab.frame_ns))
    return [
        check_alignment(blobs.path_of(log_id), settings, log_id, labels.get(log_id[:16], []))
        for log_id in manifest.logs
    ]


def gate_dataset(
    manifest: DatasetManifest, blobs: BlobStore, settings: DatasetSettings | None = None
) -> list[AlignmentReport]:
    """The dataset's reports, when every log passed.

    Raises:
        AlignmentError: any log failed; every failing report is attached.
    """
    reports = dataset_reports(manifest, blobs, settings)
    bad = [r for r in reports if not r.ok]
    if bad:
        raise AlignmentError(bad)
    return reports
