"""A fleet made under a relative data dir still names policy weights that resolve anywhere."""

from __future__ import annotations

from pathlib import Path

from robotops.sim.campaign.policies import resolve_policy
from robotops.sim.fleet.shift import ensure_fleet
from robotops.sim.fleet.state import FleetStore


def test_policies_of_a_fleet_under_a_relative_dir_resolve(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ensure_fleet(FleetStore(Path(".robotops/demo/fleet")), 1, "cincinnati")
    ref = resolve_policy("v1", fleet_dir=Path(".robotops/demo/fleet"))
    assert Path(ref.weights_path).is_file(), ref.weights_path
    monkeypatch.chdir("/")  # and from elsewhere: the record holds an absolute path
    assert Path(ref.weights_path).is_absolute() and Path(ref.weights_path).is_file()
