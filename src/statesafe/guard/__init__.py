"""The runtime guard: refuses raw writes to policy files while the process runs.

    import statesafe.guard
    statesafe.guard.install()            # or mode="warn"; uninstall() disarms it
    with statesafe.guard.guarded(): ...  # on for a block; what was in force comes back after
    with statesafe.guard.suspended(): ...  # off for a block (test fixtures seeding data raw)

    token = statesafe.guard.current()    # what is in force (None: off) ...
    statesafe.guard.restore(token)       # ... put back later (test runners)

The implementation is :mod:`statesafe.guard.runtime`; this package holds only the
runtime guard and what starts it: :mod:`~statesafe.guard.auto` (one import line),
:mod:`~statesafe.guard.run` (``statesafe run``), :mod:`~statesafe.guard.boot` (the
sitecustomize child processes start it with) and :mod:`~statesafe.guard.pytest_plugin`.
The agent hooks live in :mod:`statesafe.agents` and never import this package.
See docs/guard.md.
"""

from statesafe.guard.runtime import (
    Snapshot,
    add_scratch,
    current,
    guarded,
    install,
    mode,
    restore,
    suspended,
    take_violations,
    uninstall,
)

__all__ = ["install", "uninstall", "guarded", "suspended", "mode", "take_violations", "add_scratch",
           "current", "restore", "Snapshot"]
