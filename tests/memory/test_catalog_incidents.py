"""Robots and incidents as catalog entities, whatever their source."""

from __future__ import annotations

import pytest

from robotops.errors import InvalidRequestError, NotFoundError
from robotops.memory.catalog import Catalog


def _incident(n: int, robot: str = "amr-07", source: str = "fleet") -> dict:
    return {
        "id": f"i{n}",
        "robot_id": robot,
        "kind": "stall",
        "time_ns": n * 10**9,
        "source": source,
    }


def test_robots_and_incidents_round_trip(tmp_path):
    with Catalog(f"sqlite:///{tmp_path / 'c.db'}") as catalog:
        catalog.note_robot("amr-07", source="fleet", seen_ns=5)
        catalog.note_robot("amr-07", source="ingest", site="dock", seen_ns=9)
        [robot] = catalog.robots()
        assert (robot.source, robot.site, robot.first_seen_ns, robot.last_seen_ns) == (
            "fleet",
            "dock",
            5,
            9,
        )
        assert catalog.add_incidents([_incident(2), _incident(1, "104", "edge")]) == 2
        assert catalog.add_incidents([_incident(2)]) == 0  # same id: kept as it was
        assert [i.id for i in catalog.incidents()] == ["i1", "i2"]
        assert [i.id for i in catalog.incidents(source="edge")] == ["i1"]
        catalog.set_incident_cause("i2", "glare", 0.8)
        assert catalog.incidents(robot_id="amr-07")[0].cause == "glare"
        with pytest.raises(NotFoundError):
            catalog.set_incident_cause("nope", "glare", 0.5)


def test_unknown_sources_are_refused(tmp_path):
    with Catalog(f"sqlite:///{tmp_path / 'c.db'}") as catalog:
        with pytest.raises(InvalidRequestError, match="source"):
            catalog.add_incidents([_incident(1, source="rumour")])
        with pytest.raises(InvalidRequestError, match="source"):
            catalog.note_robot("x", source="rumour")
        assert catalog.incidents() == [] and catalog.robots() == []
