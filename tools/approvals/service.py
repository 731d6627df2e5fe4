"""The approval rules, in code: who may ask, who may decide, and what an approval authorizes.

- Anyone but a viewer may request; an agent may request but never decide.
- Only an ``approver`` or ``admin`` decides, never on their own request (four eyes), once.
- An approval authorizes exactly its action, its artifact hash and its targets, once: the
  action that uses it records its idempotency key, and repeating that same action is allowed
  (a retried deploy) while any other use is refused.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from robotops.memory.approval_models import Actor, ApprovalCreate, ApprovalPublic, Decision
from robotops.memory.approvals import ApprovalRow, ApprovalStore
from robotops.tools.approvals.errors import ApprovalRequiredError, ForbiddenDecisionError

DECIDERS = ("approver", "admin")


class ApprovalService:
    """Requests, decisions and the authorization check over an :class:`ApprovalStore`."""

    def __init__(self, store: ApprovalStore) -> None:
        self.store = store

    def request(self, body: ApprovalCreate, requester: Actor) -> ApprovalPublic:
        if requester.role == "viewer":
            raise ForbiddenDecisionError(
                f"{requester.name} is a viewer and cannot ask for approvals"
            )
        row = ApprovalRow(
            id=f"apr-{uuid.uuid4().hex[:20]}",
            requested_by=requester.name,
            status="pending",
            created_at=datetime.now(UTC),
            **body.model_dump(),
        )
        with self.store.transaction() as s:
            s.add(row)
            self.store.audit(
                s,
                requester.name,
                "requested",
                row.id,
                {
                    "action": body.action,
                    "artifact": body.artifact_sha256,
                    "targets": body.targets,
                    "risk": body.risk,
                },
            )
        return self.store.public(row)

    def decide(self, request_id: str, decision: Decision, actor: Actor) -> ApprovalPublic:
        with self.store.transaction() as s:
            row = self.store.get_row(s, request_id)
            why = self._cannot_decide(row, actor)
            if why:
                self.store.audit(s, actor.name, "decision_refused", request_id, {"why": why})
                refused = why
            else:
                refused = None
                row.status = "approved" if decision.approve else "rejected"
                row.decided_by, row.decision_comment = actor.name, decision.comment
                row.decided_at = datetime.now(UTC)
                self.store.audit(
                    s, actor.name, row.status, request_id, {"comment": decision.comment}
                )
        if refused:
            raise ForbiddenDecisionError(f"{actor.name} cannot decide {request_id}: {refused}")
        return self.store.public(row)

    @staticmethod
    def _cannot_decide(row: ApprovalRow, actor: Actor) -> str | None:
        if actor.is_agent:
            return "agents never decide approvals"
        if actor.role not in DECIDERS:
            return f"role {actor.role!r} cannot approve (needs approver or admin)"
        if actor.name == row.requested_by:
            return "requesters cannot approve their own requests"
        if row.status != "pending":
            return f"already {row.status}"
        return None

    def authorize(
        self,
        request_id: str,
        action: str,
        artifact_sha256: str,
        targets: list[str],
        idempotency_key: str,
        actor: str,
    ) -> ApprovalPublic:
        """Check, and mark used, the approval for exactly this action; raise if there is none."""
        with self.store.transaction() as s:
            row = s.get(ApprovalRow, request_id, with_for_update=True)
            why = self._mismatch(row, action, artifact_sha256, targets, idempotency_key)
            if why is None and row is not None and row.used_by is None:
                row.status, row.used_by = "used", idempotency_key
            self.store.audit(
                s,
                actor,
                "authorized" if why is None else "refused",
                request_id,
                {
                    "action": action,
                    "artifact": artifact_sha256,
                    "targets": targets,
                    "key": idempotency_key,
                    **({"why": why} if why else {}),
                },
            )
        if why is not None:
            raise ApprovalRequiredError(action, artifact_sha256, targets, why)
        assert row is not None
        return self.store.public(row)

    @staticmethod
    def _mismatch(
        row: ApprovalRow | None, action: str, artifact: str, targets: list[str], key: str
    ) -> str | None:
        if row is None:
            return "no such approval request"
        if row.status == "used" and row.used_by != key:
            return f"approval {row.id} was already used by {row.used_by}"
        if row.status not in ("approved", "used"):
            return f"approval {row.id} is {row.status}"
        if row.action != action:
            return f"approval {row.id} is for {row.action}, not {action}"
        if row.artifact_sha256 != artifact:
            return (
                f"approval {row.id} is for artifact {row.artifact_sha256[:12]}, not {artifact[:12]}"
            )
        extra = sorted(set(targets) - set(row.targets))
        if extra:
            return f"approval {row.id} does not cover {', '.join(extra)}"
        return None
