"""Everything statesafe raises on purpose.

All of it is a :class:`StatesafeError`. A write that fails on an OS error raises a
:class:`WriteError`, also an ``OSError`` keeping the errno, naming the file, the step
and the cause. :class:`PolicyViolation` (the guard's refusal) is deliberately not an
``OSError``, so ``except OSError:`` cannot swallow it; it warns before it is raised and
survives pickling (pytest-xdist). On the CLI each is one ``statesafe: error:`` line, exit 2.
"""

from __future__ import annotations

import errno as _errno
import os
import warnings


class StatesafeError(Exception):
    """Base of every error statesafe raises on purpose."""


class ConfigError(StatesafeError):
    """A policy source (statesafe.toml, pyproject.toml, FAILSAFE.md) that cannot be used."""

    def __init__(self, path: os.PathLike | str | None, problem: str):
        self.path = None if path is None else os.fspath(path)
        self.problem = problem
        super().__init__(path, problem)

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}" if self.path else self.problem


class WriteError(StatesafeError, OSError):
    """A write that failed on an OS error: names file, step and cause; keeps the errno.

    It is an OSError so callers that already handle disk errors keep working, and
    a StatesafeError so they can tell statesafe's refusals apart.
    """

    def __init__(self, path: os.PathLike | str, step: str, cause: BaseException | str):
        self.path = os.fspath(path)
        self.step = step
        self.cause = cause
        code = getattr(cause, "errno", None) or _errno.EIO
        reason = cause.strerror if isinstance(cause, OSError) and cause.strerror else str(cause)
        OSError.__init__(self, code, reason, self.path)

    def __str__(self) -> str:
        return f"{self.path}: {self.step} failed: {self.strerror} (errno {self.errno})"

    def __reduce__(self):
        return (type(self), (self.path, self.step, str(self.cause)))


class LockError(StatesafeError):
    """A lock that could not be taken (for example, a timeout ran out)."""


class RestoreError(StatesafeError):
    """A restore that was refused: the source is not a backup of the file."""


class StaleError(StatesafeError):
    """Compiled content that does not carry the policy's required metadata."""


class PolicyViolation(StatesafeError):
    """A write that the policy forbids: raw writes to policy files, or write() on a log.

    Not an OSError, so ``except OSError:`` in a script cannot swallow it; it also
    warns before it is raised, so ``except Exception:`` cannot hide it either.
    """

    def __init__(self, path: os.PathLike | str, file_class: str, attempted: str, instead: str,
                 *, warn: bool = True):
        self.path = os.fspath(path)
        self.file_class = file_class
        self.attempted = attempted
        self.instead = instead
        super().__init__(self.path, file_class, attempted, instead)
        if warn:
            warnings.warn(str(self), PolicyWarning, stacklevel=3)

    def __str__(self) -> str:
        return (f"PolicyViolation: {self.attempted} on {self.path} ({self.file_class} file) "
                f"is not allowed; use {self.instead}")

    def __reduce__(self):
        return (_rebuild_violation, (self.path, self.file_class, self.attempted, self.instead))


def _rebuild_violation(path, file_class, attempted, instead):
    return PolicyViolation(path, file_class, attempted, instead, warn=False)


class PolicyWarning(UserWarning):
    """Emitted for every policy violation: the refusal in enforce mode, the only signal in warn mode."""
