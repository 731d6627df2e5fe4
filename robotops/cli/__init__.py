"""The ``robotops`` command line: one entry point, a sub-command group per domain.

Every command has ``--help``; every command whose output a script would read has ``--json``.
Errors robotops raises on purpose print one clear line and exit 2, never a traceback. Each
module here holds one command group and registers its commands on the app of
:mod:`robotops.cli.base`; importing this package registers them all.
"""

from __future__ import annotations

from robotops.cli import (  # noqa: F401  (each module registers its commands)
    api,
    campaign,
    demo,
    edge,
    eval,
    fleet,
    flywheel,
    incidents,
    judge,
    label,
    logs,
    nightly,
    policies,
    pull,
    rollout,
    search,
    train,
    triggers,
)
from robotops.cli.base import app

__all__ = ["app"]
