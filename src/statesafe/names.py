"""The names statesafe gives the files it makes beside a policy file.

One place for the formats, so the writers, the guard, the auditor and recovery
all agree on what is a backup, a snapshot or a temp, and nothing else is ever
counted or deleted as one.

    <name>.bak-20260422T143012Z             a backup
    <name>.bak-20260422T143012Z-2           the third backup taken in that second
    <name>.bak-20260422T143012Z-corrupted   the file as it was before a restore
    <name>.tmp-20260422T143012Z-<pid>-<hex> a temp being written (stale once its writer is gone)
    .<name>.lock                            the lock file statesafe.lock() holds (kept, never deleted)
    .statesafe-tx-<id>.journal              a transaction's journal (statesafe.journal)
"""

from __future__ import annotations

import functools
import os
import re
import time
from collections import namedtuple

STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
BACKUP_MARK = ".bak-"
TEMP_MARK = ".tmp-"
LOCK_SUFFIX = ".lock"
JOURNAL_PREFIX = ".statesafe-tx-"
JOURNAL_SUFFIX = ".journal"

_BACKUP_RE = re.compile(
    r"^(?P<base>.+)\.bak-(?P<stamp>\d{8}T\d{6}Z)(?:-(?P<counter>[1-9]\d*))?(?P<corrupted>-corrupted)?$"
)
_TEMP_RE = re.compile(r"^(?P<base>.+)\.tmp-(?P<stamp>\d{8}T\d{6}Z)-(?P<pid>\d+)-(?P<token>[0-9a-f]+)$")


class BackupName(namedtuple("BackupName", "stamp counter base corrupted")):
    """A parsed backup name; sorts oldest first (by stamp, then counter).

    A namedtuple rather than a dataclass: this module is on the guard's start-up path.
    """

    __slots__ = ()

    @property
    def name(self) -> str:
        suffix = f"-{self.counter}" if self.counter else ""
        return f"{self.base}{BACKUP_MARK}{self.stamp}{suffix}{'-corrupted' if self.corrupted else ''}"


_last_stamp = (-1, "")  # (second, its stamp): a write stamps its temp and its backup


def utc_stamp(now: float | None = None) -> str:
    """Compact UTC stamp, e.g. 20260422T143012Z."""
    global _last_stamp
    second = int(time.time() if now is None else now)
    if _last_stamp[0] != second:
        _last_stamp = (second, time.strftime(STAMP_FORMAT, time.gmtime(second)))
    return _last_stamp[1]


@functools.lru_cache(maxsize=1024)  # a pure function the writers call on every listing entry
def parse_backup(name: str) -> BackupName | None:
    """The parts of a statesafe backup name, or None for anything else (``x.bak-old``)."""
    m = _BACKUP_RE.match(name)
    if not m:
        return None
    return BackupName(m["stamp"], int(m["counter"] or 0), m["base"], bool(m["corrupted"]))


def backup_name(base: str, stamp: str, counter: int = 0, corrupted: bool = False) -> str:
    return BackupName(stamp, counter, base, corrupted).name


def temp_name(base: str, stamp: str | None = None) -> str:
    """A temp name nobody else can predict (pid + random token), for O_EXCL creation."""
    return f"{base}{TEMP_MARK}{stamp or utc_stamp()}-{os.getpid()}-{os.urandom(4).hex()}"


def lock_name(base: str) -> str:
    """The lock file beside a file: hidden, and never a policy, backup or temp name."""
    return f".{base}{LOCK_SUFFIX}"


def is_journal_name(name: str) -> bool:
    return name.startswith(JOURNAL_PREFIX) and name.endswith(JOURNAL_SUFFIX)


def parse_temp(name: str) -> tuple[str, int] | None:
    """(base name, writer pid) of a statesafe temp name, or None."""
    m = _TEMP_RE.match(name)
    return (m["base"], int(m["pid"])) if m else None


def excess(backups, keep: int) -> set[BackupName]:
    """The backups past the ``keep`` newest of their file, ``-corrupted`` snapshots counted
    apart: the one pruning rule, for the writers that prune and the guard that lets pruning pass."""
    groups: dict[tuple[str, bool], list[BackupName]] = {}
    for parsed in backups:
        groups.setdefault((parsed.base, parsed.corrupted), []).append(parsed)
    return {parsed for group in groups.values() for parsed in sorted(group, reverse=True)[max(keep, 0):]}


def beyond_keep(names, keep: int) -> set[str]:
    """:func:`excess` for file names; names that are not backups are ignored."""
    return {parsed.name for parsed in excess(filter(None, map(parse_backup, names)), keep)}
