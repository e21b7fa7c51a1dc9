"""The one error type users see: a one-line message that names the place it comes from."""

from __future__ import annotations


class BenchError(Exception):
    """Bad input or a failed precondition, reported as ``bench: error: WHERE: MESSAGE``.

    ``where`` names the place: ``file:line: key`` for a suite, a path, or a plugin.
    """

    def __init__(self, message: str, where: str = ""):
        super().__init__(message)
        self.message, self.where = message, where

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message
