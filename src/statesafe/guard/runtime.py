"""The runtime guard: refuses raw writes to policy files while the process runs.

One PEP 578 audit hook does the checking. It sees every ``open`` (builtins,
``io``, ``codecs``, ``pathlib``, ``os.open``, ``os.fdopen``, C extensions that go
through Python's file API), every rename, remove and truncate, before the file
changes, whatever name the function was imported under. ``builtins.open`` is not
wrapped: the hook already sees it, and a wrapper would add a Python call to
every read. The one monkeypatch is ``os.open``, because its audit event drops
``dir_fd``; the wrapper passes it to the hook.

Checks are ordered by cost: an open without write flags returns after one
bitwise test; a write whose file name cannot belong to the policy costs one
``lstat`` (to catch a symlink or a hard link under another name); only names the
policy may match are resolved and classified (:mod:`statesafe.policy`, the one
classifier). What statesafe's own writers do inside
:func:`statesafe.sanction.sanctioned` passes; nothing else does.

    import statesafe.guard
    statesafe.guard.install()            # or mode="warn"; uninstall() disarms it
    with statesafe.guard.guarded(): ...  # on for a block

The audit events it handles are those :data:`statesafe.effects.PYTHON_APIS` names
(:data:`statesafe.effects.AUDIT_EVENTS`), one handler each, plus two of its own
bookkeeping (``os.mkdir``, the install probe); tests/test_guard_events.py fails if
the table names an event with no handler here. This module is the implementation;
:mod:`statesafe.guard` re-exports its public API.

What stays out of reach: see docs/guard.md.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import stat
import sys
import warnings
from _thread import get_ident
from contextvars import ContextVar

from statesafe import sanction
from statesafe.effects import AUDIT_EVENTS, WRITE_FLAG_NAMES, Kind, flag_bits_kind
from statesafe.errors import PolicyViolation, PolicyWarning, StatesafeError
from statesafe.names import BACKUP_MARK, beyond_keep, parse_backup
from statesafe.policy import FileClass, Policy, load_policy

__all__ = ["install", "uninstall", "guarded", "suspended", "mode", "take_violations", "add_scratch",
           "current", "restore", "Snapshot"]


def _bits(names) -> int:
    bits = 0
    for name in names:
        bits |= getattr(os, name, 0)
    return bits


#: the open flags that make an open a write (the effects table's): the hot path tests these bits
_WRITE_FLAGS = _bits(WRITE_FLAG_NAMES)
_NEW_ONLY = os.O_CREAT | os.O_EXCL
_FLAG_NAMES = ("O_WRONLY", "O_RDWR", "O_APPEND", "O_CREAT", "O_EXCL", "O_TRUNC")
_UNRELATED_MAX = 4096

#: The compliant call to name in each refusal.
INSTEAD = {
    FileClass.DESTRUCTIVE: "statesafe.write(path, data) or statesafe.transaction()",
    FileClass.COMPANION: "statesafe.write(path, data) (or rebuild it in a temp file and os.replace it)",
    FileClass.COMPILED: "statesafe.write(path, data) (or rebuild it in a temp file and os.replace it)",
    FileClass.LOG: "statesafe.append(path, record), or open(path, 'a')",
    FileClass.BACKUP: "statesafe.restore(path, backup); statesafe prunes old backups itself",
}

#: The event install() raises to see that the hook is live (another audit hook may refuse ours).
_PROBE = "statesafe.guard.probe"

# The real objects, saved once at import (restored only if the current one is ours).
_real_os_open = os.open

#: dir_fd of the os.open call in progress (its audit event does not carry it).
_OPEN_DIR_FD: ContextVar[int | None] = ContextVar("statesafe_guard_dir_fd", default=None)


class _State:
    """What an armed guard knows: its mode, its policy, and what it has seen."""

    def __init__(self, mode: str, policy: Policy, exit_on_violation: bool):
        self.mode = mode
        self.policy = policy
        self.exit_on_violation = exit_on_violation
        #: (st_dev, st_ino) -> path of policy files seen: hard links to them are the file
        self.known: dict[tuple[int, int], str] = {}
        #: directories whose whole-tree removal is cleanup, not data loss (see docs/guard.md):
        #: given ones (pytest's --basetemp), and ones this process made while guarded
        self.scratch: list[str] = []
        self.made: set[str] = set()
        #: rmtree calls in progress on scratch trees: (rmtree frame, tree top + os.sep)
        self.cleanups: list[tuple[object, str]] = []
        #: destructive file (real path) -> (its backup, its (dev, ino, size, mtime_ns) when backed up)
        self.watched: dict[str, tuple[str, tuple[int, int, int, int]]] = {}
        #: (thread, backup) that shutil.copyfile is about to create
        self.pending: tuple[int, str] | None = None
        #: file names Policy.may_match_name said no to (the policy is immutable: a memo)
        self.unrelated: set[str] = set()


_state: _State | None = None  # None: disarmed (the hook stays, as hooks cannot be removed)
_hook_added = False
_hook_live = False
_atexit_registered = False
_violations: list[str] = []


# --- public API ------------------------------------------------------------------------------

def install(mode: str = "enforce", *, policy: Policy | str | os.PathLike | None = None,
            exit_on_violation: bool = False) -> None:
    """Arm the guard for this process (every thread), for the policy of ``policy`` or the cwd.

    ``exit_on_violation``: end the process with status 1 at exit if any write was
    refused, even when the script caught the PolicyViolation (``statesafe run``).
    Calling it again replaces the mode and policy; the hook is added only once.
    Raises ConfigError for a broken policy source, here rather than at some write.
    """
    global _state, _hook_added, _atexit_registered
    if mode not in ("enforce", "warn"):
        raise ValueError(f"guard mode must be 'enforce' or 'warn', got {mode!r}")
    if not isinstance(policy, Policy):
        policy = load_policy(policy)
    state = _State(mode, policy, exit_on_violation)
    if _state is not None:
        state.scratch, state.made = list(_state.scratch), set(_state.made)
    _remember_policy_files(state, {os.fspath(policy.root) if policy.root else None, os.getcwd()})
    _state = state
    if not _hook_added:
        _hook_added = True
        sys.addaudithook(_audit)
    if not _hook_live:
        sys.audit(_PROBE)
        if not _hook_live:
            _state = None
            raise StatesafeError("cannot install the guard: an existing audit hook refused sys.addaudithook")
    _patch_os_open()
    if exit_on_violation and not _atexit_registered:
        _atexit_registered = True
        atexit.register(_exit_if_violated)


def uninstall() -> None:
    """Disarm the guard and restore ``os.open`` (if it is still ours)."""
    global _state
    _state = None
    if os.open is _guarded_os_open:
        os.open = _real_os_open
        os.supports_dir_fd.discard(_guarded_os_open)


def mode() -> str | None:
    """'enforce', 'warn', or None when the guard is off."""
    return _state.mode if _state else None


class Snapshot:
    """The guard as :func:`current` found it armed: what was in force, and a token for :func:`restore`.

    Read ``mode``, ``policy`` and ``exit_on_violation``; hand it to ``restore()`` to put that
    very state back (with what it had seen: inodes, scratch trees, watched backups).
    """

    __slots__ = ("_state",)

    def __init__(self, state: _State):
        self._state = state

    @property
    def mode(self) -> str:
        return self._state.mode

    @property
    def policy(self) -> Policy:
        return self._state.policy

    @property
    def exit_on_violation(self) -> bool:
        return self._state.exit_on_violation

    def __repr__(self) -> str:
        return f"<statesafe.guard.Snapshot mode={self.mode!r} root={self.policy.root!s}>"


def current() -> Snapshot | None:
    """The guard in force now, as a :class:`Snapshot` to hand back to :func:`restore`; None when off."""
    return Snapshot(_state) if _state is not None else None


def restore(snapshot: Snapshot | None) -> None:
    """Put back what :func:`current` returned: that armed state, or the guard off (None)."""
    if snapshot is not None and not isinstance(snapshot, Snapshot):
        raise TypeError(f"restore() takes what current() returned, not {type(snapshot).__name__}")
    _restore(snapshot._state if snapshot is not None else None)


@contextlib.contextmanager
def guarded(mode: str = "enforce", **options):
    """The guard on for a block; whatever was in force before comes back after."""
    before = _state
    install(mode, **options)
    try:
        yield
    finally:
        _restore(before)


@contextlib.contextmanager
def suspended():
    """The guard off for a block (every thread), then back as it was: for test fixtures that
    lay down sample data raw, e.g. ``shutil.copytree(SAMPLE, tmp_path / "work")``."""
    before = _state
    uninstall()
    try:
        yield
    finally:
        _restore(before)


def take_violations() -> list[str]:
    """The refusals recorded since the last call, and forget them (for test runners)."""
    taken = _violations[:]
    del _violations[:]
    return taken


def add_scratch(directory: str | os.PathLike) -> None:
    """Treat ``directory`` as scratch space: removing whole trees in it is cleanup."""
    if _state is not None:
        _state.scratch.append(_tree_prefix(os.path.realpath(os.fspath(directory))))


def _restore(state: _State | None) -> None:
    """Put back an earlier armed state (or none) as it was."""
    global _state
    if state is None:
        uninstall()
    else:
        _state = state
        _patch_os_open()


def _patch_os_open() -> None:
    if os.open is _real_os_open:
        os.open = _guarded_os_open
        os.supports_dir_fd.add(_guarded_os_open)  # so shutil and os keep their fd-based code paths


# --- the hook --------------------------------------------------------------------------------

def _audit(event: str, args: tuple, _write_flags: int = _WRITE_FLAGS) -> None:
    # Runs for every audit event in the process: a read costs the first two tests.
    __tracebackhide__ = True  # pytest: show the caller's line, not the guard's frames
    if event == "open":
        if args[2] & _write_flags and _state is not None:
            _on_open(_state, *args)
        return
    handler = _HANDLERS.get(event)
    if handler is not None and _state is not None:
        handler(_state, *args)


def _guarded_os_open(path, flags, mode=0o777, *, dir_fd=None):
    if dir_fd is None:
        return _real_os_open(path, flags, mode)
    token = _OPEN_DIR_FD.set(dir_fd)
    try:
        return _real_os_open(path, flags, mode, dir_fd=dir_fd)
    finally:
        _OPEN_DIR_FD.reset(token)


def _on_probe(state: _State) -> None:
    global _hook_live
    _hook_live = True


def _on_open(state: _State, path, mode, flags) -> None:
    __tracebackhide__ = True
    if _sanctioned():
        return
    if type(path) is str:  # the common case, spelled out: this runs for every write
        text = path
    elif isinstance(path, int):
        _check_fd(state, path, _describe_open(mode, flags), flags)
        return
    else:
        text = os.fsdecode(path)
    dir_fd = _OPEN_DIR_FD.get()
    if dir_fd is not None and os.path.isabs(text):
        dir_fd = None
    policy = state.policy
    cls, where = None, None
    name = _basename(text)
    if name not in state.unrelated:
        if policy.may_match_name(name):
            where = _absolute(text, dir_fd)
            cls = policy.classify_name(_lexical(where)) or policy.classify(where)
        elif len(state.unrelated) < _UNRELATED_MAX:
            state.unrelated.add(name)
    if cls is None:
        if flags & _NEW_ONLY == _NEW_ONLY:
            return  # a file that does not exist yet cannot be another name for one
        try:
            st = os.lstat(text) if dir_fd is None else os.lstat(text, dir_fd=dir_fd)
        except (OSError, ValueError):
            return  # nothing there yet: not another name for anything
        if st.st_nlink < 2 and not stat.S_ISLNK(st.st_mode):
            return  # one name, not a link: the name is all there is, and it is not the policy's
        cls, where = _alias_class(state, text, dir_fd, st)
        if cls is None:
            return
    if cls is FileClass.LOG and flag_bits_kind(flags) is Kind.APPEND:
        return
    if cls is FileClass.BACKUP and _creating_watched_backup(state, where):
        return
    _refuse(state, where, cls, _describe_open(mode, flags))


def _on_rename(state: _State, src, dst, src_dir_fd=-1, dst_dir_fd=-1) -> None:
    policy = state.policy
    src_cls, src_path = _name_class(policy, src, src_dir_fd)
    dst_cls, dst_path = _name_class(policy, dst, dst_dir_fd)
    if sanction.active():
        if dst_cls is not None:
            _remember(state, src, src_dir_fd, dst_path)  # the policy file's inode from now on
        return
    if src_cls is not None:
        _refuse(state, src_path, src_cls, f"rename to {os.fsdecode(dst)}")
    elif not isinstance(src, int):
        _refuse_moving_a_tree(state, src, src_dir_fd, dst)
    if dst_cls is None:
        return
    if dst_cls in (FileClass.COMPANION, FileClass.COMPILED) and _is_fresh_temp(state, src, src_dir_fd):
        return  # the rebuild pattern the policy asks for
    if dst_cls is FileClass.DESTRUCTIVE and _is_fresh_temp(state, src, src_dir_fd) and _backed_up(state, dst_path):
        return  # a hand-rolled write that backed the file up first, as the guard saw
    _refuse(state, dst_path, dst_cls, f"rename/replace from {os.fsdecode(src)}")


def _on_remove(state: _State, path, dir_fd=-1) -> None:
    cls, where = _name_class(state.policy, path, dir_fd)
    if cls is None or sanction.active() or _in_cleanup(state, where):
        return
    if cls is FileClass.BACKUP and _beyond_keep_count(state, where):
        return  # pruning the oldest backups is part of the policy
    _refuse(state, where, cls, "delete")


def _on_truncate(state: _State, target, length) -> None:
    if sanction.active():
        return
    if isinstance(target, int):
        _check_fd(state, target, f"truncate to {length} bytes")
        return
    cls, where = _target_class(state, target)
    if cls is not None:
        _refuse(state, where, cls, f"truncate to {length} bytes")


def _on_copyfile(state: _State, src, dst) -> None:
    if sanction.active():
        return
    cls, where = _target_class(state, dst)
    if cls is FileClass.BACKUP and _watch_backup(state, src, where):
        state.pending = (get_ident(), where)  # copyfile opens it for writing next
        return
    if cls is not None:
        _refuse(state, where, cls, f"copy from {os.fsdecode(src)}")


def _on_link(state: _State, src, dst, src_dir_fd=-1, dst_dir_fd=-1, *_) -> None:
    dst_cls, dst_path = _name_class(state.policy, dst, dst_dir_fd)
    if sanction.active():
        return
    if dst_cls is FileClass.BACKUP and _watch_backup(state, src, dst_path):
        return
    if dst_cls is not None:
        _refuse(state, dst_path, dst_cls, f"hard link from {os.fsdecode(src)}")
    src_cls, src_path = _name_class(state.policy, src, src_dir_fd)
    if src_cls is not None:
        _remember(state, src, src_dir_fd, src_path)  # writes through the new name are writes to it


def _on_mkdir(state: _State, path, mode=None, dir_fd=-1) -> None:
    # A directory this process makes while guarded holds nothing a user had before.
    # (The event comes before the mkdir: a directory that exists already is not recorded.)
    # Recorded as spelled (made absolute, not resolved: mkdir is frequent, realpath is not cheap).
    with contextlib.suppress(OSError, ValueError):
        where = os.path.abspath(_absolute(os.fsdecode(path), dir_fd))
        if not os.path.lexists(where):
            state.made.add(where)


def _on_rmtree(state: _State, path, dir_fd=None) -> None:
    if sanction.active():
        return
    spelled = os.path.abspath(_absolute(os.fsdecode(path), dir_fd))
    top = _lexical(spelled)
    prefix = _tree_prefix(top)
    state.cleanups = [(f, p) for f, p in state.cleanups if _on_stack(f)]
    if _is_scratch(state, prefix) or _made_here(state, spelled) or _made_here(state, top):
        state.cleanups.append((_outside_frame(), prefix))
        return
    for full, cls in _policy_files_under(state, top):
        _refuse(state, full, cls, f"delete by shutil.rmtree({top!r})")


#: Most files looked at under a directory being renamed (a rename is one cheap call; this bounds its check).
_RENAME_WALK_MAX = 20_000


def _refuse_moving_a_tree(state: _State, src, dir_fd, dst) -> None:
    """Renaming a directory renames away the policy files (and backups) inside it."""
    try:
        text = os.fsdecode(src)
        st = os.lstat(text, dir_fd=dir_fd) if dir_fd not in (None, -1) else os.lstat(text)
    except (OSError, ValueError):
        return
    if not stat.S_ISDIR(st.st_mode):
        return  # a plain file (or a symlink, which moves alone): its own name was checked already
    spelled = os.path.abspath(_absolute(text, dir_fd))
    top = _lexical(spelled)
    if _is_scratch(state, _tree_prefix(top)) or _made_here(state, spelled) or _made_here(state, top):
        return
    for full, cls in _policy_files_under(state, top, _RENAME_WALK_MAX):
        _refuse(state, full, cls, f"rename of the directory {top!r} to {os.fsdecode(dst)}")
        return


def _policy_files_under(state: _State, top: str, limit: int | None = None):
    """(path, class) of each policy file or backup in the tree, looking at ``limit`` files at most."""
    seen = 0
    for directory, _dirs, files in os.walk(top):
        for name in files:
            seen += 1
            if limit is not None and seen > limit:
                return
            if state.policy.may_match_name(name):
                full = os.path.join(directory, name)
                cls = state.policy.classify_name(full)
                if cls is not None:
                    yield full, cls


#: The handler of each audit event of the effects table (the writes the guard refuses).
#: ``open`` comes first in _audit itself (the hot path); the others go through _HANDLERS.
_REFUSERS = {
    "open": _on_open,
    "os.rename": _on_rename,
    "os.remove": _on_remove,
    "os.truncate": _on_truncate,
    "shutil.copyfile": _on_copyfile,
    "os.link": _on_link,
    "shutil.rmtree": _on_rmtree,
}
#: Events the guard watches for its own bookkeeping, not in the table: the directories this
#: process makes (the cleanup rule) and the probe install() sends to see that the hook is live.
_BOOKKEEPING = {
    "os.mkdir": _on_mkdir,
    _PROBE: _on_probe,
}
#: Events the effects table names that have no handler here: a write technique the guard would
#: not see (tests/test_guard_events.py fails on any, rather than every guarded start-up).
UNHANDLED = AUDIT_EVENTS - _REFUSERS.keys()
#: The dispatch: every event of the table (but open) to its handler, then the bookkeeping ones.
_HANDLERS = {event: _REFUSERS[event] for event in sorted(AUDIT_EVENTS - UNHANDLED - {"open"})}
_HANDLERS.update(_BOOKKEEPING)


# --- resolving names -------------------------------------------------------------------------

_sanctioned = sanction.active
if os.altsep:  # Windows: either separator
    _basename = os.path.basename
else:
    def _basename(text: str) -> str:
        return text[text.rfind(os.sep) + 1:]

def _fd_directory(fd: int) -> str | None:
    """The path of an open directory descriptor, where the OS can say (Linux, macOS)."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        pass
    try:
        import fcntl
        return os.fsdecode(fcntl.fcntl(fd, fcntl.F_GETPATH, bytes(1024)).rstrip(b"\0"))
    except (ImportError, AttributeError, OSError):
        return None


