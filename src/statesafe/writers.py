"""The sanctioned writers: ``statesafe.write`` and ``statesafe.append``.

``write`` dispatches on the file's class in the effective policy (see docs/writers.md):

- destructive: lock, settle an interrupted transaction, clear stale temps, then the
  one-file replace of :mod:`statesafe.commit`: temp + write + fsync, backup (a hard link
  of the current inode), prune, rename, directory fsync. Every fallible step but the
  last comes before the rename, so a failure leaves the original byte-identical; a
  failed directory fsync puts the original back before the error is raised.
- append-only log: refused (PolicyViolation); logs change only through ``append``.
- companion: the same without the backup; a failed rebuild leaves the prior copy.
- compiled: refused unless the content carries the policy's required fields.
- outside the policy: a plain atomic replace.

Data is serialised before the sanctioned context is entered, and nothing inside
it calls user code: the runtime guard lets through exactly these steps.
"""

from __future__ import annotations

import errno
import itertools
import json
import os
import random
import time
import warnings
from collections.abc import Mapping
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

from statesafe import fsutil
from statesafe.commit import replace_file
from statesafe.errors import PolicyViolation, PolicyWarning, WriteError
from statesafe.locking import locked, outermost
from statesafe.policy import FileClass, Policy, load_policy
from statesafe.recovery import settle_target
from statesafe.sanction import sanctioned

_APPEND_FLAGS = os.O_RDWR | os.O_APPEND | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_LINE_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "))
# JSONEncoder.encode builds its C encoder on every call; appends build it once (without the cycle
# check: a record that contains itself fails with RecursionError rather than ValueError)
_C_LINE = json.encoder.c_make_encoder and json.encoder.c_make_encoder(
    None, _LINE_ENCODER.default, json.encoder.encode_basestring, None, ": ", ", ", False, False, True)


def serialise(data: bytes | str | object) -> bytes:
    """bytes as given; str as UTF-8; anything else as JSON (UTF-8, indent 2, trailing newline)."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    if isinstance(data, str):
        return data.encode("utf-8")
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def write(path: str | os.PathLike, data: bytes | str | object, *, as_class: FileClass | str | None = None,
          policy: Policy | None = None) -> Path:
    """Write ``data`` to ``path`` the policy's way for its class; returns the file written.

    ``as_class`` overrides the classification (e.g. a tracker under an unusual name);
    ``policy`` overrides the effective policy of the working directory. A symlinked
    file is written through to its target and the link is kept.
    """
    payload = serialise(data)
    policy = policy or load_policy()
    target = fsutil.resolve_target(path)
    file_class = FileClass(as_class) if as_class is not None else policy.classify_name(target)
    if file_class is FileClass.LOG:
        raise PolicyViolation(target, file_class.value, "write()", "statesafe.append(path, record)")
    if file_class is FileClass.BACKUP:
        raise PolicyViolation(target, file_class.value, "write()",
                              "statesafe.restore(file, backup); backups are never rewritten")
    if file_class is FileClass.COMPILED:
        _check_compiled(target, payload, policy)
    keep = policy.keep_backups if file_class is FileClass.DESTRUCTIVE else None
    with sanctioned():
        beside = fsutil.siblings(target) if file_class is None else None
        if beside is not None and not beside.journal:  # no transaction may involve the file: no lock needed
            _replace_unlocked(target, payload, beside.temps)
        else:  # the lock settles (or waits for) a transaction first
            _replace(target, payload, keep_backups=keep)
    return Path(target)


def _replace(target: str, payload: bytes, *, keep_backups: int | None) -> None:
    """The atomic replace under the file's lock; with ``keep_backups``, also the backup and prune
    of a destructive write."""
    # one listing serves the settle check, the stale temps and the backups (nothing else makes any
    # of them while we hold the lock); it is taken again only after settling a transaction
    with locked(target):
        beside = fsutil.siblings(target)
        if beside.journal and outermost(target):  # a transaction that touched the file: settle it first
            settle_target(target)
            beside = fsutil.siblings(target)
        fsutil.remove_stale_temps(target, temps=beside.temps)
        replace_file(target, payload, backups=keep_backups, existing=beside.backups)


def _replace_unlocked(target: str, payload: bytes, temps: list[str]) -> None:
    """The plain atomic replace of a file outside the policy: no lock, so no lock file beside it.

    There is no backup or prune to serialise, and concurrent writers of one such file each
    rename a whole temp (the last rename wins). Without the lock a temp is stale only once its
    writer is gone, so only those of ``temps`` whose process is dead are removed.
    """
    fsutil.remove_stale_temps(target, only_dead_writers=True, temps=temps)
    replace_file(target, payload)


def _check_compiled(target: str, payload: bytes, policy: Policy) -> None:
    """Refuse (StaleError) compiled content that lacks the policy's required fields."""
    from statesafe.compiled import require_fields  # only compiled writes pay for the import

    require_fields(target, payload, policy)


