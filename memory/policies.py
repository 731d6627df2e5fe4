"""Policy versions in the catalog, with lineage down to the logs and labels they learned from.

One table, ``policy_versions``, on the catalog's declarative base: parent version, dataset hash,
code version (package version and git commit when there is one), training config, metrics and
the weights' hash in the blob store. Each version is also a ``policy`` artifact whose edges
point at its dataset (``trained-on``) and its parent's weights (``fine-tuned-from``), so
"which logs, labels and labeler versions went into v2" is a walk over the catalog.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import JSON, DateTime, String, Text, func, select
from sqlalchemy.orm import Mapped, mapped_column

if TYPE_CHECKING:
    from robotops.policies.registry import PolicyCard

from robotops import __version__
from robotops.errors import InvalidRequestError, NotFoundError
from robotops.memory.catalog import Base, Catalog, LogRow, utcnow
from robotops.memory.labels import LabelerVersionRow, LabelRow
from robotops.memory.lineage import record_artifact

TOOL = "robotops.memory.policies"


class PolicyVersionRow(Base):
    """One policy version and what it was made from."""

    __tablename__ = "policy_versions"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    parent: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    weights_sha256: Mapped[str] = mapped_column(String(64), index=True)
    dataset_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    code_version: Mapped[str] = mapped_column(String(64), default="")
    git_commit: Mapped[str] = mapped_column(String(64), default="")
    command: Mapped[str] = mapped_column(Text, default="")
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    path: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PolicyVersion(BaseModel):
    """A policy version as the catalog records it."""

    model_config = ConfigDict(from_attributes=True)

    version: str
    parent: str | None
    weights_sha256: str
    dataset_sha256: str | None
    code_version: str
    git_commit: str
    command: str
    config: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, float] = Field(default_factory=dict)
    path: str
    created_at: datetime

    @field_validator("created_at", mode="after")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class PolicyDiff(BaseModel):
    """What differs between two versions; metric deltas are b - a."""

    a: str
    b: str
    fields: dict[str, tuple[Any, Any]]
    metrics: dict[str, float]


class LogUse(BaseModel):
    log_id: str
    robot_id: str
    source_path: str


class LabelUse(BaseModel):
    labeler_version: str
    value: str
    count: int


class LabelerUse(BaseModel):
    version: str
    backend: str
    model: str
    quarantined: bool


class PolicyLineage(BaseModel):
    """Where a version comes from: its ancestors and what its dataset was made from."""

    policy: PolicyVersion
    ancestors: list[str] = Field(description="parent, grandparent, ...")
    dataset_sha256: str | None
    logs: list[LogUse]
    labels: list[LabelUse]
    labeler_versions: list[LabelerUse]
    sim_packs: list[str]


@lru_cache(maxsize=4)
def code_version(root: Path | None = None) -> tuple[str, str]:
    """The package version and the git commit of the source tree, or "" when not a checkout
    (asked of git once per process: every registration records it)."""
    root = root or Path(__file__).resolve().parents[1]
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        commit = out.stdout.strip() if out.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return __version__, commit


class PolicyStore:
    """Policy versions and their lineage in the catalog's database."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        Base.metadata.create_all(catalog.engine, tables=[PolicyVersionRow.__table__])

    def register(
        self,
        card: PolicyCard,
        path: Path,
        config: dict[str, Any] | None = None,
        parent_sha256: str | None = None,
    ) -> PolicyVersion:
        """Record a version (idempotent for the same weights) with its provenance edges.

        Raises:
            InvalidRequestError: the version exists with other weights.
        """
        package, commit = code_version()
        parents = []
        if card.dataset_sha256:
            parents.append((card.dataset_sha256, "trained-on"))
        if parent_sha256:
            parents.append((parent_sha256, "fine-tuned-from"))
        with self.catalog.transaction() as session:
            row = session.get(PolicyVersionRow, card.version)
            if row is not None and row.weights_sha256 != card.weights_sha256:
                raise InvalidRequestError(
                    f"policy {card.version} is registered with weights {row.weights_sha256[:12]},"
                    f" not {card.weights_sha256[:12]}; choose a new version name"
                )
            if row is None:
                row = PolicyVersionRow(
                    version=card.version,
                    parent=card.parent,
                    weights_sha256=card.weights_sha256,
                    dataset_sha256=card.dataset_sha256,
                    code_version=package,
                    git_commit=commit,
                    command=card.command,
                    config=config or {},
                    metrics=dict(card.metrics),
                    path=str(path),
                )
                session.add(row)
            record_artifact(
                session,
                sha256=card.weights_sha256,
                kind="policy",
                produced_by=TOOL,
                tool_version=package,
                uri=str(path),
                parents=parents,
                meta={"version": card.version},
            )
            session.flush()
            return PolicyVersion.model_validate(row)

    def get(self, version: str) -> PolicyVersion:
        with self.catalog.session() as session:
            row = session.get(PolicyVersionRow, version)
            if row is None:
                known = list(session.scalars(select(PolicyVersionRow.version)))
                raise NotFoundError("policy version", version, sorted(known))
            return PolicyVersion.model_validate(row)

    def list(self) -> list[PolicyVersion]:
        with self.catalog.session() as session:
            rows = session.scalars(select(PolicyVersionRow).order_by(PolicyVersionRow.created_at))
            return [PolicyVersion.model_validate(r) for r in rows]

    def diff(self, a: str, b: str) -> PolicyDiff:
        pa, pb = self.get(a), self.get(b)
        keys = (
            "parent",
            "weights_sha256",
            "dataset_sha256",
            "code_version",
            "git_commit",
            "command",
            "config",
        )
        fields = {
            k: (getattr(pa, k), getattr(pb, k)) for k in keys if getattr(pa, k) != getattr(pb, k)
        }
        shared = sorted(set(pa.metrics) & set(pb.metrics))
        return PolicyDiff(
            a=a, b=b, fields=fields, metrics={m: pb.metrics[m] - pa.metrics[m] for m in shared}
        )

    def lineage(
        self, version: str, manifest_loader: Callable[[str], Any] | None = None
    ) -> PolicyLineage:
        """Ancestors, and the logs, labels and labeler versions of the version's dataset.

        ``manifest_loader(dataset_sha)`` returns the dataset manifest (for the exact labels
        it used); without it, labels are counted over the dataset's logs and labeler versions.
        """
        policy = self.get(version)
        ancestors, seen, parent = [], {version}, policy.parent
        while parent and parent not in seen:
            ancestors.append(parent)
            seen.add(parent)
            try:
                parent = self.get(parent).parent
            except NotFoundError:
                break
        logs, labels, labelers, packs = self._dataset_sources(
            policy.dataset_sha256, manifest_loader
        )
        return PolicyLineage(
            policy=policy,
            ancestors=ancestors,
            dataset_sha256=policy.dataset_sha256,
            logs=logs,
            labels=labels,
            labeler_versions=labelers,
            sim_packs=packs,
        )

    def _dataset_sources(
        self, dataset: str | None, manifest_loader: Callable[[str], Any] | None
    ) -> tuple[list[LogUse], list[LabelUse], list[LabelerUse], list[str]]:
        from robotops.memory.lineage import parents

        if not dataset:
            return [], [], [], []
        edges = parents(self.catalog, dataset)
        log_ids = sorted(
            e.sha256 for e in edges if e.relation == "frames-from" and e.kind != "sim-frames"
        )
        packs = sorted(e.sha256 for e in edges if e.kind == "sim-frames")
        labeler_shas = {e.sha256 for e in edges if e.relation == "labeled-by"}
        with self.catalog.session() as session:
            log_rows = session.scalars(select(LogRow).where(LogRow.id.in_(log_ids))).all()
            logs = [
                LogUse(log_id=r.id, robot_id=r.robot_id, source_path=r.source_path)
                for r in sorted(log_rows, key=lambda r: r.id)
            ]
            versions = session.scalars(
                select(LabelerVersionRow).where(LabelerVersionRow.sha256.in_(labeler_shas))
            ).all()
            labelers = [
                LabelerUse(
                    version=v.version, backend=v.backend, model=v.model, quarantined=v.quarantined
                )
                for v in sorted(versions, key=lambda v: v.version)
            ]
            if manifest_loader is not None:
                manifest = manifest_loader(dataset)
                counts: dict[tuple[str, str], int] = {}
                for lab in manifest.labels:
                    key = (lab.labeler_version, lab.value)
                    counts[key] = counts.get(key, 0) + 1
            else:
                rows = session.execute(
                    select(LabelRow.labeler_version, LabelRow.value, func.count())
                    .where(
                        LabelRow.log_id.in_(log_ids),
                        LabelRow.labeler_version.in_([v.version for v in versions]),
                    )
                    .group_by(LabelRow.labeler_version, LabelRow.value)
                )
                counts = {(v, val): n for v, val, n in rows}
        labels = [
            LabelUse(labeler_version=v, value=val, count=n)
            for (v, val), n in sorted(counts.items())
        ]
        return logs, labels, labelers, packs