def _absolute(text: str, dir_fd: int | None) -> str:
    """``text`` made absolute against ``dir_fd`` or the cwd (kept relative if dir_fd is unknowable)."""
    if os.path.isabs(text):
        return text
    base = os.getcwd() if dir_fd is None or dir_fd < 0 else _fd_directory(dir_fd)
    return os.path.join(base, text) if base else text


def _lexical(path: str) -> str:
    """The path with its directory resolved but its last component kept (not followed)."""
    head, name = os.path.split(path)
    if name in ("", ".", ".."):
        return os.path.realpath(path)
    return os.path.join(os.path.realpath(head or "."), name)


def _name_class(policy: Policy, path, dir_fd) -> tuple[FileClass | None, str | None]:
    """Class of the name itself (no symlink followed at the end): for renames and deletes."""
    if isinstance(path, int):
        return None, None
    text = os.fsdecode(path)
    if not policy.may_match_name(os.path.basename(text)):
        return None, None
    where = _lexical(_absolute(text, dir_fd))
    return policy.classify_name(where), where


def _target_class(state: _State, path) -> tuple[FileClass | None, str | None]:
    """Class of a file about to be changed in place (by name): its name, where the name leads,
    or a symlink or hard link to a policy file."""
    text = os.fsdecode(path)
    cls, where = _name_class(state.policy, text, -1)
    if where is not None and cls is None:
        cls = state.policy.classify(where)
    if cls is None:
        cls, where = _alias_class(state, text, None)
    return cls, where


