"""The wheel carries every package of the core: pyproject's explicit package list names each
folder of ``benchmark/`` that is a package (an editable install finds them anyway; a wheel built
from a list that misses one installs a bench whose ``import benchmark.suite`` fails)."""

from __future__ import annotations

import tomllib

from tests.conftest import ROOT


def test_every_core_package_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(path.parent.relative_to(ROOT).parts) for path in (ROOT / "benchmark").rglob("__init__.py")}
    assert found, "no package found under benchmark/"
    assert found - listed == set(), f"packages missing from pyproject.toml: {sorted(found - listed)}"
    assert {name for name in listed if name.startswith("benchmark")} - found == set()
