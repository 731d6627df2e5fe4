"""Where the robot acts: check a signed order before anything changes.

:func:`verify_order` is what the fleet side (the simulated fleet now, the robot-side agent
later) runs on every deploy and rollback. It checks, in this order, and stops at the first
failure with a :class:`SecurityError` naming it: trust configured, the order's signature by a
key trusted to sign orders, its expiry, that it asks for this action, deployment, artifact and
exact robot set; for a deploy, the embedded approval statement's signature by a key trusted
for approvals, its expiry, its action, artifact and exact robot set. Single use is the nonce
ledger's job (:mod:`robotops.security.nonces`), after this passes.
"""

from __future__ import annotations

from dataclasses import dataclass

from robotops.errors import SecurityError
from robotops.security.envelope import SignedEnvelope, open_envelope
from robotops.security.orders import ApprovalStatement, DeployOrder, OrderAction
from robotops.security.trust import TrustedKeys

CLOCK_SKEW_S = 300
"""How far ahead of the fleet's clock an issuer's clock may run."""
DEPLOY_APPROVAL_ACTIONS = frozenset({"deploy", "rollout_stage"})
NO_TRUST = (
    "this fleet has no trusted keys configured and refuses every deploy and rollback; add "
    "the orchestrator's public keys to its trust file (robotops fleet trust)"
)


@dataclass(frozen=True)
class VerifiedOrder:
    """An order whose every check passed, with the approval it acts under (None: rollback)."""

    order: DeployOrder
    statement: ApprovalStatement | None


def verify_order(
    order: SignedEnvelope | None,
    trusted_keys: TrustedKeys,
    now: float,
    robot_ids: list[str],
    artifact_sha256: str,
    *,
    action: OrderAction = "deploy",
    deployment_id: str | None = None,
) -> VerifiedOrder:
    """Check ``order`` against what the request asks for; raise SecurityError if any check fails.

    Args:
        order: the signed order the request carried (None: there was none).
        trusted_keys: the fleet's trust configuration.
        now: the fleet's clock, unix seconds.
        robot_ids: the robots the request would change (compared as a set, exactly).
        artifact_sha256: the hash of the artifact the fleet would put on them.
        action: what the request does (``deploy`` or ``rollback``).
        deployment_id: the request's deployment id, when it has one.
    """
    if not trusted_keys:
        raise SecurityError("trust", NO_TRUST)
    if order is None:
        raise SecurityError("order", f"a {action} needs a signed order and none was sent")
    signed = open_envelope(order, trusted_keys, "order", DeployOrder)
    _check_order(signed, now, robot_ids, artifact_sha256, action, deployment_id)
    if action == "rollback" or signed.action == "rollback":
        return VerifiedOrder(order=signed, statement=None)
    if signed.approval is None:
        raise SecurityError("approval", f"deploy order {signed.order_id} carries no approval")
    statement = open_envelope(signed.approval, trusted_keys, "approval", ApprovalStatement)
    _check_statement(statement, signed, now)
    return VerifiedOrder(order=signed, statement=statement)


def _check_order(
    order: DeployOrder,
    now: float,
    robot_ids: list[str],
    artifact_sha256: str,
    action: OrderAction,
    deployment_id: str | None,
) -> None:
    """The order says exactly what the request does, and is still valid."""
    name = f"order {order.order_id}"
    _check_expiry(name, order.issued_at, order.expires_at, now)
    if order.action != action and not (action == "deploy" and order.action == "rollback"):
        raise SecurityError("action", f"{name} is a {order.action} order, not {action}")
    if deployment_id is not None and order.deployment_id != deployment_id:
        raise SecurityError(
            "deployment",
            f"{name} is for deployment {order.deployment_id!r}, not {deployment_id!r}",
        )
    _check_artifact(name, order.artifact_sha256, artifact_sha256)
    _check_robots(name, order.robot_ids, robot_ids)


def _check_statement(statement: ApprovalStatement, order: DeployOrder, now: float) -> None:
    """The person approved this very deploy: action, artifact, robots, and not too long ago."""
    name = f"approval {statement.approval_id} (by {statement.approver})"
    _check_expiry(name, statement.issued_at, statement.expires_at, now)
    if statement.action not in DEPLOY_APPROVAL_ACTIONS:
        raise SecurityError("action", f"{name} approves {statement.action}, not a deploy")
    _check_artifact(name, statement.artifact_sha256, order.artifact_sha256)
    _check_robots(name, statement.robot_ids, order.robot_ids)


def _check_expiry(name: str, issued_at: int, expires_at: int, now: float) -> None:
    if now >= expires_at:
        raise SecurityError("expiry", f"{name} expired at {expires_at} (fleet time {now:.0f})")
    if issued_at > now + CLOCK_SKEW_S:
        raise SecurityError(
            "expiry", f"{name} is issued at {issued_at}, in the future (fleet time {now:.0f})"
        )


def _check_artifact(name: str, signed: str, actual: str) -> None:
    if signed != actual:
        raise SecurityError(
            "artifact",
            f"{name} is for artifact {signed[:12]}, the fleet would install {actual[:12]}",
        )


def _check_robots(name: str, signed: list[str], actual: list[str]) -> None:
    """Exact set equality: an order for 101 does not cover 101 and 102, nor 102 alone."""
    extra = sorted(set(actual) - set(signed))
    missing = sorted(set(signed) - set(actual))
    if extra or missing:
        parts = [f"not signed for {', '.join(extra)}"] if extra else []
        parts += [f"signed for {', '.join(missing)} too"] if missing else []
        raise SecurityError("robots", f"{name} robot set differs: {'; '.join(parts)}")