def _alias_class(state: _State, text: str, dir_fd: int | None,
                 st: os.stat_result | None = None) -> tuple[FileClass | None, str | None]:
    """A symlink or hard link under an unrelated name that leads to a policy file."""
    if st is None:
        try:
            st = os.lstat(text, dir_fd=dir_fd) if dir_fd is not None else os.lstat(text)
        except (OSError, ValueError):
            return None, None
    if stat.S_ISLNK(st.st_mode):
        where = os.path.realpath(_absolute(text, dir_fd))
        cls = state.policy.classify(where)
        if cls is not None:
            return cls, where
        try:
            st = os.stat(where)
        except OSError:
            return None, None
    if st.st_nlink < 2:
        return None, None
    known = _known_path(state, st)
    if known is None:
        known = _sibling_link(state, _absolute(text, dir_fd), st)
    return (state.policy.classify(known), known) if known else (None, None)


def _sibling_link(state: _State, path: str, st: os.stat_result) -> str | None:
    """A policy file in the same directory that is the same inode (a hard link beside it)."""
    directory = os.path.dirname(path) or "."
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if state.policy.may_match_name(entry.name) and state.policy.classify(entry.path):
                    other = entry.stat()
                    if (other.st_dev, other.st_ino) == (st.st_dev, st.st_ino):
                        state.known[(st.st_dev, st.st_ino)] = entry.path
                        return entry.path
    except OSError:
        pass
    return None


