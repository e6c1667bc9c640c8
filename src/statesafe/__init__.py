"""statesafe: keeps an AI skill's persistent state from being silently destroyed.

The public API is imported lazily, so ``import statesafe.guard`` (on the hot
path of every guarded script's start-up) pays only for the policy model.
"""

from __future__ import annotations

import importlib

from statesafe.errors import (
    ConfigError,
    LockError,
    PolicyViolation,
    RestoreError,
    StaleError,
    StatesafeError,
    WriteError,
)

__version__ = "0.1.0"

_LAZY = {
    "write": "statesafe.writers",
    "append": "statesafe.writers",
    "transaction": "statesafe.transactions",
    "lock": "statesafe.recovery",  # the lock that settles an interrupted transaction first
    "backups": "statesafe.backup",  # not statesafe.backups: importing a submodule binds its name on the package
    "restore": "statesafe.backup",
    "recover": "statesafe.recovery",
    "compiled_metadata": "statesafe.compiled",
    "check_compiled": "statesafe.compiled",
    "load_policy": "statesafe.policy",
    "FileClass": "statesafe.policy",
    "Policy": "statesafe.policy",
}

__all__ = [
    "ConfigError", "LockError", "PolicyViolation", "RestoreError", "StaleError", "StatesafeError",
    "WriteError", "__version__", *_LAZY,
]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'statesafe' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
