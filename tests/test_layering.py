"""The layering of DESIGN.md is a test: the import-linter contracts in pyproject.toml.

The packages install under ``robotops.`` through a package-dir mapping, which import-linter
cannot follow on disk, so the test lays the sources out as a wheel would (copies of the ``.py``
files under one ``robotops/`` folder) and runs ``lint-imports`` on that tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def stage(dest: Path) -> Path:
    """Copy every mapped package's sources to where it installs; returns the folder to import."""
    mapping = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-dir"
    ]
    for package, folder in sorted(mapping.items(), key=lambda kv: kv[0].count(".")):
        target = dest.joinpath(*package.split("."))
        source = ROOT / folder
        ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
        if package == "robotops":  # its own modules only; the mapped subpackages come next
            target.mkdir(parents=True)
            for f in source.glob("**/*.py"):
                rel = f.relative_to(source)
                if rel.parts[0] not in {p.split(".")[1] for p in mapping if p != "robotops"}:
                    (target / rel).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(f, target / rel)
        else:
            shutil.copytree(source, target, ignore=ignore, dirs_exist_ok=True)
    return dest


def lint(staged: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(staged)}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports_command;"
            " sys.exit(lint_imports_command())",
            "--config",
            str(ROOT / "pyproject.toml"),
            "--no-cache",
        ],
        cwd=staged,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return stage(tmp_path_factory.mktemp("layering"))


def test_every_layering_contract_is_kept(staged: Path):
    result = lint(staged)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_a_forbidden_import_breaks_the_contract(staged: Path, tmp_path: Path):
    broken = stage(tmp_path / "broken")
    (broken / "robotops" / "memory" / "blobs.py").open("a").write(
        "\nimport robotops.tools.toolset  # noqa: F401  (forbidden: memory above tools)\n"
    )
    result = lint(broken)
    assert result.returncode != 0
    assert "memory imports nothing above core" in result.stdout and "BROKEN" in result.stdout