def _check_fd(state: _State, fd: int, attempted: str, flags: int = os.O_TRUNC) -> None:
    """os.fdopen / os.ftruncate on a descriptor: refused if it is a known policy file."""
    try:
        st = os.fstat(fd)
    except OSError:
        return
    known = _known_path(state, st)
    cls = state.policy.classify(known) if known else None
    if cls is None or (cls is FileClass.LOG and flag_bits_kind(flags) is Kind.APPEND):
        return
    _refuse(state, known, cls, f"{attempted} (file descriptor {fd})")


def _known_path(state: _State, st: os.stat_result) -> str | None:
    """The recorded policy file with this inode, if it still has it (inode numbers get reused)."""
    key = (st.st_dev, st.st_ino)
    path = state.known.get(key)
    if path is not None:
        try:
            now = os.stat(path)
        except OSError:
            now = None
        if now is None or (now.st_dev, now.st_ino) != key:
            del state.known[key]
            return None
    return path


def _is_fresh_temp(state: _State, src, dir_fd) -> bool:
    """A regular file with no other name: renaming it onto a rebuilt file loses nothing."""
    try:
        text = os.fsdecode(src)
        st = os.lstat(text, dir_fd=dir_fd) if dir_fd not in (None, -1) else os.lstat(text)
    except (OSError, ValueError):
        return False
    return stat.S_ISREG(st.st_mode) and st.st_nlink == 1 and _known_path(state, st) is None


