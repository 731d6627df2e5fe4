"""The approval rules, in code: who may ask, who may decide, and what an approval authorizes.

- Anyone but a viewer may request; an agent may request but never decide. Each request
  records the identity that filed it (``requested_by``, an agent's service name, say) and the
  person who caused it (``caused_by``: behind the chat, the CLI, the API token or the nightly).
- Only an ``approver`` or ``admin`` decides, never on a request they filed or caused (four
  eyes by person), and once: the decision is a compare-and-set from ``pending``.
- An approval authorizes exactly its action, its artifact hash, its targets and (for a
  rollout stage) its rollout, stage, plan hash and evidence hash, once: the first use is a
  compare-and-set of ``used_by``; repeating that same action (a retried deploy, same
  idempotency key) is allowed while any other use is refused.
- Before each use the keyed audit log is verified and the approval row is checked against
  the lines that recorded it, so an edited database refuses to authorize.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from robotops.memory.approval_models import Actor, ApprovalCreate, ApprovalPublic, Decision
from robotops.memory.approvals import (
    ApprovalRow,
    ApprovalStore,
    TamperedStoreError,
    canonical_sha256,
)
from robotops.tools.approvals.errors import (
    ApprovalRequiredError,
    ApprovalTamperedError,
    ApprovalUsedError,
    DecisionConflictError,
    ForbiddenDecisionError,
)

DECIDERS = ("approver", "admin")
DECISIONS = ("approved", "rejected")


def row_digest(row: ApprovalRow) -> str:
    """sha256 of what a request asked (never changes after filing): the audit line keeps it."""
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return canonical_sha256(
        {
            "id": row.id,
            "action": row.action,
            "artifact": row.artifact_sha256,
            "targets": row.targets,
            "reason": row.reason,
            "evidence": row.evidence,
            "risk": row.risk,
            "thread_id": row.thread_id,
            "requested_by": row.requested_by,
            "caused_by": row.caused_by,
            "binding": row.binding,
            "created_at": created.isoformat(),
        }
    )


class ApprovalService:
    """Requests, decisions and the authorization check over an :class:`ApprovalStore`.

    Opening the service verifies the keyed audit log (``verify=False`` to open a store that
    is known to be tampered, e.g. to show it).
    """

    def __init__(self, store: ApprovalStore, verify: bool = True) -> None:
        self.store = store
        if verify:
            store.check_audit()

    def request(
        self, body: ApprovalCreate, requester: Actor, caused_by: str | None = None
    ) -> ApprovalPublic:
        """File a request by ``requester`` on behalf of the person ``caused_by`` (the
        requester itself when it is a person and nobody else is named)."""
        if requester.role == "viewer":
            raise ForbiddenDecisionError(
                f"{requester.name} is a viewer and cannot ask for approvals"
            )
        data = body.model_dump(mode="json")
        data["evidence"] = _normalized(data["evidence"])
        binding = data.get("binding")
        if binding and binding["evidence_sha256"] != canonical_sha256(data["evidence"]):
            raise ForbiddenDecisionError(
                "the request's binding.evidence_sha256 is not the sha256 of its evidence"
            )
        row = ApprovalRow(
            id=f"apr-{uuid.uuid4().hex[:20]}",
            requested_by=requester.name,
            caused_by=caused_by or requester.name,
            status="pending",
            created_at=datetime.now(UTC),
            **data,
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
                    "caused_by": row.caused_by,
                    "binding": binding,
                    "row_sha256": row_digest(row),
                },
            )
        return self.store.public(row)

    def decide(self, request_id: str, decision: Decision, actor: Actor) -> ApprovalPublic:
        """Approve or reject, once: a compare-and-set from ``pending`` in one transaction."""
        status = "approved" if decision.approve else "rejected"
        conflict = False
        with self.store.transaction() as s:
            row = self.store.get_row(s, request_id)
            why = self._tampered(s, row) or self._cannot_decide(row, actor)
            if why is None:
                changed = s.execute(
                    update(ApprovalRow)
                    .where(ApprovalRow.id == request_id, ApprovalRow.status == "pending")
                    .values(
                        status=status,
                        decided_by=actor.name,
                        decision_comment=decision.comment,
                        decided_at=datetime.now(UTC),
                    )
                    .execution_options(synchronize_session=False)
                ).rowcount
                s.refresh(row)
                if changed != 1:
                    why, conflict = f"already {row.status} by {row.decided_by}", True
            if why:
                conflict = conflict or row.status != "pending"
                self.store.audit(s, actor.name, "decision_refused", request_id, {"why": why})
            else:
                self.store.audit(
                    s,
                    actor.name,
                    status,
                    request_id,
                    {"decision": status, "comment": decision.comment},
                )
        if why:
            error = DecisionConflictError if conflict else ForbiddenDecisionError
            raise error(f"{actor.name} cannot decide {request_id}: {why}")
        return self.store.public(row)

    @staticmethod
    def _cannot_decide(row: ApprovalRow, actor: Actor) -> str | None:
        if actor.is_agent:
            return "agents never decide approvals"
        if actor.role not in DECIDERS:
            return f"role {actor.role!r} cannot approve (needs approver or admin)"
        if actor.name == row.requested_by:
            return "requesters cannot approve their own requests"
        if actor.name == row.caused_by:
            return f"{actor.name} caused this request (via {row.requested_by}); four eyes"
        if row.status != "pending":
            return f"already {row.status} by {row.decided_by}"
        return None

    def authorize(
        self,
        request_id: str,
        action: str,
        artifact_sha256: str,
        targets: list[str],
        idempotency_key: str,
        actor: str,
        binding: dict[str, Any] | None = None,
    ) -> ApprovalPublic:
        """Check, and mark used, the approval for exactly this action; raise if there is none.

        Args:
            binding: for a rollout stage, ``rollout_id``, ``stage`` and ``plan_sha256`` the
                approval must have been given for.
        """
        error: type[ApprovalRequiredError] = ApprovalRequiredError
        with self.store.transaction() as s:
            row = s.get(ApprovalRow, request_id, with_for_update=True)
            why = self._tampered(s, row) if row is not None else None
            if why:
                error = ApprovalTamperedError
            else:
                why = _mismatch(row, action, artifact_sha256, targets, idempotency_key, binding)
            if why is None and row is not None and row.used_by is None:
                changed = s.execute(
                    update(ApprovalRow)
                    .where(
                        ApprovalRow.id == request_id,
                        ApprovalRow.status == "approved",
                        ApprovalRow.used_by.is_(None),
                    )
                    .values(status="used", used_by=idempotency_key)
                    .execution_options(synchronize_session=False)
                ).rowcount
                s.refresh(row)
                if changed != 1:
                    why = _mismatch(row, action, artifact_sha256, targets, idempotency_key, binding)
                    why = why or f"approval {request_id} was used concurrently"
            if why and row is not None and row.used_by not in (None, idempotency_key):
                error = ApprovalUsedError if error is ApprovalRequiredError else error
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
                    **({"binding": binding} if binding else {}),
                    **({"why": why} if why else {}),
                },
            )
        if why is not None:
            raise error(action, artifact_sha256, targets, why)
        assert row is not None
        return self.store.public(row)

    def _tampered(self, s: Session, row: ApprovalRow) -> str | None:
        """Why the store cannot be trusted for ``row`` (chain, or row vs its audit lines)."""
        try:
            self.store.check_audit(s)
        except TamperedStoreError as exc:
            return str(exc)
        return row_disagrees(row, self.store.entries(s, row.id))


def row_disagrees(row: ApprovalRow, lines: list[Any]) -> str | None:
    """Where an approval row contradicts the (verified) audit lines about it, or None."""
    asked = [e for e in lines if e.event == "requested"]
    head = f"approval store tampered: approval {row.id} row"
    if len(asked) != 1:
        return f"{head} has {len(asked)} 'requested' audit records (expected 1)"
    if asked[0].detail.get("row_sha256") != row_digest(row):
        return f"{head} differs from what audit record seq {asked[0].seq} recorded at filing"
    decided = [e for e in lines if e.event in DECISIONS]
    if not decided:
        want_status, want_by = "pending", None
    else:
        want_status, want_by = decided[0].event, decided[0].actor
    used = [e for e in lines if e.event == "authorized"]
    if used:
        want_status = "used"
    if row.status != want_status or (want_by and row.decided_by != want_by):
        where = f"seq {decided[0].seq}" if decided else "no decision record"
        return (
            f"{head} says {row.status} by {row.decided_by}, the audit log says "
            f"{want_status} by {want_by} ({where})"
        )
    if used and row.used_by != used[0].detail.get("key"):
        return f"{head} used_by {row.used_by!r}, audit record seq {used[0].seq} says otherwise"
    if not used and row.used_by is not None:
        return f"{head} is marked used by {row.used_by!r} with no 'authorized' audit record"
    return None


def _normalized(evidence: dict) -> dict:
    """The evidence as the JSON column will give it back (so its hash is stable)."""
    import json

    return json.loads(json.dumps(evidence, default=str))


def _mismatch(
    row: ApprovalRow | None,
    action: str,
    artifact: str,
    targets: list[str],
    key: str,
    binding: dict[str, Any] | None,
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
        return f"approval {row.id} is for artifact {row.artifact_sha256[:12]}, not {artifact[:12]}"
    extra = sorted(set(targets) - set(row.targets))
    if extra:
        return f"approval {row.id} does not cover {', '.join(extra)}"
    return _binding_mismatch(row, binding)


def _binding_mismatch(row: ApprovalRow, binding: dict[str, Any] | None) -> str | None:
    """A rollout-stage approval covers exactly the rollout, stage, plan and evidence reviewed."""
    if binding is None:
        return None
    bound = row.binding or {}
    if not bound:
        return f"approval {row.id} is not bound to a rollout stage (asked: {binding})"
    for name, want in binding.items():
        if bound.get(name) != want:
            return f"approval {row.id} was given for {name} {bound.get(name)!r}, not {want!r}"
    if bound.get("evidence_sha256") != canonical_sha256(row.evidence):
        return f"approval {row.id}: its evidence no longer hashes to what was approved"
    return None
