"""Scenario files: one YAML file per scenario, readable and diffable, loaded with clear errors.

A family is a directory of ``<scenario_id>.yaml`` files. Loading a directory can skip the
malformed files (each reported with its file, field and reason) so one bad edit never hides
the rest.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from robotops.errors import ConfigError, NotFoundError
from robotops.sim.scenarios.spec import ScenarioSpec

SUFFIXES = (".yaml", ".yml", ".json")


class ScenarioFileError(ConfigError):
    """A scenario file that does not parse or validate: says which file, field and why."""

    def __init__(self, path: Path, field: str, reason: str) -> None:
        self.path, self.field, self.reason = Path(path), field, reason
        super().__init__(f"{path}: {field}: {reason}")


class LoadedScenarios(BaseModel):
    """The scenarios that loaded, and the files that did not (with why)."""

    scenarios: list[ScenarioSpec]
    errors: list[str] = []


def duplicate_ids(specs: list[ScenarioSpec]) -> list[str]:
    """Scenario ids used more than once, sorted."""
    counts = Counter(s.scenario_id for s in specs)
    return sorted(i for i, n in counts.items() if n > 1)


def dump_scenario(spec: ScenarioSpec) -> str:
    """YAML text of a scenario, keys in a stable order so files diff cleanly."""
    return yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


def write_scenarios(specs: list[ScenarioSpec], directory: Path) -> list[Path]:
    """Write one file per scenario into ``directory``; ids must be unique there."""
    directory.mkdir(parents=True, exist_ok=True)
    dupes = duplicate_ids(specs)
    if dupes:
        raise ConfigError(f"duplicate scenario ids {dupes[:5]}: each needs its own file")
    paths = []
    for spec in specs:
        path = directory / f"{spec.scenario_id}.yaml"
        tmp = path.with_suffix(".yaml.tmp")
        tmp.write_text(dump_scenario(spec))
        tmp.replace(path)
        paths.append(path)
    return paths


def load_scenario(path: Path) -> ScenarioSpec:
    """Parse and validate one scenario file (YAML, or JSON which YAML also reads)."""
    path = Path(path)
    if not path.is_file():
        raise NotFoundError("scenario file", str(path))
    try:
        data = yaml.safe_load(path.read_text())
    except UnicodeDecodeError as exc:
        raise ScenarioFileError(path, "file", f"not UTF-8 text ({exc.reason})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "file"
        raise ScenarioFileError(
            path, where, f"not valid YAML ({getattr(exc, 'problem', exc)})"
        ) from exc
    if not isinstance(data, dict):
        raise ScenarioFileError(path, "file", f"expected a mapping, got {type(data).__name__}")
    try:
        return ScenarioSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "file"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ScenarioFileError(path, field, first["msg"] + more) from exc


def scenario_files(path: Path) -> list[Path]:
    """The scenario files at ``path`` (a file, or a directory searched recursively), sorted."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise NotFoundError("scenario file or directory", str(path))
    return sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file())


def load_scenarios(path: Path, skip_bad: bool = False) -> LoadedScenarios:
    """Every scenario under ``path``; with ``skip_bad`` a malformed file is reported, not fatal."""
    specs, errors = [], []
    for file in scenario_files(path):
        try:
            specs.append(load_scenario(file))
        except ScenarioFileError as exc:
            if not skip_bad:
                raise
            errors.append(str(exc))
    dupes = duplicate_ids(specs)
    if dupes:
        raise ConfigError(f"{path}: scenario ids used twice: {dupes[:5]}")
    return LoadedScenarios(scenarios=specs, errors=errors)
