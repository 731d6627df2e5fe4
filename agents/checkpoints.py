"""Where agent threads are checkpointed: a SQLite file by default, PostgreSQL by URL.

Every node's output is saved before the next node runs, so a run killed at any point resumes
from its last checkpoint in any process that opens the same store.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver

from robotops.errors import ConfigError
from robotops.settings import Settings

POSTGRES_SCHEMES = ("postgres://", "postgresql://", "postgresql+psycopg://")


@contextmanager
def open_checkpointer(settings: Settings) -> Iterator[BaseCheckpointSaver]:
    """The checkpointer the settings name (ROBOTOPS_AGENTS__CHECKPOINT_URL), open until exit."""
    url = settings.agents.checkpoint_url
    if url and url.startswith(POSTGRES_SCHEMES):
        with _postgres(url) as saver:
            yield saver
        return
    if url and not url.startswith("sqlite:///"):
        raise ConfigError(
            f"checkpoint URL {url!r} is neither sqlite:///PATH nor postgresql://... "
            "(ROBOTOPS_AGENTS__CHECKPOINT_URL)"
        )
    path = settings.data_dir / "checkpoints.db" if not url else url.removeprefix("sqlite:///")
    conn = _sqlite(str(path))
    try:
        yield SqliteSaver(conn)
    finally:
        conn.close()


def _sqlite(path: str) -> sqlite3.Connection:
    from pathlib import Path

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")  # readers (the inbox) never block a running thread
    return conn


@contextmanager
def _postgres(url: str) -> Iterator[BaseCheckpointSaver]:
    try:
        from langgraph.checkpoint.postgres import PostgresSaver  # type: ignore[import-not-found]
    except ImportError as exc:
        raise ConfigError(
            "a PostgreSQL checkpoint URL is set but langgraph-checkpoint-postgres is not "
            "installed: pip install langgraph-checkpoint-postgres, or unset "
            "ROBOTOPS_AGENTS__CHECKPOINT_URL to use the SQLite file"
        ) from exc
    with PostgresSaver.from_conn_string(url.replace("postgresql+psycopg://", "postgresql://")) as s:
        s.setup()
        yield s
