"""Crash-safe filesystem primitives the writers and transactions are built from.

The bottom layer: it imports nothing of statesafe but names and errors. The steps are put
together into one file's replace in :mod:`statesafe.commit`, and into a multi-file
transaction in :mod:`statesafe.transactions`.

Each step raises :class:`~statesafe.errors.WriteError` naming the file, the step
(one of :data:`STEPS`) and the OS cause, keeping its errno. Callers run them
inside :func:`statesafe.sanction.sanctioned`. A policy file's temps are only created
while holding its lock (:func:`statesafe.locking.locked`), so the lock holder may treat
any other temp of the file as stale. A file outside the policy is replaced without a
lock (no lock file beside it): there a temp is stale only once its writer's process is
gone (``remove_stale_temps(..., only_dead_writers=True)``).

Paths are taken as ``str`` or ``os.PathLike`` and the files made here are returned as ``str``:
a 1 KB write makes a dozen paths, and pathlib would cost more than the syscalls on them.

Permissions: a temp or a copied backup is created with the original's
permission bits (which the umask can only narrow), then given the original's
owner/group where the process may and the exact bits; a new file gets
``0o666 & ~umask`` from the kernel, like ``open()``. Nothing is ever created
more permissive than the file it belongs to.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import sys
import time
from collections import namedtuple

from statesafe import names
from statesafe.errors import WriteError

#: Every step a WriteError names: the steps of a write (backup, temp, write, fsync, rename,
#: directory fsync and prune), "lock" (taking a file's lock) and "remove" (a transaction's settle
#: deleting a file).
STEPS = ("lock", "backup", "temp", "write", "fsync", "rename", "directory fsync", "prune", "remove")

_CREATE_FLAGS = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
                 | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
_DIRECTORY_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_PROC_FD = "/proc/self/fd/" if os.path.isdir("/proc/self/fd") else None
#: open(2) flags that resolve a path without opening the file for I/O (Linux)
_PATH_FLAGS = os.O_PATH | os.O_CLOEXEC if _PROC_FD and hasattr(os, "O_PATH") else 0
_WINDOWS = sys.platform == "win32"
_MACOS = sys.platform == "darwin"
_POSIX_OWNERS = hasattr(os, "fchown")
_FCHMOD = hasattr(os, "fchmod")
#: Windows errors a reader, indexer or virus scanner holding the file causes in os.replace:
#: ERROR_ACCESS_DENIED, ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION.
_SHARING_ERRORS = frozenset({5, 32, 33})
_REPLACE_DELAYS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.8)  # about 1.6 s in all, then give up
_MAX_NAME_ATTEMPTS = 1000
_COPY_CHUNK = 1 << 20

#: What a writer holding a file's lock finds beside it, from one listing of its directory:
#: ``backups`` as (parsed name, path), newest first; ``temps``, the paths of its statesafe temps;
#: ``journal``, whether a transaction journal is in the directory.
Siblings = namedtuple("Siblings", "backups temps journal")


def resolve_target(path: str | os.PathLike) -> str:
    """The file a write really changes: a symlinked policy file is written through to its target.

    The link stays; the temp, backups and lock live beside the target, in the directory
    whose fsync makes the rename durable. Where there is /proc, an existing file is resolved
    by the kernel in one O_PATH open (os.path.realpath takes an lstat and a Python loop per
    path component); anything else, e.g. a file not made yet, by os.path.realpath.
    """
    path = os.fspath(path)
    if _PATH_FLAGS and isinstance(path, str):
        try:
            fd = os.open(path, _PATH_FLAGS)
        except OSError:
            pass
        else:
            try:
                resolved = opened_path(fd)
            finally:
                os.close(fd)
            if resolved is not None:
                return resolved
    return os.path.realpath(path)


def opened_path(fd: int) -> str | None:
    """The resolved path of an open file, read back from /proc; None where that cannot be told."""
    if not _PROC_FD:
        return None
    try:
        opened = os.readlink(f"{_PROC_FD}{fd}")
    except OSError:
        return None
    return opened if opened.startswith("/") and not opened.endswith(" (deleted)") else None


def stat_or_none(target: str | os.PathLike) -> os.stat_result | None:
    """The target's metadata, or None when it does not exist yet."""
    try:
        return os.stat(target)
    except FileNotFoundError:
        return None


