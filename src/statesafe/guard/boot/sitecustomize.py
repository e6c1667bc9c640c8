"""Start-up hook of ``statesafe run``: guard this Python process, then run the sitecustomize it hid.

``statesafe run`` puts this directory first on PYTHONPATH, so every Python
process started under it (any interpreter, any venv, that can import statesafe)
runs this file at start-up. The environment carries the mode and the policy
directory; a process that cannot import statesafe says so on stderr and runs
unguarded; a policy that cannot be loaded stops the process (exit 2).
"""

import os
import sys


def _guard():
    mode = os.environ.get("STATESAFE_GUARD")
    if mode not in ("enforce", "warn"):
        return
    try:
        import statesafe.guard
        from statesafe.errors import StatesafeError
    except ImportError as exc:
        sys.stderr.write(f"statesafe run: warning: {sys.executable} cannot import statesafe ({exc}); "
                         "this process is not guarded\n")
        return
    try:
        statesafe.guard.install(mode, policy=os.environ.get("STATESAFE_GUARD_POLICY") or None,
                                exit_on_violation=True)
    except StatesafeError as exc:
        sys.stderr.write(f"statesafe: error: {exc}\n")
        sys.stderr.flush()
        os._exit(2)


def _chain():
    """Run the sitecustomize this one shadows (a venv's or the distribution's), if any."""
    import importlib.machinery
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))
    path = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


_guard()
_chain()
