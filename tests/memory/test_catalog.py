"""The SQL catalog and provenance walks, on SQLite files."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from robotops.errors import ConfigError, InvalidRequestError, NotFoundError
from robotops.memory.catalog import (
    ArtifactRow,
    Catalog,
    EventRow,
    LogRow,
    SegmentRow,
    TopicRow,
)
from robotops.memory.lineage import (
    ancestors,
    children,
    descendants,
    lineage,
    parents,
    record_artifact,
)
from robotops.settings import get_settings


def sha(n: int) -> str:
    return f"{n:064x}"


def add_log(catalog: Catalog, n: int, robot: str = "101", site: str = "cincinnati") -> str:
    log_id = sha(n)
    with catalog.transaction() as session:
        session.add(
            LogRow(
                id=log_id,
                source_path=f"/logs/{n}.mcap",
                robot_id=robot,
                site=site,
                format="mcap",
                size_bytes=10,
                start_ns=n * 1000,
                end_ns=n * 1000 + 5,
                message_count=3,
                tool="test",
                tool_version="0",
            )
        )
        session.flush()
        session.add(
            TopicRow(
                log_id=log_id,
                name="/odom",
                schema_name="nav_msgs/msg/Odometry",
                encoding="cdr",
                message_count=3,
                decoded_ok=True,
            )
        )
        session.add(
            SegmentRow(
                id=f"{log_id[:16]}:{n}",
                log_id=log_id,
                start_ns=n * 1000,
                end_ns=n * 1000 + 2,
                features={"speed": {"max": 0.0}},
                description="stopped",
            )
        )
        session.add(EventRow(log_id=log_id, time_ns=n * 1000 + 1, kind="stall"))
        record_artifact(session, sha256=log_id, kind="log", produced_by="external", tool_version="")
    return log_id


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    with Catalog(f"sqlite:///{tmp_path / 'deep' / 'catalog.db'}") as cat:
        yield cat


def test_default_url_comes_from_settings(tmp_path: Path) -> None:
    with Catalog.from_settings(get_settings()) as cat:
        assert cat.url.endswith("data/catalog.db")
        assert (tmp_path / "data" / "catalog.db").is_file()


def test_bad_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not a SQLAlchemy URL"):
        Catalog("not a url at all")


def test_rows_and_queries(catalog: Catalog) -> None:
    a = add_log(catalog, 1, robot="101")
    b = add_log(catalog, 2, robot="102", site="dayton")
    assert [log.id for log in catalog.list_logs()] == [a, b]
    assert [log.id for log in catalog.list_logs(robot_id="102")] == [b]
    assert [log.id for log in catalog.list_logs(site="cincinnati")] == [a]
    assert catalog.get_log(a).robot_id == "101"
    assert catalog.topics(a)[0].schema_name == "nav_msgs/msg/Odometry"
    assert catalog.segments(a, start_ns=1001, end_ns=1001)[0].features["speed"]["max"] == 0.0
    assert catalog.segments(a, start_ns=5000) == []
    assert [e.log_id for e in catalog.events(kind="stall")] == [a, b]
    assert catalog.counts(a) == {"topics": 1, "segments": 1, "events": 1}
    assert catalog.logs_from_source("/logs/2.mcap")[0].id == b


def test_prefix_lookup(catalog: Catalog) -> None:
    with catalog.transaction() as session:
        for log_id in ("abcd0" + "0" * 59, "abcd1" + "0" * 59):
            session.add(
                LogRow(
                    id=log_id,
                    source_path="x",
                    format="mcap",
                    size_bytes=0,
                    start_ns=0,
                    end_ns=0,
                    message_count=0,
                    tool="t",
                    tool_version="0",
                )
            )
    assert catalog.get_log("ABCD1").id == "abcd1" + "0" * 59
    with pytest.raises(InvalidRequestError, match="ambiguous"):
        catalog.get_log("abcd")
    with pytest.raises(NotFoundError):
        catalog.get_log("ffff")
    with pytest.raises(InvalidRequestError, match="not a valid log id"):
        catalog.get_log("zz")


def test_transaction_is_all_or_nothing(catalog: Catalog) -> None:
    with pytest.raises(RuntimeError), catalog.transaction() as session:
        session.add(
            LogRow(
                id=sha(9),
                source_path="x",
                format="mcap",
                size_bytes=0,
                start_ns=0,
                end_ns=0,
                message_count=0,
                tool="t",
                tool_version="0",
            )
        )
        session.flush()
        record_artifact(session, sha256=sha(9), kind="log", produced_by="t", tool_version="0")
        raise RuntimeError("half way")
    assert not catalog.has_log(sha(9))
    with catalog.session() as session:
        assert session.scalar(select(func.count()).select_from(ArtifactRow)) == 0


def test_provenance_both_ways(catalog: Catalog) -> None:
    log = add_log(catalog, 1)
    with catalog.transaction() as session:
        record_artifact(
            session,
            sha256=sha(100),
            kind="window",
            produced_by="cut",
            tool_version="1",
            parents=[(log, "cut-from")],
        )
        record_artifact(
            session,
            sha256=sha(200),
            kind="dataset",
            produced_by="curate",
            tool_version="1",
            parents=[(sha(100), "derived-from")],
        )
        record_artifact(
            session,
            sha256=sha(300),
            kind="policy",
            produced_by="train",
            tool_version="1",
            parents=[(sha(200), "trained-on"), ("e" * 64, "initialised-from")],
        )
        # the same artifact again only adds edges, and never an edge to itself
        record_artifact(
            session,
            sha256=sha(300),
            kind="policy",
            produced_by="train",
            tool_version="1",
            parents=[(sha(200), "trained-on"), (sha(300), "x")],
        )
    assert [e.sha256 for e in parents(catalog, sha(300))] == [sha(200), "e" * 64]
    assert parents(catalog, sha(300))[1].kind is None  # outside the catalog
    assert [(e.sha256, e.kind) for e in children(catalog, log)] == [(sha(100), "window")]
    # what was this made from / what was made from this
    assert ancestors(catalog, sha(300)) == [sha(200), "e" * 64, sha(100), log]
    assert descendants(catalog, log) == [sha(100), sha(200), sha(300)]
    seen = lineage(catalog, sha(200)[-12:].rjust(64, "0"))
    assert seen.artifact.kind == "dataset"
    assert [e.relation for e in seen.parents] == ["derived-from"]
    with pytest.raises(NotFoundError):
        lineage(catalog, "f" * 64)
