"""Settling interrupted transactions: ``statesafe.lock``, ``statesafe.recover`` and what both run.

A transaction killed part-way leaves a journal (:mod:`statesafe.journal`) beside its files.
The next statesafe write to any file of an interrupted transaction first finishes or rolls back
that transaction, so a file is never read or written at a generation the transaction did not
decide. That is :func:`settle_target`, called holding the file's lock on the thread's outermost
acquisition: by :func:`lock` (``statesafe.lock``) and :func:`settled`, which restore and
transactions take, and by the writers, which take :func:`statesafe.locking.locked` and settle
only when their one listing of the folder shows a journal.

Settling one member is a single idempotent rename needing only that member's lock, so a writer
settles its own file and tries (never waits for) the other members' locks: no deadlock.
:func:`recover` (``statesafe recover``) walks a tree, settles every transaction it finds,
waiting a while for each lock, then removes stale temps.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

from statesafe import fsutil, locking, names, scan
from statesafe import journal as jr  # `journal` names a journal's path here
from statesafe.errors import LockError, StatesafeError, WriteError
from statesafe.names import is_journal_name
from statesafe.sanction import sanctioned

#: How long ``recover`` waits for a member's lock before calling its transaction busy.
RECOVER_LOCK_WAIT = 10.0
_OUTCOME = {jr.COMMIT: "rolled forward", jr.ROLLBACK: "rolled back"}
PathT = TypeVar("PathT", str, Path)


# --- the lock that settles -----------------------------------------------------------------

def lock(path: str | os.PathLike, timeout: float | None = None, *, settle: bool = True
         ) -> contextlib.AbstractContextManager[Path]:
    """Hold ``path``'s exclusive lock for the block (``with statesafe.lock(path):``); yields the
    resolved file.

    ``timeout`` (seconds) bounds the wait; None waits as long as it takes. Raises
    LockError when the wait runs out, and WriteError (an OSError, step "lock") when the
    lock file cannot be opened, e.g. in a folder that does not exist.

    The outermost acquisition in a thread first settles an interrupted transaction that
    touched the file, so a read-modify-write inside the block reads the generation the
    transaction decided, not one its next write would overwrite. ``settle=False`` takes the
    lock alone (as a transaction's owner, still at work, holds it).
    """
    target = Path(fsutil.resolve_target(path))
    return settled(target, timeout) if settle else locking.locked(target, timeout)


@contextlib.contextmanager
def settled(target: PathT, timeout: float | None = None) -> Iterator[PathT]:
    """:func:`statesafe.locking.locked` for a resolved ``target``, and on the thread's outermost
    acquisition :func:`settle_target` before the block runs."""
    with locking.locked(target, timeout):
        if locking.outermost(target):
            settle_target(target)
        yield target


# --- what recovery did -------------------------------------------------------------------

class RecoveryReport:
    """What :func:`recover` or :func:`settle_target` did, and what it had to leave alone.

    A plain class rather than a dataclass: the writers import this module, and dataclasses
    (which imports inspect) would add about 10 ms to the start-up of every script that writes.
    """

    def __init__(self, transactions: list[tuple[str, str, tuple[Path, ...]]] | None = None,
                 temps_removed: list[Path] | None = None, busy: list[str] | None = None,
                 errors: list[str] | None = None):
        #: (transaction id, "rolled forward" | "rolled back" | "removed leftover journal", files)
        self.transactions = [] if transactions is None else transactions
        self.temps_removed = [] if temps_removed is None else temps_removed
        #: transactions or temps left alone because a live process holds a lock
        self.busy = [] if busy is None else busy
        #: what could not be recovered, and why
        self.errors = [] if errors is None else errors

    def _fields(self) -> tuple:
        return self.transactions, self.temps_removed, self.busy, self.errors

    def __eq__(self, other: object) -> bool:
        return self._fields() == other._fields() if isinstance(other, RecoveryReport) else NotImplemented

    __hash__ = None  # mutable, like the dataclass it was

    def __repr__(self) -> str:
        return (f"RecoveryReport(transactions={self.transactions!r}, temps_removed={self.temps_removed!r}, "
                f"busy={self.busy!r}, errors={self.errors!r})")

    @property
    def changed(self) -> bool:
        return bool(self.transactions or self.temps_removed)

    def lines(self) -> list[str]:
        out = [f"transaction {tx}: {outcome}: {', '.join(map(str, files))}"
               for tx, outcome, files in self.transactions]
        out += [f"removed stale temp {path}" for path in self.temps_removed]
        out += [f"left alone: {why}" for why in self.busy]
        out += [f"could not recover: {why}" for why in self.errors]
        return out


# --- settling a transaction ------------------------------------------------------------------

def settle_target(target: str | os.PathLike) -> RecoveryReport:
    """Finish or roll back any interrupted transaction that touched ``target`` (a resolved path);
    called holding its lock, on the thread's outermost acquisition (:func:`settled`, or a writer
    that took :func:`statesafe.locking.locked` and found a journal beside the file).

    ``target`` itself is always brought to the transaction's decided generation; the other
    members are settled too when their locks are free (otherwise their next writer or
    ``statesafe recover`` does it). Raises WriteError if ``target`` itself cannot be settled.
    """
    report = RecoveryReport()
    target = Path(target)
    journals = jr.journals_in(target.parent)
    if journals:
        with sanctioned():
            for journal in journals:
                _settle_journal(journal, report, holding=target, wait=None)
    return report


def _settle_journal(journal: Path, report: RecoveryReport, *, holding: Path | None,
                    wait: float | None) -> None:
    """Settle the transaction ``journal`` belongs to.

    ``holding``: a member whose lock the caller holds (others are only tried, never waited
    for: no deadlock). ``wait``: for recover, wait up to this long for each lock, in sorted
    order, and leave the transaction alone if one stays busy (its owner is alive).
    """
    try:
        record = jr.load(journal)
    except FileNotFoundError:
        return
    targets = sorted(jr.targets(record))
    if holding is not None and holding not in targets:
        return
    with contextlib.ExitStack() as stack:
        locked = set()
        for target in targets:
            try:
                stack.enter_context(locking.locked(target, timeout=0 if wait is None else wait))
                locked.add(target)
            except (LockError, WriteError) as exc:  # busy, or its lock file cannot be made
                if wait is not None:
                    (report.busy if isinstance(exc, LockError) else report.errors).append(
                        f"transaction {record['id']} ({journal}): {exc}")
                    return
        if locked:  # holding a member's lock proves the owner is gone
            _settle_locked(journal, record, locked, report)


def _settle_locked(journal: Path, record: dict, locked: set[Path], report: RecoveryReport) -> None:
    """Settle the members whose locks we hold; end the transaction when none is pending."""
    tx = record["id"]
    primary = Path(record["primary"]) if "primary" in record else journal
    try:
        main = jr.load(primary)  # reloaded under the locks: the owner is gone, the record final
    except FileNotFoundError:
        # A pointer without its primary: written before the primary (never committed) or left
        # after it was deleted (fully committed). Either way nothing is pending but the pointer.
        if jr.unlink(journal):
            report.transactions.append((tx, "removed leftover journal", tuple(jr.targets(record))))
        return
    state = main["state"]
    changed, dirs = [], set()
    for member in main["members"]:
        target = Path(member["target"])
        if target in locked:
            if jr.settle_member(member, state):
                changed.append(target)
            dirs.add(target.parent)
    for directory in sorted(dirs):
        fsutil.fsync_directory(directory, directory)
    done = not any(jr.pending(m) for m in main["members"])
    if done:
        jr.delete_journals(main)
    if changed or done:
        report.transactions.append((tx, _OUTCOME[state] + ("" if done else " (partly: other files locked)"),
                                    tuple(changed or jr.targets(main))))


# --- statesafe recover ------------------------------------------------------------------------

def recover(directory: str | os.PathLike | None = None) -> RecoveryReport:
    """Finish or roll back every interrupted transaction with a journal in or below ``directory``
    (default: the working directory), then remove stale temps of files no live process holds."""
    root = Path(directory if directory is not None else os.getcwd())
    if not root.is_dir():
        raise StatesafeError(f"{root}: not a directory")
    report = RecoveryReport()
    with sanctioned():
        for folder, entries in scan.folders(root):
            for name in entries:
                if is_journal_name(name):
                    try:
                        _settle_journal(folder / name, report, holding=None, wait=RECOVER_LOCK_WAIT)
                    except StatesafeError as exc:
                        report.errors.append(str(exc))
        for folder, entries in scan.folders(root):
            for base in sorted({parsed[0] for name in entries if (parsed := names.parse_temp(name))}):
                _remove_stale_temps(folder / base, report)
    return report


def _remove_stale_temps(target: Path, report: RecoveryReport) -> None:
    if not os.path.exists(locking.lock_path(target)) and not jr.journals_in(target.parent):
        # Never locked (a file outside the policy is written without a lock): no lock file is made
        # for it here either, and only temps whose writer is gone are stale.
        try:
            report.temps_removed.extend(map(Path, fsutil.remove_stale_temps(target, only_dead_writers=True)))
        except StatesafeError as exc:
            report.errors.append(str(exc))
        return
    try:
        with lock(target, timeout=0):  # settles first: a temp named in a journal is settled, never just deleted
            report.temps_removed.extend(map(Path, fsutil.remove_stale_temps(target)))
    except LockError as exc:
        report.busy.append(f"temps of {target}: {exc}")
    except StatesafeError as exc:
        report.errors.append(str(exc))