# --- append-only logs -------------------------------------------------------------------
#
# append is on a skill's hot path (the acceptance: >= 0.8x a bare open(path, "a").write(line)),
# so the run_id, the timestamp, the line and the resolved path are each made the cheap way.

_second_cache = (-1, "")  # (second, "YYYY-MM-DDTHH:MM:SS")
_milli_cache = (-1, "")  # (millisecond, the whole timestamp)


def _utc_now() -> str:
    """UTC ISO 8601 with milliseconds, e.g. 2026-04-22T14:30:12.345Z (made once a millisecond)."""
    global _second_cache, _milli_cache
    milli = int(time.time() * 1000)
    if _milli_cache[0] != milli:
        second, fraction = divmod(milli, 1000)
        if _second_cache[0] != second:
            _second_cache = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
        _milli_cache = (milli, f"{_second_cache[1]}.{fraction:03d}Z")
    return _milli_cache[1]


def _new_run_ids() -> None:
    """Each process (a forked child too) draws 74 random bits for the first 20 hex digits and a
    random start for a 48-bit counter in the last 12: unique, in uuid4 form, and a third of
    uuid.uuid4()'s cost. An identifier, not a secret."""
    global _run_id_prefix, _run_id_counter
    digits = os.urandom(10).hex()
    variant = "89ab"[int(digits[16], 16) & 3]  # RFC 4122 variant, with the version nibble 4
    _run_id_prefix = f"{digits[:12]}4{digits[13:16]}{variant}{digits[17:]}"
    _run_id_counter = itertools.count(int.from_bytes(os.urandom(6), "big"))


_new_run_ids()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_run_ids)


def _run_id() -> str:
    """32 hex digits in uuid4 form, unique across processes (see :func:`_new_run_ids`)."""
    return f"{_run_id_prefix}{next(_run_id_counter) & 0xFFFF_FFFF_FFFF:012x}"


def record_fields(record: Mapping, supersedes: str | None = None) -> dict:
    """The fields a log line carries: ``run_id`` (uuid4 form, hex) and ``timestamp`` (UTC ISO 8601,
    milliseconds) first unless the record has its own, then the record, then ``supersedes``."""
    if not isinstance(record, (dict, Mapping)):  # dict first: the ABC check is slow
        raise TypeError(f"a log record must be a JSON object (a mapping), not {type(record).__name__}")
    fields = {"run_id": _run_id(), "timestamp": _utc_now(), **record}
    if supersedes is not None:
        fields["supersedes"] = supersedes
    return fields


def _encode(fields: Mapping) -> str:
    return "".join(_C_LINE(fields, 0)) if _C_LINE else _LINE_ENCODER.encode(fields)


def format_line(fields: Mapping) -> bytes:
    """One newline-terminated JSON line (UTF-8, no raw line breaks of any kind inside)."""
    return _finish_line(_encode(fields))


