"""The training planner's standard procedure, thin over the tools.

Plan from the triage findings; if the plan costs more than the approval threshold, stop and let
the graph ask a person (the inbox) before anything is spent; then build the dataset, run the
alignment gate (bad data stops here, with the report), and fine-tune. Every step is a
registered tool, so the OpenAI backend and the HTTP API can take the same path.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from robotops.policies.finetune import FinetuneConfig
from robotops.tools.context import ToolContext
from robotops.tools.datasets.models import DatasetSummary
from robotops.tools.datasets.plan import Finding, PlanTrainingRequest, TrainingPlan
from robotops.tools.datasets.tools import (
    AlignmentRequest,
    AlignmentResult,
    build_dataset_tool,
    check_alignment_tool,
    plan_training_tool,
    train_policy_tool,
)
from robotops.tools.datasets.train import TrainPolicyRequest, TrainPolicyResult

Status = Literal["nothing_to_train", "needs_approval", "bad_data", "trained"]


class TrainingOutcome(BaseModel):
    """Where the procedure ended and what it produced on the way."""

    status: Status
    plan: TrainingPlan
    dataset: DatasetSummary | None = None
    alignment: AlignmentResult | None = None
    trained: TrainPolicyResult | None = None
    text: str


def plan(request: PlanTrainingRequest, ctx: ToolContext) -> TrainingPlan:
    """Step 1: what to train and what it costs (no compute spent beyond a throughput probe)."""
    return plan_training_tool(request, ctx)


def execute(
    training_plan: TrainingPlan,
    ctx: ToolContext,
    approved: bool = False,
    version: str | None = None,
    seed: int = 0,
) -> TrainingOutcome:
    """Step 2: build, gate and train; refuses a plan that needs approval unless ``approved``
    (the graph sets it only after the inbox approval is recorded)."""
    p = training_plan
    if not p.train or p.dataset is None:
        return TrainingOutcome(status="nothing_to_train", plan=p, text=p.reason)
    if p.needs_approval and not approved:
        return TrainingOutcome(
            status="needs_approval",
            plan=p,
            text=f"training ~{p.estimated_frames} frames x {p.epochs} epochs is estimated at "
            f"{p.estimated_seconds:.0f} s, above the {p.approval_threshold_s:.0f} s threshold: "
            "a person must approve it",
        )
    dataset = build_dataset_tool(p.dataset, ctx)
    gate = check_alignment_tool(AlignmentRequest(dataset=dataset.sha256), ctx)
    if not gate.ok:
        return TrainingOutcome(
            status="bad_data", plan=p, dataset=dataset, alignment=gate, text=gate.summary
        )
    trained = train_policy_tool(
        TrainPolicyRequest(
            dataset=dataset.sha256,
            parent=p.parent,
            version=version,
            config=FinetuneConfig(epochs=p.epochs, seed=seed),
        ),
        ctx,
    )
    return TrainingOutcome(
        status="trained",
        plan=p,
        dataset=dataset,
        alignment=gate,
        trained=trained,
        text=f"trained {trained.version} from {trained.parent} on {dataset.frames} frames "
        f"(dataset {dataset.sha256[:12]}) in {trained.seconds:.0f} s; val accuracy "
        f"{trained.metrics.get('val_accuracy', 0.0):.3f}",
    )


def findings_from_causes(causes: dict[str, int]) -> list[Finding]:
    """Findings from a count of causes (e.g. a triage summary)."""
    return [Finding(cause=c) for c, n in sorted(causes.items()) for _ in range(n)]
