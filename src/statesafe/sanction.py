"""The sanctioned context: set while statesafe's own writers touch policy files.

The guard lets through what happens inside it and nothing else. A ContextVar
does not leak to other threads (each starts with a fresh context), and the
writers never call user code while it is set (data is serialised before).
"""

from __future__ import annotations

from contextvars import ContextVar

_ACTIVE: ContextVar[bool] = ContextVar("statesafe_sanctioned", default=False)


def active() -> bool:
    return _ACTIVE.get()


class sanctioned:  # noqa: N801 - used as ``with sanctioned():``, like a function
    """``with sanctioned():`` marks statesafe's own steps. A class rather than a generator-based
    context manager: append enters it once per line, and this costs a quarter as much."""

    __slots__ = ("_token",)

    def __enter__(self) -> None:
        self._token = _ACTIVE.set(True)

    def __exit__(self, *exc_info) -> None:
        _ACTIVE.reset(self._token)
