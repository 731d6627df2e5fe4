"""Run the alignment gate over every log a dataset takes frames from, before any training."""

from __future__ import annotations

from robotops.memory.blobs import BlobStore
from robotops.settings import DatasetSettings
from robotops.tools.datasets.alignment import AlignmentError, AlignmentReport, check_alignment
from robotops.tools.datasets.models import DatasetManifest


def gate_dataset(
    manifest: DatasetManifest, blobs: BlobStore, settings: DatasetSettings | None = None
) -> list[AlignmentReport]:
    """One report per log of the dataset (labels checked against its frames).

    Raises:
        AlignmentError: any log failed; every failing report is attached.
    """
    reports = []
    for log_id in manifest.logs:
        labels = [
            (lab.value, lab.frame_ns)
            for lab in manifest.labels
            if lab.segment_id.split(":", 1)[0] == log_id[:16]
        ]
        reports.append(check_alignment(blobs.path_of(log_id), settings, log_id, labels))
    bad = [r for r in reports if not r.ok]
    if bad:
        raise AlignmentError(bad)
    return reports
