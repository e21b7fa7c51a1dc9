"""What a check reports: :class:`Check` and :class:`Report`, and the runner of a case's steps.

A case (a model on a task, a dataset with its options...) is a list of :class:`Step`; each returns
a violation or ``None``, or raises. :func:`run_steps` turns every outcome into one :class:`Check`:
passed, failed with one line, or skipped with the reason -- a plugin's exception is the finding,
never the kit's crash.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from benchmark.api import MissingDependency

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


@dataclass(frozen=True)
class Check:
    """One check's outcome. ``scope`` says what it was run on (a task, a spec in a plugin)."""

    name: str
    status: str
    detail: str = ""
    scope: str = ""

    def line(self) -> str:
        """``check 'fit returns self' (rating): fit returned None``."""
        where = f" ({self.scope})" if self.scope else ""
        return f"check '{self.name}'{where}" + (f": {self.detail}" if self.detail else "")

    @property
    def id(self) -> str:
        """``rating: fit returns self``: a pytest id."""
        return f"{self.scope}: {self.name}" if self.scope else self.name

    def assert_ok(self) -> None:
        """Raise ``AssertionError`` with :meth:`line` if it failed; skip the test if it was skipped."""
        if self.status == FAILED:
            raise AssertionError(self.line())
        if self.status == SKIPPED:
            import pytest

            pytest.skip(self.line())


@dataclass(repr=False)
class Report:
    """Every check run on one plugin; ``ok`` when none failed. ``print(report)`` shows the
    counts, then one line per failed and per skipped check."""

    subject: str
    checks: list[Check] = field(default_factory=list)

    def _with(self, status: str) -> list[Check]:
        return [c for c in self.checks if c.status == status]

    @property
    def passed(self) -> list[Check]:
        return self._with(PASSED)

    @property
    def failed(self) -> list[Check]:
        return self._with(FAILED)

    @property
    def skipped(self) -> list[Check]:
        return self._with(SKIPPED)

    @property
    def ok(self) -> bool:
        return not self.failed

    def violations(self) -> list[str]:
        """One line per failed check."""
        return [c.line() for c in self.failed]

    def status(self, name: str, scope: str | None = None) -> str:
        """The status of the check called ``name`` (in ``scope``, if given)."""
        found = [c.status for c in self.checks if c.name == name and scope in (None, c.scope)]
        if not found:
            raise KeyError(f"no check {name!r} in the report of {self.subject}")
        return FAILED if FAILED in found else found[0]

    def add(self, other: Report, scope: str = "") -> None:
        """Take ``other``'s checks, their scope prefixed (``model 'svd', rating``)."""
        for c in other.checks:
            inner = ", ".join(s for s in (scope or other.subject, c.scope) if s)
            self.checks.append(Check(c.name, c.status, c.detail, inner))

    def __str__(self) -> str:
        head = (f"{self.subject}: {len(self.passed)} passed, {len(self.failed)} failed, "
                f"{len(self.skipped)} skipped")
        lines = [f"  FAILED {c.line()}" for c in self.failed]
        lines += [f"  skipped {c.line()}" for c in self.skipped]
        return "\n".join([head, *lines])

    __repr__ = __str__  # what pytest shows for ``assert report.ok, report``


class Violation(Exception):
    """Raised by a check: the contract is broken (the message says how)."""


class Skip(Exception):
    """Raised by a check: it does not apply (the message says why)."""


@dataclass
class Step:
    name: str
    run: Callable[[], str | None]
    essential: bool = False  # when it fails, the later steps cannot run


def run_steps(report: Report, steps: list[Step], scope: str = "") -> None:
    """Run the steps in order; each returns a violation (or None), or raises.

    An exception fails the step ("raised ..."), a :class:`Skip` skips it. After an essential
    step fails or is skipped, or a library turns out to be missing, the remaining steps are
    skipped.
    """
    stopped = ""
    for step in steps:
        if stopped:
            report.checks.append(Check(step.name, SKIPPED, stopped, scope))
            continue
        try:
            problem = step.run()
        except Skip as exc:
            report.checks.append(Check(step.name, SKIPPED, str(exc), scope))
            stopped = str(exc) if step.essential else ""
            continue
        except MissingDependency as exc:
            report.checks.append(Check(step.name, SKIPPED, str(exc), scope))
            stopped = str(exc)
            continue
        except Violation as exc:
            problem = str(exc)
        except Exception as exc:  # the plugin's own failure is the finding
            problem = f"raised {exception_line(exc)}{raised_at(exc)}"
        report.checks.append(Check(step.name, FAILED if problem else PASSED, problem or "", scope))
        if problem and step.essential:
            stopped = f"needs '{step.name}', which failed"


def raised_at(exc: BaseException) -> str:
    """`` (at model.py:12 in fit)``: the innermost frame outside bench, where the plugin raised."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if f"{os.sep}benchmark{os.sep}" not in f.filename]
    return f" (at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno} in {frames[-1].name})" if frames else ""


def exception_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 300 else text[:297] + "..."