def _remember(state: _State, path, dir_fd, as_path: str | None) -> None:
    """Record a policy file's inode (a regular file's), under the name it has as a policy file."""
    with contextlib.suppress(OSError, ValueError, TypeError):
        text = os.fsdecode(path)
        st = os.stat(text, dir_fd=dir_fd) if dir_fd not in (None, -1) else os.stat(text)
        if stat.S_ISREG(st.st_mode):
            state.known[(st.st_dev, st.st_ino)] = as_path or os.path.realpath(text)


def _remember_policy_files(state: _State, roots: set[str | None]) -> None:
    """Record the inodes of the policy files (and their backups) under the policy root and the cwd."""
    policy = state.policy
    names = policy.literal_patterns()
    for root in filter(None, roots):
        for name in names:
            _remember(state, os.path.join(root, name), None, None)
        for directory in {os.path.dirname(os.path.join(root, name)) for name in names}:
            with contextlib.suppress(OSError), os.scandir(directory) as entries:
                for entry in entries:  # backups: named after the file, not listed in the policy
                    if BACKUP_MARK in entry.name and policy.classify_name(entry.path) is FileClass.BACKUP:
                        _remember(state, entry.path, None, None)


# --- hand-rolled backups (the guard watched the file being backed up) ------------------------

def _signature(st: os.stat_result) -> tuple[int, int, int, int]:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _watch_backup(state: _State, src, backup: str | None) -> bool:
    """A new backup of a destructive file, copied or linked from that very file: watch it."""
    parsed = parse_backup(os.path.basename(backup or ""))
    if parsed is None or parsed.corrupted or os.path.lexists(backup):
        return False
    base = os.path.join(os.path.dirname(backup), parsed.base)
    try:
        source = os.path.realpath(os.fsdecode(src))
        if source != os.path.realpath(base) or state.policy.classify(base) is not FileClass.DESTRUCTIVE:
            return False
        state.watched[source] = (backup, _signature(os.stat(source)))
    except (OSError, ValueError):
        return False
    return True


