"""Deploy orders on the robot: verify the signatures, the robot, the artifact and single use,
then hand the artifact to the slot installer. Nothing is trusted from the sender.

The orchestrator signs an order for a set of robots; each robot checks that it is one of them,
that the approval inside was signed by the approval key, that neither has expired, and that it
has not used the order's nonce for anything else (a ledger on the robot's own disk). A retry of
an order already installed answers with the robot's status and installs nothing twice.
"""

from __future__ import annotations

import time
from pathlib import Path

from robotops.edge.slots import InstallResult, SlotInstaller
from robotops.errors import SecurityError
from robotops.security import NonceLedger, SignedEnvelope, TrustedKeys, open_envelope, verify_order
from robotops.security.orders import DeployOrder


class OrderReceiver:
    """The robot's side of a deploy: ``accept(order, artifact)``.

    Args:
        robot_id: this robot.
        trust: the keys this robot trusts (the site's trust file).
        nonces: the robot's single-use ledger.
        installer: the two slots.
    """

    def __init__(
        self, robot_id: str, trust: TrustedKeys, nonces: NonceLedger, installer: SlotInstaller
    ) -> None:
        self.robot_id, self.trust, self.nonces, self.installer = robot_id, trust, nonces, installer

    def accept(
        self, envelope: SignedEnvelope, artifact: Path, now: float | None = None
    ) -> InstallResult:
        """Verify ``envelope`` for this robot and ``artifact``, then install it.

        Raises:
            SecurityError: the order is not for this robot, not signed by a trusted key,
                expired, for another artifact, or already used for another deployment.
            InstallError: the artifact's bytes do not match what the order signed.
        """
        now = time.time() if now is None else now
        order = self._for_me(envelope)
        verified = verify_order(
            envelope,
            self.trust,
            now,
            robot_ids=order.robot_ids,
            artifact_sha256=order.artifact_sha256,
            action=order.action,
            deployment_id=order.deployment_id,
        )
        first_use = self.nonces.claim("order", verified.order.nonce, self._use(order))
        if verified.statement is not None:
            self.nonces.claim("approval", verified.statement.nonce, self._use(order))
        status = self.installer.status()
        if not first_use and status.sha256 == order.artifact_sha256:
            return InstallResult(
                installed=True,
                slot=status.slot or "a",
                version=order.policy_version,
                health="already installed by this order",
                status=status,
            )
        return self.installer.install(
            artifact, order.policy_version, order.artifact_sha256, order.order_id
        )

    def _for_me(self, envelope: SignedEnvelope) -> DeployOrder:
        order = open_envelope(envelope, self.trust, "order", DeployOrder)
        if self.robot_id not in order.robot_ids:
            raise SecurityError(
                "robots",
                f"order {order.order_id} is for {', '.join(order.robot_ids)}, not robot "
                f"{self.robot_id}",
            )
        return order

    def _use(self, order: DeployOrder) -> str:
        return f"{order.deployment_id}@{self.robot_id}"
