"""Errors that teach: every jtbench error names the file, the problem and the fix."""

from __future__ import annotations

from pathlib import Path


class JtbenchError(Exception):
    """Base error. ``str(err)`` reads ``<file>: <problem> — fix: <fix>``."""

    def __init__(self, problem: str, *, file: str | Path | None = None, fix: str | None = None) -> None:
        self.problem = problem
        self.file = str(file) if file is not None else None
        self.fix = fix
        super().__init__(self.__str__())

    def __str__(self) -> str:
        text = f"{self.file}: {self.problem}" if self.file else self.problem
        return f"{text} — fix: {self.fix}" if self.fix else text


class ManifestError(JtbenchError):
    """A data manifest is malformed (names the file and the key)."""


class VideoError(JtbenchError):
    """A video cannot be decoded or is unusable (empty, one frame, truncated)."""


class UnknownNameError(JtbenchError, KeyError):
    """A registry lookup failed; the message lists close matches."""

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return JtbenchError.__str__(self)


class WeightsError(JtbenchError):
    """A model file is missing, corrupt, or would need the network in offline mode."""


class InputError(JtbenchError):
    """A user-supplied input (index file, case id, reference) is invalid."""
