"""A run's environments: each one the suite's models name is built before any cell is sent
(:func:`prepare`), and what a cell records of it is decided here once.

A model line with ``env: NAME`` (:mod:`benchmark.environments`) runs its cells in workers of
that environment's pool (:mod:`benchmark.engine.local`). The run asks for each environment once:
:func:`benchmark.environments.build` reuses one already built for the same specification in
milliseconds (the hash covers the requirements, the Python version and bench's worker side), so
only a new or changed specification waits for pip.

**What a cell records.** Its ``code`` names the environment (``{"name", "hash"}``) and its
``libraries`` are the versions installed *there*, read from the environment's record
(:meth:`~benchmark.environments.Environment.library_versions`): a stored cell is reused only by a
run whose environment is the same, and a rebuilt environment with another LensKit recomputes
it. The worker, running in the environment, records the versions it sees in the row's
``libraries`` too.

**A failed build is not a crash.** Its one line (pip's last meaningful error) is printed once,
and every cell of the models that name it is recorded by the driver as ``missing-dependency``
with ``environment 'NAME' could not be built: ...`` — the status :func:`benchmark.runner.decide`
retries on the next run, when the network or the requirement may be fixed — while the rest of
the suite runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmark.environments import Environment, EnvironmentSpec, build
from benchmark.errors import BenchError
from benchmark.provenance import machine, now
from benchmark.record import Cell, CellResult
from benchmark.suite import ModelConfig

FAILED_STATUS = "missing-dependency"
"""A cell whose environment could not be built: what its model depends on is missing, and the
next run tries again (as for a library that is not installed)."""


@dataclass(frozen=True)
class RunEnvironments:
    """The environments of one run by the suite's names for them: built, or why not."""

    ready: Mapping[str, Environment] = field(default_factory=dict)
    failed: Mapping[str, str] = field(default_factory=dict)  # name -> the build's one-line reason
    specs: Mapping[str, EnvironmentSpec] = field(default_factory=dict)

    def by_hash(self) -> dict[str, Environment]:
        """The built ones by hash: the engine's pools (:attr:`LocalExecutor.environments`)."""
        return {env.hash: env for env in self.ready.values()}

    def code(self, spec: EnvironmentSpec | None) -> dict[str, Any] | None:
        """What a cell's ``code`` says of its environment: its name and hash."""
        if spec is None:
            return None
        built = self.ready.get(spec.name)
        return {"name": spec.name, "hash": built.hash if built is not None else spec.hash}

    def libraries(self, spec: EnvironmentSpec | None, requires: Mapping[str, str]) -> dict[str, str] | None:
        """The versions of a model's libraries in its environment (``None``: not in one, or the
        environment was not built: the driver's are recorded then)."""
        built = self.ready.get(spec.name) if spec is not None else None
        return built.library_versions(requires) if built is not None else None

    def record(self) -> dict[str, Any]:
        """What the run's ``environment.json`` says of them: each one's provenance (hash, Python,
        requirements and the versions installed), or why it could not be built; ``{}`` without any."""
        if not self.specs:
            return {}
        return {"environments": {name: self.ready[name].provenance() if name in self.ready else
                                 {"name": name, "hash": spec.hash, "requirements": list(spec.requirements),
                                  "error": self.failed.get(name, "")} for name, spec in self.specs.items()}}

    def unbuilt(self, cells: Sequence[Cell], run_id: str) -> tuple[list[Cell], list[CellResult]]:
        """(the cells to run, the results of those whose environment could not be built)."""
        runnable: list[Cell] = []
        failed: list[CellResult] = []
        for cell in cells:
            named = cell.code.get("environment") if isinstance(cell.code, Mapping) else None
            name = str(named.get("name")) if isinstance(named, Mapping) else ""
            reason = self.failed.get(name)
            if reason is None:
                runnable.append(cell)
                continue
            result = CellResult.start(cell, run_id, machine(), now())
            result.status, result.finished_at = FAILED_STATUS, now()
            result.error = f"environment {name!r} could not be built: {reason}"
            failed.append(result)
        return runnable, failed


def needed(models: Sequence[ModelConfig]) -> dict[str, EnvironmentSpec]:
    """The environments the suite's model configurations name, by name, in suite order."""
    return {model.env.name: model.env for model in models if model.env is not None}


def prepare(models: Sequence[ModelConfig], executor: str, log: Callable[[str], None]) -> RunEnvironments:
    """Build (or find built) every environment ``models`` name; a failure is one line to ``log``.

    Environments need worker processes on this machine: with ``--executor inline`` or ``dask``
    a suite that names one is refused in one line before anything runs."""
    specs = needed(models)
    if specs and executor != "local":
        users = sorted({model.label for model in models if model.env is not None})
        raise BenchError(f"{', '.join(users[:3])}{' ...' if len(users) > 3 else ''} run in environments "
                         f"({', '.join(specs)}), which need --executor local (not {executor})")
    ready: dict[str, Environment] = {}
    failed: dict[str, str] = {}
    for name, spec in specs.items():
        try:
            ready[name] = build(spec, log=log)
        except BenchError as error:
            failed[name] = error.message.removeprefix(f"environment {name!r}: ")
            log(f"environment {name!r} could not be built: {failed[name]}; its models' cells are "
                f"recorded as {FAILED_STATUS}")
    return RunEnvironments(ready, failed, specs)