def beside(target: str | os.PathLike, name: str) -> str:
    """The path of ``name`` in ``target``'s directory."""
    return os.path.join(os.path.dirname(target), name)


def _create_exclusive(path: str, like: os.stat_result | None) -> int:
    """Open a new file at ``path`` (never following a planted link) with ``like``'s permissions."""
    if like is None:
        return os.open(path, _CREATE_FLAGS, 0o666)  # the kernel applies the umask, like open()
    bits = stat.S_IMODE(like.st_mode)
    fd = os.open(path, _CREATE_FLAGS, bits)  # the umask can only narrow these bits
    try:
        if _POSIX_OWNERS and (like.st_uid != os.geteuid() or like.st_gid != os.getegid()):
            try:
                os.fchown(fd, like.st_uid, like.st_gid)
            except PermissionError:
                pass  # not ours to give away: the file keeps our owner, never wider bits
        if _FCHMOD:
            os.fchmod(fd, bits)  # after fchown, which may clear set-id bits
    except BaseException:
        os.close(fd)
        discard(path)
        raise
    return fd


def create_temp(target: str | os.PathLike, like: os.stat_result | None) -> tuple[int, str]:
    """A new temp beside ``target`` (unpredictable name, O_EXCL, O_NOFOLLOW): (fd, path)."""
    directory, base = os.path.split(target)
    for _ in range(_MAX_NAME_ATTEMPTS):
        temp = os.path.join(directory, names.temp_name(base))
        try:
            return _create_exclusive(temp, like), temp
        except FileExistsError:
            continue  # a planted name: never reuse it, draw another
        except OSError as exc:
            raise WriteError(target, "temp", exc) from exc
    raise WriteError(target, "temp", OSError(errno.EEXIST, "no free temp name"))


def write_all(fd: int, data: bytes, target: str | os.PathLike) -> None:
    """Write every byte (os.write may write fewer than asked)."""
    try:
        written = os.write(fd, data)
        if written < len(data):
            view = memoryview(data)[written:]
            while view:
                view = view[os.write(fd, view):]
    except OSError as exc:
        raise WriteError(target, "write", exc) from exc


def _fsync(fd: int) -> None:
    if _MACOS:
        import fcntl
        try:
            fcntl.fcntl(fd, fcntl.F_FULLFSYNC)  # plain fsync on macOS stops at the drive's cache
            return
        except OSError:
            pass  # filesystems without F_FULLFSYNC (network, FAT): fsync is the best there is
    os.fsync(fd)


def fsync_file(fd: int, target: str | os.PathLike) -> None:
    try:
        _fsync(fd)
    except OSError as exc:
        raise WriteError(target, "fsync", exc) from exc


def fsync_directory(directory: str | os.PathLike, target: str | os.PathLike) -> None:
    """Make renames and links in ``directory`` durable (a no-op on Windows, which cannot open one)."""
    if _WINDOWS:
        return
    try:
        fd = os.open(directory, _DIRECTORY_FLAGS)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise WriteError(target, "directory fsync", exc) from exc


def replace(source: str | os.PathLike, target: str | os.PathLike) -> None:
    """os.replace; on Windows only, a short bounded retry on sharing violations, then the error."""
    delays = iter(_REPLACE_DELAYS if _WINDOWS else ())
    while True:
        try:
            os.replace(source, target)
            return
        except OSError as exc:
            delay = next(delays, None) if getattr(exc, "winerror", None) in _SHARING_ERRORS else None
            if delay is None:
                raise WriteError(target, "rename", exc) from exc
            time.sleep(delay)


def discard(path: str | os.PathLike) -> None:
    """Remove a temp of ours on the way out of a failure; never masks the error being raised."""
    try:
        os.unlink(path)
    except OSError:
        pass


