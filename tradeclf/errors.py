"""Errors a user can cause, each with a message that names the input and says what to do."""

from __future__ import annotations


class TradeclfError(Exception):
    """Base class: the CLI prints the message and exits non-zero instead of a traceback."""

    exit_code = 1


class InputError(TradeclfError, ValueError):
    """Bad text, file or option given to predict, label or train."""

    exit_code = 2


class ModelError(TradeclfError):
    """A model folder that is missing, incomplete, tampered with or from another scikit-learn."""

    exit_code = 3


class DataError(TradeclfError):
    """A corpus that does not validate against its schema; carries every problem found."""

    exit_code = 4

    def __init__(self, message: str, problems: list | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class OutputBusyError(TradeclfError):
    """Another run holds the lock on the output: two runs into one file would corrupt it."""

    exit_code = 6


class WorkerError(TradeclfError):
    """A worker process died (killed, out of memory): the run can be resumed."""

    exit_code = 75  # EX_TEMPFAIL: try again (with --resume)
