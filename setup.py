"""Packages found by setuptools under each folder that pyproject's package-dir maps into
``robotops``: a new subpackage ships without being listed anywhere. Everything else is in
pyproject.toml."""

import tomllib
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
MAPPING = tomllib.loads((HERE / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]


def packages() -> list[str]:
    """Each mapped package and every package below its folder, under its ``robotops.`` name."""
    found = []
    for name, folder in MAPPING.items():
        found.append(name)
        found += [f"{name}.{sub}" for sub in find_packages(str(HERE / folder))]
    return sorted(set(found))


setup(packages=packages())
