"""What a tool works through: settings plus the stores and clients built from them, lazily.

One object is passed to every tool (``fn(request, ctx)``), so the embedded
procedures, the OpenAI backend and the HTTP API call tools the same way. Nothing is opened
until a tool asks for it; tests build a context over a temporary data dir.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from robotops.settings import Settings

if TYPE_CHECKING:
    from robotops.memory.blobs import LocalBlobStore
    from robotops.memory.catalog import Catalog
    from robotops.memory.vectors import VectorIndex
    from robotops.tools.approvals.service import ApprovalService
    from robotops.tools.fleet.client import FleetClient
    from robotops.tools.logs.ingest import IngestDeps
    from robotops.tools.toolset import ToolCaller

T = TypeVar("T")


@dataclass
class ToolContext:
    """Settings, the acting principal, and lazily opened stores and clients.

    Contexts made by :meth:`for_run` share what is opened (``_opened``), so every node of
    every run reuses one catalog, index and fleet client, and the root context closes them.
    """

    settings: Settings
    actor: str = "robotops"
    run_id: str | None = None  # agent run (thread) id, for idempotency keys
    caller: ToolCaller | None = field(default=None, repr=False)  # set by an agent's toolbox
    _provided: set[str] = field(default_factory=set, repr=False)
    _opened: dict[str, Any] = field(default_factory=dict, repr=False)

    PROVIDABLE = ("catalog", "blobs", "index", "ingest", "fleet", "approvals")

    def provide(self, **things: Any) -> ToolContext:
        """Use stores or clients the caller already has (and closes) instead of opening new ones."""
        unknown = sorted(set(things) - set(self.PROVIDABLE))
        if unknown:
            raise TypeError(f"cannot provide {unknown}; providable: {', '.join(self.PROVIDABLE)}")
        self._opened.update(things)
        self._provided.update(things)
        return self

    def for_run(self, run_id: str) -> ToolContext:
        """The same stores and clients, acting for one agent run (its id keys idempotency)."""
        return replace(self, run_id=run_id)

    def with_caller(self, caller: ToolCaller) -> ToolContext:
        """The same context whose tools call other tools through ``caller`` (a toolbox)."""
        return replace(self, caller=caller)

    def call(self, name: str, arguments: dict[str, Any], /) -> Any:
        """Run another tool from inside a tool: through the caller's toolbox when there is one
        (so it is allowed, checked and recorded like the agent's own calls), else the defaults.
        """
        if self.caller is not None:
            return self.caller(name, arguments)
        from robotops.tools.defaults import all_tools

        return all_tools().invoke(name, arguments, self)

    def close(self) -> None:
        """Close what this context opened itself (never what was provided)."""
        for name in ("fleet", "catalog"):
            opened = self._opened.get(name)
            if opened is not None and name not in self._provided:
                opened.close()
                del self._opened[name]

    def _open(self, name: str, factory: Callable[[], T]) -> T:
        if name not in self._opened:
            self._opened[name] = factory()
        return self._opened[name]

    @property
    def data_dir(self) -> Path:
        """DATA_DIR, created if missing."""
        path = Path(self.settings.data_dir)
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def catalog(self) -> Catalog:
        """The catalog (SQL) of logs, segments, labels and lineage."""
        from robotops.memory.catalog import Catalog

        return self._open("catalog", lambda: Catalog.from_settings(self.settings))

    @property
    def blobs(self) -> LocalBlobStore:
        """The content-addressed blob store of logs and artifacts."""
        from robotops.memory.blobs import LocalBlobStore

        return self._open("blobs", lambda: LocalBlobStore.from_settings(self.settings))

    @property
    def index(self) -> VectorIndex:
        """The vector index of segment descriptions."""
        from robotops.memory.vectors import VectorIndex

        return self._open("index", lambda: VectorIndex.from_settings(self.settings))

    @property
    def ingest(self) -> IngestDeps:
        """What ingesting a log works through (catalog, blobs, index)."""
        from robotops.tools.logs.ingest import IngestDeps

        return self._open(
            "ingest", lambda: IngestDeps.from_settings(self.settings, index=self.index)
        )

    @property
    def fleet(self) -> FleetClient:
        """The fleet API client the settings name."""
        from robotops.tools.fleet.client import FleetClient

        return self._open("fleet", lambda: FleetClient.from_settings(self.settings))

    @property
    def approvals(self) -> ApprovalService:
        """The approval service over the approval store."""
        from robotops.memory.approvals import ApprovalStore
        from robotops.tools.approvals.service import ApprovalService

        return self._open(
            "approvals", lambda: ApprovalService(ApprovalStore.from_settings(self.settings))
        )