def _creating_watched_backup(state: _State, where: str | None) -> bool:
    """The open shutil.copyfile makes of the backup it was just allowed to create."""
    pending, state.pending = state.pending, None
    return where is not None and pending == (get_ident(), _lexical(where)) and not os.path.lexists(where)


def _backed_up(state: _State, target: str | None) -> bool:
    """The file has a backup the guard watched being made, and has not changed since."""
    entry = state.watched.pop(os.path.realpath(target or ""), None)  # one backup, one replace
    if entry is None:
        return False
    backup, signature = entry
    try:
        now, kept = os.stat(target), os.stat(backup)
    except OSError:
        return False
    return _signature(now) == signature and (
        (kept.st_dev, kept.st_ino) == signature[:2] or kept.st_size == signature[2])


def _beyond_keep_count(state: _State, backup: str | None) -> bool:
    """A backup older than the newest keep-count backups of its file (snapshots counted apart)."""
    if backup is None:
        return False
    try:
        names = os.listdir(os.path.dirname(backup))
    except OSError:
        return False
    return os.path.basename(backup) in beyond_keep(names, state.policy.keep_backups)


# --- scratch trees (the cleanup rule) --------------------------------------------------------

def _tree_prefix(path: str) -> str:
    return path.rstrip(os.sep) + os.sep


