"""``statesafe.lock(path)``: one writer at a time per file, across processes and threads.

Built on filelock (an flock() on Unix, msvcrt on Windows: cross-platform and well
kept) on ``.<name>.lock`` beside the resolved file, so a symlinked policy file and
its target share one lock. The lock file is kept: deleting it would let two
processes lock two different inodes under one name.

Within a process the lock is re-entrant per thread (write() and transaction() take
it themselves, so a caller that already holds it does not deadlock), other threads
wait, and one thread may hold the locks of several files. Like every flock, it is
advisory and unreliable on some network filesystems (NFS without lock support).
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from statesafe import names
from statesafe.errors import LockError
from statesafe.fsutil import resolve_target, stat_or_none

_POLL_INTERVAL = 0.002  # filelock polls a non-blocking flock; a short wait keeps hand-overs quick


class _Held:
    """A file's lock in this process: a thread lock in front of the one cross-process lock."""

    def __init__(self, lock_path: Path, mode: int):
        self.thread_lock = threading.RLock()
        self.depth = 0
        self.file_lock = FileLock(lock_path, mode=mode, thread_local=False)


_held: dict[Path, _Held] = {}
_registry = threading.Lock()
_inherited: list[dict[Path, _Held]] = []


def _forget_after_fork() -> None:
    """A forked child starts with no locks; the parent's are kept alive, never released from here
    (releasing a flock inherited through fork would release the parent's)."""
    global _held, _registry
    _inherited.append(_held)
    _held = {}
    _registry = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def lock_path(target: Path) -> Path:
    """Where the lock of an already resolved ``target`` lives."""
    return target.with_name(names.lock_name(target.name))


def _entry(target: Path) -> _Held:
    with _registry:
        held = _held.get(target)
        if held is None:
            info = stat_or_none(target)
            # as private as the file, but always usable by its owner
            mode = (stat.S_IMODE(info.st_mode) & 0o666 | 0o600) if info else -1
            held = _held[target] = _Held(lock_path(target), mode)
        return held


@contextlib.contextmanager
def lock(path: str | os.PathLike, timeout: float | None = None) -> Iterator[Path]:
    """Hold ``path``'s exclusive lock for the block; yields the resolved file.

    ``timeout`` (seconds) bounds the wait; None waits as long as it takes. Raises
    LockError when the wait runs out or the lock file cannot be created.
    """
    target = resolve_target(path)
    held = _entry(target)
    if not held.thread_lock.acquire(timeout=-1 if timeout is None else timeout):
        raise LockError(f"{target}: lock not acquired within {timeout}s (held by another thread)")
    try:
        if held.depth == 0:
            try:
                held.file_lock.acquire(timeout=-1 if timeout is None else timeout, poll_interval=_POLL_INTERVAL)
            except Timeout:
                raise LockError(f"{target}: lock not acquired within {timeout}s "
                                f"(held by another process; lock file {held.file_lock.lock_file})") from None
            except OSError as exc:
                raise LockError(f"{target}: cannot lock {held.file_lock.lock_file}: "
                                f"{exc.strerror or exc}") from exc
        held.depth += 1
        try:
            yield target
        finally:
            held.depth -= 1
            if held.depth == 0:
                held.file_lock.release()
    finally:
        held.thread_lock.release()