def _finish_line(line: str) -> bytes:
    if not line.isascii() and ("\u2028" in line or "\u2029" in line):
        # JSON allows these raw, but str.splitlines() splits on them: one record, one line, for every reader
        line = line.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return (line + "\n").encode("utf-8")


def _fields_and_line(record: Mapping, supersedes: str | None) -> tuple[dict, bytes]:
    """record_fields and format_line in one; the common record (a dict without its own run_id or
    timestamp) has only its own fields encoded: the two added ones need no escaping."""
    if type(record) is not dict or "run_id" in record or "timestamp" in record:
        fields = record_fields(record, supersedes)
        return fields, format_line(fields)
    run_id, timestamp = _run_id(), _utc_now()
    fields = {"run_id": run_id, "timestamp": timestamp, **record}
    if supersedes is not None:
        fields["supersedes"] = supersedes
        body = _encode(fields)
        return fields, _finish_line(body)
    body = _encode(record)
    head = f'{{"run_id": "{run_id}", "timestamp": "{timestamp}"'
    return fields, _finish_line(f"{head}, {body[1:]}" if len(body) > 2 else head + "}")


def append(path: str | os.PathLike, record: Mapping, supersedes: str | None = None, durable: bool = False,
           *, policy: Policy | None = None) -> dict:
    """Append ``record`` as one JSON line to an append-only log; returns the fields written.

    One ``write()`` of the whole line on an O_APPEND descriptor, so concurrent appenders never
    tear or interleave lines. A last line cut short by a crash is first ended with a newline
    (it stays one bad line, and does not swallow this record). No fsync unless ``durable``.
    Refused (PolicyViolation) on destructive, companion, compiled and backup files; a
    symlinked log appends to its target.
    """
    fields, line = _fields_and_line(record, supersedes)
    cwd = os.getcwd()
    policy = policy or load_policy(cwd)
    try:  # a refusal is built unwarned inside the sanctioned context: a warning may run user code
        with sanctioned():
            fd, target, created = _open_log(os.fspath(path), policy, cwd)
            try:
                if fcntl is None:
                    with locked(target):  # no flock(): one appender at a time (logs are in no transaction)
                        _append_record(fd, line, target, created, durable)
                else:
                    try:  # appenders share it; a torn-tail check waits for them all
                        fcntl.flock(fd, fcntl.LOCK_SH)
                    except OSError:
                        pass  # no flock here (some network filesystems): see _flock
                    _append_record(fd, line, target, created, durable)
            finally:
                os.close(fd)  # releases the flock
            if durable and created:
                fsutil.fsync_directory(os.path.dirname(target), target)
    except PolicyViolation as refused:
        warnings.warn(str(refused), PolicyWarning, stacklevel=2)
        raise
    return fields


def _open_log(path: str, policy: Policy, cwd: str) -> tuple[int, str, bool]:
    """(descriptor, resolved path, whether this call created the log), once the class allows appending.

    An existing log is opened first and its real path read back from the descriptor (one syscall
    where resolving a path costs one per component). A log whose path has no symlink in it is
    remembered by (path as given, working directory), and opened next time by its absolute path
    with O_NOFOLLOW, which fails should its name become a link.
    """
    key = (path, cwd)
    known = _plain_logs.get(key)
    if known is not None and known[1] is policy:
        try:
            return os.open(known[0], _APPEND_FLAGS | _NOFOLLOW), known[0], False
        except OSError:
            _plain_logs.pop(key, None)  # gone, or now a link: look again
    while True:
        try:
            fd = os.open(path, _APPEND_FLAGS)
        except FileNotFoundError:
            target = fsutil.resolve_target(path)
            _refuse_unless_appendable(target, policy)
            try:
                return os.open(target, _APPEND_FLAGS | _NOFOLLOW | os.O_CREAT | os.O_EXCL, 0o666), target, True
            except FileExistsError:
                continue  # another appender created it between the two opens
            except OSError as exc:
                raise WriteError(target, "write", exc) from exc
        except OSError as exc:
            raise WriteError(path, "write", exc) from exc
        try:
            target = _opened_path(fd, path)
            _refuse_unless_appendable(target, policy)
        except BaseException:
            os.close(fd)
            raise
        if target == os.path.normpath(path if os.path.isabs(path) else os.path.join(cwd, path)):
            if len(_plain_logs) >= 256:
                _plain_logs.clear()
            _plain_logs[key] = (target, policy)
        return fd, target, False