def _is_scratch(state: _State, prefix: str) -> bool:
    return any(prefix.startswith(root) for root in (*_temp_roots(), *state.scratch))


def _made_here(state: _State, path: str) -> bool:
    """The directory, or one above it, was made by this process while guarded."""
    while path not in state.made:
        parent = os.path.dirname(path)
        if parent == path:
            return False
        path = parent
    return True


_temp_cache: list[str] = []


def _temp_roots() -> list[str]:
    if not _temp_cache:
        import tempfile
        _temp_cache.append(_tree_prefix(os.path.realpath(tempfile.gettempdir())))
    return _temp_cache


def _on_stack(frame) -> bool:
    f = sys._getframe(1)
    while f is not None:
        if f is frame:
            return True
        f = f.f_back
    return False


def _in_cleanup(state: _State, where: str | None) -> bool:
    """Inside an rmtree of a scratch tree, still running in this thread, that holds ``where``."""
    if not state.cleanups or where is None:
        return False
    return any(where.startswith(prefix) and _on_stack(frame) for frame, prefix in state.cleanups)


# --- refusing --------------------------------------------------------------------------------

def _describe_open(mode, flags: int) -> str:
    if mode is not None:
        return f"open with mode {mode!r}"
    names = [n for n in _FLAG_NAMES if getattr(os, n, 0) and flags & getattr(os, n) == getattr(os, n)]
    return f"os.open with {'|'.join(names) or 'O_RDONLY'}"


