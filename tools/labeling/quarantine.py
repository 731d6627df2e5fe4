"""Quarantine a labeler version: its labels stop feeding search and future datasets.

A labeler release that turns out to be wrong silently poisons everything built on its labels.
Quarantining it keeps its labels as evidence but takes them out of service: the segments it
labeled are re-described and re-indexed from the labels still in force, any dataset built from
now on leaves them out (:meth:`LabelStore.active_labels`, and
:meth:`LabelStore.record_dataset` refuses the version), and the datasets already built from it
are listed so that someone can review or rebuild them.
"""

from __future__ import annotations

from robotops.errors import RobotOpsError
from robotops.tools.labeling.models import LabelerVersionInfo, QuarantineRequest, QuarantineResult
from robotops.tools.labeling.run import LabelDeps
from robotops.tools.labeling.sync import SyncDeps, sync_segments


def quarantine_labeler(request: QuarantineRequest, deps: LabelDeps) -> QuarantineResult:
    """Take a labeler version out of service and report what it had already fed.

    Use it when a labeler version is found to be wrong (a bad model, a bad prompt). Safe to
    repeat: a second call changes nothing and reports the same datasets.

    Raises:
        NotFoundError: no labeler version matches. InvalidRequestError: the name is ambiguous.
    """
    version = deps.store.get_version(request.labeler_version).version
    changed = deps.store.set_quarantined(version, request.reason)
    segments = deps.store.segments_labeled_by(version)
    counts = deps.store.counts(version)
    notes = []
    updated = 0
    drop = getattr(deps.index, "drop_labeler", None)
    try:
        if drop is not None:
            drop(version)  # also reaches segments the catalog no longer holds
        updated = sync_segments(
            segments, SyncDeps(deps.catalog, deps.store, deps.blobs, deps.vocabulary, deps.index)
        )
    except (RobotOpsError, ValueError, OSError) as exc:
        notes.append(
            f"the version is quarantined in the catalog, but re-describing or "
            f"re-indexing its segments failed ({exc}); run `robotops labels reindex`"
        )
    return QuarantineResult(
        labeler_version=version,
        already=not changed,
        labels_hidden=counts["labels"],
        segments_updated=updated,
        datasets_affected=deps.store.datasets_built_from(version),
        notes=notes,
    )


def list_labelers(deps: LabelDeps) -> list[LabelerVersionInfo]:
    """Every labeler version the catalog knows, with its counts, quarantine and datasets.

    Use it to see which labelers made the labels in use and which are quarantined.
    """
    out = []
    for v in deps.store.versions():
        counts = deps.store.counts(v.version)
        out.append(
            LabelerVersionInfo(
                version=v.version,
                labeler_id=v.labeler_id,
                backend=v.backend,
                model=v.model,
                vocabulary_sha256=v.vocabulary_sha,
                created_at=v.created_at,
                quarantined=v.quarantined,
                quarantined_at=v.quarantined_at,
                quarantine_reason=v.quarantine_reason,
                datasets=deps.store.datasets_built_from(v.version),
                **counts,
            )
        )
    return out


def reindex_labels(deps: LabelDeps) -> int:
    """Re-describe and re-index every labeled segment from the labels in force.

    Use it after a vector index was rebuilt or lost, or when a run or a quarantine reported
    that the index could not be updated. Returns how many descriptions changed.
    """
    sync = SyncDeps(deps.catalog, deps.store, deps.blobs, deps.vocabulary, deps.index)
    return sync_segments(deps.store.labeled_segments(), sync)
