"""Single use, kept where the robot acts: a ledger of used nonces in SQLite.

Each nonce (of an order, or an approval) is a unique row bound to the deployment that used it.
Claiming is one ``INSERT ... ON CONFLICT DO NOTHING`` and a read in one immediate transaction,
so of any number of parallel claims exactly one binds the nonce; the same deployment claiming
again (a retry) is told it is a retry, any other deployment gets :class:`ReplayError`.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from robotops.errors import ReplayError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS used_nonces (
    kind TEXT NOT NULL,
    nonce TEXT NOT NULL,
    bound_to TEXT NOT NULL,
    used_at REAL NOT NULL,
    PRIMARY KEY (kind, nonce)
)
"""


class NonceLedger:
    """Used nonces in the SQLite file ``path`` (created on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection per call: safe from any thread; waits out other writers."""
        db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        try:
            yield db
        finally:
            db.close()

    def claim(self, kind: str, nonce: str, bound_to: str) -> bool:
        """Use ``nonce`` for ``bound_to``: True the first time, False on a retry by the same.

        Raises:
            ReplayError: the nonce was already used for something else.
        """
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                inserted = db.execute(
                    "INSERT INTO used_nonces VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (kind, nonce, bound_to, time.time()),
                ).rowcount
                (owner,) = db.execute(
                    "SELECT bound_to FROM used_nonces WHERE kind = ? AND nonce = ?", (kind, nonce)
                ).fetchone()
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        if owner != bound_to:
            raise ReplayError(f"{kind} {nonce[:24]} was already used by {owner!r}")
        return inserted == 1

    def bound_to(self, kind: str, nonce: str) -> str | None:
        """What used ``nonce`` (None: unused); for reports and tests."""
        with self._connect() as db:
            row = db.execute(
                "SELECT bound_to FROM used_nonces WHERE kind = ? AND nonce = ?", (kind, nonce)
            ).fetchone()
        return None if row is None else row[0]