def _refuse(state: _State, path: str | None, cls: FileClass, attempted: str) -> None:
    """Warn; in enforce mode also record and raise. Nothing has been opened or changed yet."""
    __tracebackhide__ = True
    violation = PolicyViolation(path or "?", cls.value, attempted, INSTEAD[cls], warn=False)
    if state.mode == "enforce":
        _violations.append(str(violation))
    try:
        warnings.warn(str(violation), PolicyWarning, stacklevel=_caller_level())
    except PolicyWarning:  # warnings turned into errors (-W error): still raise the refusal itself
        if state.mode != "enforce":
            raise
    if state.mode == "enforce":
        raise violation


def _outside_frame():
    """The innermost frame that is not the guard's (for rmtree: the rmtree call itself)."""
    f = sys._getframe(1)
    while f is not None and f.f_globals.get("__name__") == __name__:
        f = f.f_back
    return f


_STDLIB = os.path.dirname(os.__file__) + os.sep


def _caller_level() -> int:
    """stacklevel for warnings.warn that points at the caller: past the guard and the stdlib."""
    level, f = 1, sys._getframe(1)
    while f.f_back is not None and (f.f_globals.get("__name__") == __name__ or (
            f.f_code.co_filename.startswith(_STDLIB) and "site-packages" not in f.f_code.co_filename)):
        level, f = level + 1, f.f_back
    return level


def _exit_if_violated() -> None:
    """At exit: a process that had a write refused fails, even if it caught the refusal.

    Only ``os._exit`` can set the status from an atexit handler, and it skips the rest of
    shutdown; so first run the exit handlers registered before this one and flush every
    file the script left open, or its buffered output would be lost.
    """
    if _violations and _state is not None and _state.exit_on_violation:
        atexit.unregister(_exit_if_violated)
        atexit._run_exitfuncs()
        _flush_open_files()
        first = _violations[0]
        more = f" (and {len(_violations) - 1} more)" if len(_violations) > 1 else ""
        os.write(2, f"statesafe: {first}{more}\n".encode("utf-8", "replace"))
        os._exit(1)


def _flush_open_files() -> None:
    """Flush every open buffered or text writer (text wrappers first: they feed their buffers)."""
    import gc
    import io
    files = [o for o in gc.get_objects() if isinstance(o, (io.TextIOBase, io.BufferedIOBase))]
    files.sort(key=lambda o: not isinstance(o, io.TextIOBase))
    for f in (sys.stdout, sys.stderr, *files):
        with contextlib.suppress(Exception):
            if not f.closed:
                f.flush()
