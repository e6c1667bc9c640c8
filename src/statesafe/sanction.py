"""The sanctioned context: set while statesafe's own writers touch policy files.

The guard lets through what happens inside it and nothing else. A ContextVar
does not leak to other threads (each starts with a fresh context), and the
writers never call user code while it is set (data is serialised before).
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar

_ACTIVE: ContextVar[bool] = ContextVar("statesafe_sanctioned", default=False)


def active() -> bool:
    return _ACTIVE.get()


@contextlib.contextmanager
def sanctioned():
    token = _ACTIVE.set(True)
    try:
        yield
    finally:
        _ACTIVE.reset(token)
