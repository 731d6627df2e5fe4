"""Why an approval check said no. Each message names the request, action and artifact."""

from __future__ import annotations

from robotops.errors import RobotOpsError


class ApprovalError(RobotOpsError):
    """An action that needs a human approval does not have a valid one."""


class ApprovalRequiredError(ApprovalError):
    def __init__(self, action: str, artifact: str, targets: list[str], why: str) -> None:
        self.why = why
        super().__init__(
            f"{action} of {artifact[:12]} on {', '.join(targets)} needs a recorded human "
            f"approval: {why}"
        )


class ApprovalUsedError(ApprovalRequiredError):
    """The approval was already used by another action (a lost race, or a replay): HTTP 409."""


class ApprovalTamperedError(ApprovalRequiredError):
    """The store does not verify against the keyed audit log: nothing is authorized."""


class ForbiddenDecisionError(ApprovalError):
    """The actor may not decide this request (wrong role, own request, already decided)."""


class DecisionConflictError(ForbiddenDecisionError):
    """The request was already decided (perhaps a moment ago, by someone else): HTTP 409."""
