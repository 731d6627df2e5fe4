"""Which weights a policy version means: an explicit file, the simulated fleet's, or bundled."""

from __future__ import annotations

from pathlib import Path

from robotops.errors import NotFoundError
from robotops.policies.registry import BUNDLED_DIR, bundled_policy, sha256_file
from robotops.sim.campaign.models import PolicyRef
from robotops.sim.fleet.state import FleetStore


def resolve_policy(
    version: str, fleet_dir: Path | None = None, weights: Path | None = None
) -> PolicyRef:
    """A :class:`PolicyRef` for ``version``: from ``weights`` if given, else the fleet directory's
    published policies, else the policies bundled with robotops. Hashes come from the bytes."""
    if weights is not None:
        if not Path(weights).is_file():
            raise NotFoundError("policy weights", str(weights))
        return PolicyRef(version=version, weights_path=str(weights), sha256=sha256_file(weights))
    known: list[str] = []
    if fleet_dir is not None and FleetStore(fleet_dir).exists():
        policies = FleetStore(fleet_dir).load().policies
        if version in policies:
            record = policies[version]
            path = Path(record.path)
            path = path if path.is_absolute() else Path(fleet_dir) / path
            return PolicyRef(version=version, weights_path=str(path), sha256=record.sha256)
        known += sorted(policies)
    try:
        path = bundled_policy(version)
    except NotFoundError:
        known += sorted(p.stem for p in BUNDLED_DIR.glob("*.pt"))
        raise NotFoundError("policy version", version, sorted(set(known))) from None
    return PolicyRef(version=version, weights_path=str(path), sha256=sha256_file(path))
