"""Helpers shared by the writer tests: directory listings, child processes, fault injection."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from statesafe import names

TRACKER = "threads_daily_tracker.json"
LOG = "threads_refresh.log"
COMPANION = "posts_by_date.md"


def temps(directory: Path) -> list[str]:
    return sorted(n for n in os.listdir(directory) if names.parse_temp(n))


def backup_names(directory: Path, base: str = TRACKER) -> list[str]:
    return sorted(n for n in os.listdir(directory) if (p := names.parse_backup(n)) and p.base == base)


#: never created: every bytecode lookup misses, the same way on every run
_PRIVATE_PYCACHE = os.path.join(tempfile.gettempdir(), f"statesafe-no-pycache-{os.getpid()}")


def child_env(stable: bool = False) -> dict[str, str]:
    """Environment for a child python running this checkout's statesafe.

    ``stable``: the same syscalls on every run. Bytecode is looked up in an empty private cache
    and never written, so other processes writing __pycache__ meanwhile cannot shift the
    syscall counts strace injection relies on.
    """
    env = dict(os.environ, PYTHONHASHSEED="0")
    if stable:
        env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONPYCACHEPREFIX=_PRIVATE_PYCACHE)
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_child(code: str, *args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=child_env(),
                          capture_output=True, text=True, timeout=timeout)


class Faults:
    """Make chosen os calls fail with a real errno, as the kernel would (monkeypatch-based).

    ``fail("fsync", errno.EIO, when=lambda *a: ...)`` wraps ``os.fsync`` so that calls the
    predicate accepts raise OSError(EIO); ``calls`` records every call's first argument.
    """

    def __init__(self, monkeypatch):
        self.monkeypatch = monkeypatch
        self.calls: dict[str, list] = {}

    def fail(self, name: str, code: int, when=lambda *args: True, times: int | None = None):
        real = getattr(os, name)
        remaining = [times]
        calls = self.calls.setdefault(name, [])

        def faulty(*args, **kwargs):
            calls.append(args[0] if args else None)
            if when(*args) and remaining[0] != 0:
                if remaining[0] is not None:
                    remaining[0] -= 1
                raise OSError(code, os.strerror(code), *(args[:1] if isinstance(args[0], (str, os.PathLike)) else ()))
            return real(*args, **kwargs)

        self.monkeypatch.setattr(os, name, faulty)


def fd_path(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


# --- strace fault injection ----------------------------------------------------------------

STRACE = shutil.which("strace")


def strace_fault(cwd: Path, code: str, args: list[str], syscall: str, error: str, which, reset,
                 inject_also: str = "") -> subprocess.CompletedProcess:
    """Run ``code`` under strace, failing the ``syscall`` that ``which = (n, predicate)`` picks:
    the n-th call whose traced line the predicate accepts.

    A dry run (after ``reset()``) counts the calls of ``syscall`` to find the N for
    ``inject=...:when=N``; then ``reset()`` again and the real run injects ``error`` there.
    ``inject_also`` (e.g. ``"linkat:error=EPERM"``) is one more injection, for both runs.
    """
    reset()
    trace = cwd.parent / f"{cwd.name}.strace"
    traced = syscall + ("," + inject_also.split(":")[0] if inject_also else "")
    base = [STRACE, "-qq", "-s", "64", "-e", f"trace={traced}",
            *(("-e", f"inject={inject_also}") if inject_also else ())]
    dry = subprocess.run([*base, "-o", str(trace), sys.executable, "-c", code, *args], cwd=cwd,
                         env=child_env(stable=True), capture_output=True, text=True, timeout=120)
    assert dry.returncode == 0, dry.stderr
    lines = [line for line in trace.read_text().splitlines() if re.match(rf"(\[pid +\d+\] )?{syscall}\(", line)]
    n, predicate = which
    picked = [i for i, line in enumerate(lines, 1) if predicate(line)]
    index = picked[n - 1] if len(picked) >= n else None
    assert index is not None, f"no {syscall} call matched in the dry run:\n" + "\n".join(lines[-20:])
    reset()
    return subprocess.run([*base, "-o", str(trace), "-e", f"inject={syscall}:error={error}:when={index}",
                           sys.executable, "-c", code, *args], cwd=cwd, env=child_env(stable=True),
                          capture_output=True, text=True, timeout=120)

