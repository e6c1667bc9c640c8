"""How the guard travels to child processes: this directory, first on PYTHONPATH.

Its ``sitecustomize.py`` installs the guard at start-up in every Python process
that inherits the environment :func:`environment` builds (``statesafe run``, and
``pytest --statesafe`` for the scripts its tests start).
"""

from __future__ import annotations

import os

BOOT_DIR = os.path.dirname(os.path.abspath(__file__))
#: the variables :func:`environment` sets
VARIABLES = ("PYTHONPATH", "STATESAFE_GUARD", "STATESAFE_GUARD_POLICY")


def environment(mode: str, policy_dir: str, base: dict[str, str] | os._Environ) -> dict[str, str]:
    """The variables that guard every Python process started with them (mode, policy directory)."""
    rest = [p for p in base.get("PYTHONPATH", "").split(os.pathsep) if p and p != BOOT_DIR]
    return {"PYTHONPATH": os.pathsep.join([BOOT_DIR, *rest]), "STATESAFE_GUARD": mode,
            "STATESAFE_GUARD_POLICY": policy_dir}