def write_temp(target: str | os.PathLike, data: bytes, like: os.stat_result | None) -> str:
    """A complete, fsynced temp beside ``target`` holding ``data``; nothing left behind on failure."""
    fd, temp = create_temp(target, like)
    try:
        write_all(fd, data, target)
        fsync_file(fd, target)
    except BaseException:
        os.close(fd)
        discard(temp)
        raise
    try:
        os.close(fd)
    except OSError as exc:  # NFS reports deferred write errors at close
        discard(temp)
        raise WriteError(target, "write", exc) from exc
    return temp


def _copy_into(target: str, backup: str) -> None:
    like = os.stat(target)
    fd = _create_exclusive(backup, like)
    try:
        with open(target, "rb") as source, os.fdopen(fd, "wb", closefd=False) as sink:
            shutil.copyfileobj(source, sink, _COPY_CHUNK)
        _fsync(fd)
    except BaseException:
        os.close(fd)
        discard(backup)
        raise
    os.close(fd)


def take_backup(target: str | os.PathLike, *, corrupted: bool = False, stamp: str | None = None,
                existing: list[tuple[names.BackupName, str]] | None = None) -> str | None:
    """Keep the current ``target`` as ``<name>.bak-<stamp>[-N][-corrupted]``; None if it does not exist.

    O(1) where the filesystem allows: a hard link to the current inode. That link is a
    faithful backup once the new content is renamed over ``target`` (the rename gives the
    name a new inode and leaves this one alone), so take it under the file's lock just
    before the rename. Where links fail it falls back to a fsynced copy. An existing name
    (an earlier backup in the same second, or a planted symlink) is never overwritten
    or followed: link and O_EXCL both refuse it, and the counter moves on. ``existing`` is
    :func:`siblings`' backups when the caller already has them.
    """
    taken = _take_backup(os.fspath(target), corrupted, stamp, existing)
    return taken and taken[1]


def _take_backup(target: str, corrupted: bool, stamp: str | None,
                 existing: list[tuple[names.BackupName, str]] | None) -> tuple[names.BackupName, str] | None:
    """:func:`take_backup`, returning the backup's parsed name too."""
    directory, base = os.path.split(target)
    stamp = stamp or names.utc_stamp()
    # after the newest of this second, even if older ones were pruned: a reused counter would sort
    # as the oldest backup and be pruned at once
    first = 1 + max((parsed.counter for parsed, _ in (backups_of(target) if existing is None else existing)
                     if parsed.stamp == stamp and parsed.corrupted == corrupted), default=-1)
    use_link = True
    for counter in range(first, first + _MAX_NAME_ATTEMPTS):
        parsed = names.BackupName(stamp, counter, base, corrupted)
        backup = os.path.join(directory, parsed.name)
        try:
            if use_link:
                try:
                    os.link(target, backup, follow_symlinks=False)
                    return parsed, backup
                except OSError as exc:
                    if exc.errno in (errno.EEXIST, errno.ENOENT):
                        raise
                    use_link = False  # no hard links here (FAT, some network mounts, EMLINK): copy
            _copy_into(target, backup)
            return parsed, backup
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno == errno.ENOENT and not os.path.lexists(target):
                return None  # nothing to back up
            raise WriteError(target, "backup", exc) from exc
    raise WriteError(target, "backup", OSError(errno.EEXIST, "no free backup name"))