#: (path as given, working directory) of appendable files with no symlink in their path
#: -> (absolute path, the policy that allowed them)
_plain_logs: dict[tuple[str, str], tuple[str, Policy]] = {}


def _opened_path(fd: int, path: str) -> str:
    """The resolved path of an open file: from /proc where there is one, else by resolving ``path``."""
    return fsutil.opened_path(fd) or fsutil.resolve_target(path)


def _seek_and_read(fd: int, count: int, offset: int) -> bytes:
    """os.pread where there is none (Windows); the log's appends still go to its end (O_APPEND)."""
    os.lseek(fd, offset, os.SEEK_SET)
    return os.read(fd, count)


_pread = getattr(os, "pread", _seek_and_read)


def _refuse_unless_appendable(target: str, policy: Policy) -> None:
    file_class = policy.classify_name(target)
    if file_class not in (FileClass.LOG, None):
        instead = ("statesafe.restore(file, backup); backups are never changed" if file_class is FileClass.BACKUP
                   else "statesafe.write(path, data)")
        raise PolicyViolation(target, file_class.value, "append()", instead, warn=False)  # append warns


def _ends_with_newline(fd: int) -> bool:
    size = os.lseek(fd, 0, os.SEEK_END)
    return size == 0 or _pread(fd, 1, size - 1) == b"\n"


def _append_record(fd: int, line: bytes, target: str, created: bool, durable: bool) -> None:
    if not created:
        size = os.lseek(fd, 0, os.SEEK_END)  # the tail check inlined: one call less per line
        if size and _pread(fd, 1, size - 1) != b"\n":
            line = _torn_tail_prefix(fd) + line
    _append_line(fd, line, target)
    if durable:
        fsutil.fsync_file(fd, target)


def _torn_tail_prefix(fd: int) -> bytes:
    """b"\\n" if the log's last line was cut short (by a crash or a full disk), else b"".

    Called holding a shared flock on the log, as every append holds one while it checks and
    writes. A tail without a newline may also be another append still in flight (a reader can
    see a page-crossing write half done): only the exclusive lock, got when no append is in
    flight, proves a tail torn. It is tried without blocking (a blocked exclusive request would
    starve behind a steady stream of shared ones), and between tries the tail is looked at again:
    an append in flight ends with its newline within microseconds.
    """
    if fcntl is None:  # the caller holds statesafe.lock: nothing else is in flight
        return b"" if _ends_with_newline(fd) else b"\n"
    while not _ends_with_newline(fd):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a refused upgrade drops the share
        except BlockingIOError:
            time.sleep(random.uniform(0.0001, 0.0005))
            _flock(fd, fcntl.LOCK_SH)
            continue
        except OSError:
            return b"\n"  # no flock on this filesystem: take the tail for torn
        return b"" if _ends_with_newline(fd) else b"\n"
    return b""


def _flock(fd: int, operation: int) -> None:
    try:
        fcntl.flock(fd, operation)
    except OSError:
        pass  # no flock here (some network filesystems): lines stay whole, a torn tail is checked unlocked


def _append_line(fd: int, line: bytes, target: str) -> None:
    try:
        written = os.write(fd, line)
    except OSError as exc:
        raise WriteError(target, "write", exc) from exc
    if written != len(line):  # a full disk mid-record: the line is cut short, say so
        raise WriteError(target, "write", OSError(errno.ENOSPC, f"only {written} of {len(line)} bytes appended"))
