"""The triage agent's procedure: which robot and which incident a question is about."""

from __future__ import annotations

import pytest

from robotops.errors import InvalidRequestError, NotFoundError
from robotops.sim.fleet.models import Incident
from robotops.tools.triage.answer import pick_incident, resolve_robot

ROBOTS = ["101", "104", "amr-07"]


@pytest.mark.parametrize(
    ("question", "robot"),
    [
        ("why did #104 stall?", "104"),
        ("Robot 104 keeps stopping", "104"),
        ("what happened to amr-07?", "amr-07"),
        ("and #0104?", "104"),
    ],
)
def test_robots_are_resolved_from_the_ways_people_name_them(question, robot):
    assert resolve_robot(question, ROBOTS) == robot


def test_an_unknown_robot_is_a_clear_error():
    with pytest.raises(InvalidRequestError, match="known: 101, 104, amr-07"):
        resolve_robot("why did #999 stall?", ROBOTS)


def _inc(n: int, kind: str, robot: str = "104") -> Incident:
    return Incident(
        incident_id=f"i{n}",
        robot_id=robot,
        kind=kind,
        time_ns=n,
        zone="a",
        log_name="l.mcap",
        policy_version="v1",
    )


def test_the_latest_incident_of_the_asked_kind_is_picked():
    incidents = [
        _inc(1, "stall"),
        _inc(2, "collision"),
        _inc(3, "stall"),
        _inc(4, "nav_error"),
        _inc(5, "stall", robot="101"),
    ]
    assert pick_incident("why did #104 stall?", incidents, "104").incident_id == "i3"
    assert pick_incident("did #104 collide?", incidents, "104").incident_id == "i2"
    assert pick_incident("what is up with #104", incidents, "104").incident_id == "i4"
    with pytest.raises(NotFoundError):
        pick_incident("why did #102 stall?", incidents, "102")
