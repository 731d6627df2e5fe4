"""What a tool works through: settings plus the stores and clients built from them, lazily.

One object is passed to every registered tool (``fn(request, ctx)``), so the embedded
procedures, the OpenAI backend and the HTTP API call tools the same way. Nothing is opened
until a tool asks for it; tests build a context over a temporary data dir.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robotops.settings import Settings

if TYPE_CHECKING:
    from robotops.memory.blobs import LocalBlobStore
    from robotops.memory.catalog import Catalog
    from robotops.memory.vectors import VectorIndex
    from robotops.tools.approvals.service import ApprovalService
    from robotops.tools.fleet.client import FleetClient
    from robotops.tools.logs.ingest import IngestDeps


@dataclass
class ToolContext:
    """Settings, the acting principal, and lazily opened stores and clients."""

    settings: Settings
    actor: str = "robotops"
    run_id: str | None = None  # agent run (thread) id, for idempotency keys
    _provided: set[str] = field(default_factory=set, repr=False)

    PROVIDABLE = ("catalog", "blobs", "index", "ingest", "fleet", "approvals")

    def provide(self, **things: Any) -> ToolContext:
        """Use stores or clients the caller already has (and closes) instead of opening new ones."""
        unknown = sorted(set(things) - set(self.PROVIDABLE))
        if unknown:
            raise TypeError(f"cannot provide {unknown}; providable: {', '.join(self.PROVIDABLE)}")
        for name, value in things.items():
            self.__dict__[name] = value
            self._provided.add(name)
        return self

    def idempotency_key(self, step: str) -> str:
        """The key an acting tool uses so that a resumed run repeats no side effect."""
        if not self.run_id:
            raise ValueError("an idempotency key needs the run id (ToolContext.run_id)")
        return f"{self.run_id}:{step}"

    def close(self) -> None:
        """Close what this context opened itself (never what was provided)."""
        fleet = self.__dict__.get("fleet")
        if fleet is not None and "fleet" not in self._provided:
            fleet.close()
            del self.__dict__["fleet"]

    @property
    def data_dir(self) -> Path:
        path = Path(self.settings.data_dir)
        path.mkdir(parents=True, exist_ok=True)
        return path

    @cached_property
    def catalog(self) -> Catalog:
        from robotops.memory.catalog import Catalog

        return Catalog.from_settings(self.settings)

    @cached_property
    def blobs(self) -> LocalBlobStore:
        from robotops.memory.blobs import LocalBlobStore

        return LocalBlobStore.from_settings(self.settings)

    @cached_property
    def index(self) -> VectorIndex:
        from robotops.memory.vectors import VectorIndex

        return VectorIndex.from_settings(self.settings)

    @cached_property
    def ingest(self) -> IngestDeps:
        from robotops.tools.logs.ingest import IngestDeps

        return IngestDeps.from_settings(self.settings, index=self.index)

    @cached_property
    def fleet(self) -> FleetClient:
        from robotops.tools.fleet.client import FleetClient

        return FleetClient.from_settings(self.settings)

    @cached_property
    def approvals(self) -> ApprovalService:
        from robotops.memory.approvals import ApprovalStore
        from robotops.tools.approvals.service import ApprovalService

        return ApprovalService(ApprovalStore(self.settings.catalog_url()))