def siblings(target: str | os.PathLike) -> Siblings:
    """The backups, temps and transaction journals beside ``target``, from one listing.

    A writer holding the file's lock takes it once: nothing else makes a backup or temp of
    the file, or starts a transaction on it, while the lock is held. Names that are not
    statesafe's (``x.bak-old``) and directories are ignored.
    """
    directory, base = os.path.split(os.fspath(target))
    backup_prefix, temp_prefix = base + names.BACKUP_MARK, base + names.TEMP_MARK
    backups, temps, journal = [], [], False
    try:
        with os.scandir(directory or ".") as entries:
            for entry in entries:
                name = entry.name
                if names.is_journal_name(name):  # first: a file may be named like a journal's start
                    journal = True
                elif name.startswith(base):
                    if name.startswith(backup_prefix):
                        parsed = names.parse_backup(name)
                        if parsed and parsed.base == base and not entry.is_dir(follow_symlinks=False):
                            backups.append((parsed, entry.path))
                    elif name.startswith(temp_prefix):
                        parsed_temp = names.parse_temp(name)
                        if parsed_temp and parsed_temp[0] == base and not entry.is_dir(follow_symlinks=False):
                            temps.append(entry.path)
    except FileNotFoundError:
        pass
    backups.sort(reverse=True)
    return Siblings(backups, temps, journal)


def backups_of(target: str | os.PathLike) -> list[tuple[names.BackupName, str]]:
    """Every statesafe backup of ``target`` beside it, newest first; unparseable names are ignored."""
    return siblings(target).backups


def prune(target: str | os.PathLike, keep: int, existing: list[tuple[names.BackupName, str]] | None = None
          ) -> list[str]:
    """Delete all but the ``keep`` newest regular backups and, separately, ``-corrupted`` snapshots.

    ``existing``: :func:`siblings`' backups (newest first) when the caller already has them.
    """
    removed = []
    entries = backups_of(target) if existing is None else existing
    doomed = names.excess((parsed for parsed, _ in entries), keep)
    for parsed, path in entries:
        if parsed in doomed:
            try:
                os.unlink(path)
            except FileNotFoundError:
                continue  # another process pruned it first
            except OSError as exc:
                raise WriteError(target, "prune", exc) from exc
            removed.append(path)
    return removed


def backup_and_prune(target: str | os.PathLike, keep: int, *, corrupted: bool = False,
                     existing: list[tuple[names.BackupName, str]] | None = None) -> str | None:
    """:func:`take_backup`, then :func:`prune` to ``keep``, from one listing of the directory
    (``existing``: :func:`siblings`' backups, taken under the lock)."""
    if existing is None:
        existing = backups_of(target)
    taken = _take_backup(os.fspath(target), corrupted, None, existing)
    if taken is not None:
        existing = sorted([*existing, taken], reverse=True)
    try:
        prune(target, keep, existing)
    except BaseException:
        if taken is not None:
            discard(taken[1])  # the write is abandoned: a copy of the unchanged file is no backup
        raise
    return taken and taken[1]


def _process_exists(pid: int) -> bool:
    if pid == os.getpid() or _WINDOWS:  # another thread's write in flight; Windows' os.kill terminates
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError, ValueError):
        return True  # exists but not ours (EPERM), or cannot tell: leave its temp alone
    return True


def remove_stale_temps(target: str | os.PathLike, *, only_dead_writers: bool = False,
                       temps: list[str] | None = None) -> list[str]:
    """Remove the stale temps of ``target`` before making a new temp: every temp when called
    holding the file's lock, else (``only_dead_writers``) those whose writer process no longer
    exists on this machine. ``temps``: :func:`siblings`' temps, when the caller already has them."""
    removed = []
    for temp in siblings(target).temps if temps is None else temps:
        if only_dead_writers and _process_exists(names.parse_temp(os.path.basename(temp))[1]):
            continue
        try:
            os.unlink(temp)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise WriteError(target, "temp", exc) from exc
        removed.append(temp)
    return removed


def hold_prior(target: str | os.PathLike) -> str | None:
    """A hard link to the current inode under a temp name, so a failed commit can put it back.

    For files without a backup (companion, compiled, outside the policy); the caller discards
    it once the new content has landed, and a crash leaves it as a stale temp, cleaned like any other.
    None when the file does not exist or cannot be linked.
    """
    directory, base = os.path.split(target)
    for _ in range(_MAX_NAME_ATTEMPTS):
        prior = os.path.join(directory, names.temp_name(base))
        try:
            os.link(target, prior, follow_symlinks=False)
            return prior
        except FileExistsError:
            continue
        except OSError:
            return None  # no such file, or no hard links here
    return None
