"""The training tools agents call: build a dataset, gate it, plan training, train a version."""

from __future__ import annotations

from pydantic import BaseModel, Field

from robotops.tools.context import ToolContext
from robotops.tools.datasets.alignment import AlignmentReport, check_alignment
from robotops.tools.datasets.build import DatasetRequest, build_dataset
from robotops.tools.datasets.gate import dataset_reports
from robotops.tools.datasets.models import DatasetSummary
from robotops.tools.datasets.plan import PlanTrainingRequest, TrainingPlan, plan_training
from robotops.tools.datasets.store import load_dataset, save_dataset
from robotops.tools.datasets.train import (
    TrainPolicyRequest,
    TrainPolicyResult,
    train_policy_version,
)
from robotops.tools.toolset import Toolset

toolset = Toolset("datasets")


class AlignmentRequest(BaseModel):
    """Logs to check: those of a dataset and/or named ones (log ids or prefixes)."""

    dataset: str | None = Field(None, description="dataset sha256 or prefix")
    log_ids: list[str] = Field(default_factory=list)


class AlignmentResult(BaseModel):
    """Whether every log passed, and each log's report."""

    ok: bool
    reports: list[AlignmentReport]
    summary: str


@toolset.tool("build_dataset")
def build_dataset_tool(request: DatasetRequest, ctx: ToolContext) -> DatasetSummary:
    """Build and store a perception training dataset from labeled segments (e.g. glare,
    hard_shadow) and/or a search, balanced with normal driving and real obstacles, targets from
    the range scanner, plus frames rendered in given worlds. Use it after triage has found
    perception failures and before check_alignment and train_policy."""
    index = ctx.index if request.search else None
    manifest = build_dataset(request, ctx.catalog, ctx.blobs, ctx.settings.datasets, index)
    save_dataset(manifest, ctx.catalog, ctx.blobs)
    return DatasetSummary.of(manifest)


@toolset.tool("check_alignment")
def check_alignment_tool(request: AlignmentRequest, ctx: ToolContext) -> AlignmentResult:
    """Check clock offset and drift, motion lag, gaps, duplicates, out-of-order stamps and
    stray labels of a dataset's logs (or named logs). Use it before any training: a failing
    log must be fixed or left out, never trained on."""
    reports: list[AlignmentReport] = []
    if request.dataset:
        manifest = load_dataset(request.dataset, ctx.catalog, ctx.blobs)
        reports += dataset_reports(manifest, ctx.blobs, ctx.settings.datasets)
    for ref in request.log_ids:
        log = ctx.catalog.get_log(ref)
        reports.append(check_alignment(ctx.blobs.path_of(log.id), ctx.settings.datasets, log.id))
    bad = [r for r in reports if not r.ok]
    summary = f"{len(reports)} log(s) aligned" if not bad else "\n".join(r.text() for r in bad)
    return AlignmentResult(ok=not bad, reports=reports, summary=summary)


@toolset.tool("plan_training")
def plan_training_tool(request: PlanTrainingRequest, ctx: ToolContext) -> TrainingPlan:
    """Decide what to train from triage findings (glare/shadow phantom stops -> perception
    fine-tune) and the labels in the catalog, estimate the training time, and say whether it
    needs a person's approval. Use it before build_dataset and train_policy."""
    return plan_training(request, ctx.catalog, ctx.settings)


@toolset.tool("train_policy")
def train_policy_tool(request: TrainPolicyRequest, ctx: ToolContext) -> TrainPolicyResult:
    """Fine-tune a perception version on a stored dataset into a new version (alignment gate
    first, checkpoints, early stopping) and register it with its lineage. Spends compute: call
    it only after plan_training, and after approval when the plan needs it."""
    return train_policy_version(
        request, ctx.catalog, ctx.blobs, ctx.data_dir, ctx.settings.datasets
    )
