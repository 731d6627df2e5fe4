"""Keys, signed approvals and orders, their verification, single-use nonces, fleet credentials.

Core layer: imports nothing of robotops but settings and errors, so the orchestrator (tools),
the simulated fleet (sim) and the robot-side agent can all use it.
"""

from robotops.security.envelope import SignedEnvelope, open_envelope, seal
from robotops.security.local import FleetCredentials, pair_local
from robotops.security.nonces import NonceLedger
from robotops.security.orders import ApprovalStatement, DeployOrder
from robotops.security.signer import OrderSigner
from robotops.security.trust import TrustedKey, TrustedKeys, load_trust
from robotops.security.verify import VerifiedOrder, verify_order

__all__ = [
    "ApprovalStatement",
    "DeployOrder",
    "FleetCredentials",
    "NonceLedger",
    "OrderSigner",
    "SignedEnvelope",
    "TrustedKey",
    "TrustedKeys",
    "VerifiedOrder",
    "load_trust",
    "open_envelope",
    "pair_local",
    "seal",
    "verify_order",
]
