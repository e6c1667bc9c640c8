"""Multi-file writes that land all together or not at all, even across a SIGKILL.

(The module is ``transactions``, plural: a submodule named ``transaction`` would replace
the ``statesafe.transaction`` function on the package the moment anything imported it.)

``with statesafe.transaction() as tx: tx.write(path, data)`` buffers the writes;
nothing touches the disk unless the block exits cleanly. Then, holding every
file's lock (taken in sorted order of resolved paths), it:

1. settles any interrupted transaction that touched those files;
2. backs up every destructive file (any failure: nothing changed, our backups removed);
3. keeps a hard link of every existing file's current inode (the "prior", to undo with)
   and writes each new image to an fsynced temp beside its file;
4. writes a pointer journal in every other directory involved, fsyncs the directories,
   then writes the primary journal in the first file's directory (temp, fsync, rename,
   directory fsync). Its arrival is the COMMIT POINT: from here on the new generation wins;
5. renames every temp over its file and fsyncs the directories;
6. deletes the primary journal, then the pointers, the priors, and prunes backups.

A crash before step 4 completes leaves every file as it was (temps and priors are stale
temps, cleaned by the next write or ``statesafe recover``). A crash after it is rolled
*forward*: each member's temp still present is renamed into place. That makes settling
one member a single idempotent rename needing only that member's lock, so the next
write to any member (``statesafe.lock``, ``statesafe.write`` and ``restore`` call
:func:`statesafe.recovery.settle_target` under the member's lock) finishes it without
taking other locks, and cannot deadlock.

An OS error during step 5 (a rename or directory fsync failing) is undone in process:
each installed file gets an undo image (its prior, or a copy of its backup; an empty
marker for a file that did not exist, meaning "remove"), the primary journal is rewritten
with state "rollback", and the undo images are renamed into place. A crash during that is
rolled back the same way by recovery. See docs/transactions.md for the journal format and
the guarantee after a crash at each step.

This module holds the transaction itself; the journal's format and per-member settle are
:mod:`statesafe.journal`, settling an interrupted transaction and ``statesafe recover`` are
:mod:`statesafe.recovery`, and the steps on each file are :mod:`statesafe.fsutil`'s.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from statesafe import fsutil, names, writers
from statesafe import journal as jr  # `journal` names a journal's path here
from statesafe.compiled import require_fields
from statesafe.errors import PolicyViolation, StatesafeError, WriteError
from statesafe.policy import FileClass, Policy, load_policy
from statesafe.recovery import settled
from statesafe.sanction import sanctioned


@dataclass
class _Member:
    target: Path
    data: bytes
    file_class: FileClass | None
    before: os.stat_result | None = None
    backup: Path | None = None
    prior: Path | None = None
    prior_bytes: bytes | None = None  # no link possible and no backup: the pre-image in memory
    temp: Path | None = None
    undo: Path | None = None

    def record(self) -> dict:
        return {"target": str(self.target), "class": self.file_class.value if self.file_class else None,
                "existed": self.before is not None, "backup": _str(self.backup), "prior": _str(self.prior),
                "temp": _str(self.temp), "undo": _str(self.undo)}


def _str(path: Path | None) -> str | None:
    return None if path is None else str(path)


class Transaction:
    """The ``tx`` of ``with statesafe.transaction() as tx``: collects writes, commits on exit."""

    def __init__(self, policy: Policy, declared: frozenset[Path], timeout: float | None):
        self._policy = policy
        self._declared = declared
        self._timeout = timeout
        self._members: dict[Path, _Member] = {}
        self._open = True

    def write(self, path: str | os.PathLike, data: bytes | str | object, *,
              as_class: FileClass | str | None = None) -> Path:
        """Stage ``data`` for ``path`` (serialised now, written at the end of the block)."""
        if not self._open:
            raise StatesafeError("this transaction is over: write inside its 'with' block")
        payload = writers.serialise(data)
        target = Path(fsutil.resolve_target(path))
        file_class = FileClass(as_class) if as_class is not None else self._policy.classify_name(target)
        if file_class is FileClass.LOG:
            raise PolicyViolation(target, file_class.value, "write() in a transaction",
                                  "statesafe.append(path, record), outside the transaction")
        if file_class is FileClass.BACKUP:
            raise PolicyViolation(target, file_class.value, "write() in a transaction",
                                  "statesafe.restore(file, backup); backups are never rewritten")
        if file_class is FileClass.COMPILED:
            require_fields(target, payload, self._policy)
        if self._declared and target not in self._declared:
            raise StatesafeError(f"{target}: not among the files this transaction locked "
                                 f"({', '.join(map(str, sorted(self._declared)))}); declare it too")
        self._members[target] = _Member(target, payload, file_class)
        return target

    # -- commit ------------------------------------------------------------------------------

    def _commit(self) -> None:
        self._open = False
        members = [self._members[t] for t in sorted(self._members)]
        if not members:
            return
        with sanctioned(), contextlib.ExitStack() as locks:
            for member in members:
                locks.enter_context(settled(member.target, timeout=self._timeout))
            for member in members:
                fsutil.remove_stale_temps(member.target)
            self._prepare(members)
            try:
                record = self._write_journals(members)
            except BaseException:
                self._discard_prepared(members)
                raise
            self._install(members, record)
            self._finish(members, record)

    def _prepare(self, members: list[_Member]) -> None:
        """Back up every destructive file first, then keep priors and write the new images."""
        try:
            for member in members:
                member.before = fsutil.stat_or_none(member.target)
            for member in members:
                if member.file_class is FileClass.DESTRUCTIVE:
                    member.backup = fsutil.take_backup(member.target)
            for member in members:
                if member.before is not None:
                    member.prior = fsutil.hold_prior(member.target)
                    if member.prior is None and member.backup is None:
                        member.prior_bytes = _read(member.target)
                member.temp = fsutil.write_temp(member.target, member.data, member.before)
        except BaseException:
            self._discard_prepared(members)
            raise

    @staticmethod
    def _discard_prepared(members: list[_Member]) -> None:
        """Before the commit point: remove what we made, so nothing changed."""
        for member in members:
            for made in (member.temp, member.prior, member.backup):
                if made is not None:
                    fsutil.discard(made)

    def _write_journals(self, members: list[_Member]) -> dict:
        """Pointers in the other directories, then the primary: its arrival commits."""
        txid = f"{names.utc_stamp()}-{os.getpid()}-{secrets.token_hex(4)}"
        anchors: dict[Path, _Member] = {}
        for member in members:
            anchors.setdefault(member.target.parent, member)
        journals = [jr.path_in(directory, txid) for directory in anchors]
        record = {"statesafe_transaction": jr.FORMAT, "id": txid, "state": jr.COMMIT,
                  "journals": [str(j) for j in journals], "members": [m.record() for m in members]}
        pointer = {"statesafe_transaction": jr.FORMAT, "id": txid, "primary": str(journals[0]),
                   "targets": [str(m.target) for m in members]}
        written: list[Path] = []
        try:
            for journal, anchor in list(zip(journals, anchors.values()))[1:]:
                jr.write_record(journal, pointer, anchor.target, anchor.before)
                written.append(journal)
            for directory, anchor in anchors.items():  # temps, priors, backups, pointers: durable
                fsutil.fsync_directory(directory, anchor.target)
            first = members[0]
            jr.write_record(journals[0], record, first.target, first.before)
            written.append(journals[0])
            fsutil.fsync_directory(journals[0].parent, first.target)
        except BaseException:
            for journal in reversed(written):  # primary first: the transaction never committed
                fsutil.discard(journal)
            raise
        return record

    def _install(self, members: list[_Member], record: dict) -> None:
        installed = 0
        try:
            for member in members:
                fsutil.replace(member.temp, member.target)
                installed += 1
            for directory in sorted({m.target.parent for m in members}):
                fsutil.fsync_directory(directory, directory)
        except BaseException as exc:
            self._roll_back(members, installed, record, exc)
            raise

    def _roll_back(self, members: list[_Member], installed: int, record: dict, cause: BaseException) -> None:
        """Undo a commit that failed part-way, under the locks we still hold.

        Raises a WriteError instead of returning when the undo cannot be completed here.
        """
        primary = Path(record["journals"][0])
        made: list[Path] = []
        try:
            for member in members[:installed]:
                if member.before is None:
                    member.undo = fsutil.write_temp(member.target, b"", None)  # marker: remove the file
                    made.append(member.undo)
                elif member.prior is not None:
                    member.undo = member.prior
                else:
                    pre_image = _read(member.backup) if member.backup else member.prior_bytes
                    member.undo = fsutil.write_temp(member.target, pre_image, member.before)
                    made.append(member.undo)
            for directory in sorted({m.target.parent for m in members}):
                fsutil.fsync_directory(directory, directory)
            rolled = dict(record, state=jr.ROLLBACK, members=[m.record() for m in members])
            jr.write_record(primary, rolled, members[0].target, members[0].before)
        except BaseException as exc:  # the journal still says commit: its undo images must go
            for undo in made:
                fsutil.discard(undo)
            raise _unfinished(cause, exc, primary, "the transaction stays committed") from exc
        try:  # from here the journal says rollback: its undo images must stay until used
            fsutil.fsync_directory(primary.parent, members[0].target)
            for member in members:
                jr.settle_member(member.record(), jr.ROLLBACK)
            for directory in sorted({m.target.parent for m in members}):
                fsutil.fsync_directory(directory, directory)
            jr.delete_journals(rolled)
        except BaseException as exc:
            raise _unfinished(cause, exc, primary, "its rollback is not finished") from exc
        for member in members:
            if member.backup is not None:
                fsutil.discard(member.backup)  # a copy of content that never changed

    def _finish(self, members: list[_Member], record: dict) -> None:
        """After the commit: drop the journals and priors, prune backups. Best effort: a leftover
        is finished by the next settle; a failed prune is reported as a warning."""
        try:
            for member in members:
                if member.prior is not None:
                    fsutil.discard(member.prior)
            jr.delete_journals(record)
        except OSError:
            pass
        for member in members:
            if member.backup is not None:
                try:
                    fsutil.prune(member.target, self._policy.keep_backups)
                except WriteError as exc:
                    warnings.warn(f"transaction committed, but {exc}", RuntimeWarning, stacklevel=4)


def _read(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise WriteError(path, "backup", exc) from exc


def _unfinished(cause: BaseException, exc: BaseException, primary: Path, what: str) -> WriteError:
    """The error for a commit that failed and could not be undone in process."""
    first = cause if isinstance(cause, WriteError) else WriteError(primary, "rename", cause)
    return WriteError(first.path, first.step, OSError(
        first.errno, f"{first.strerror}; undoing it failed too ({exc}), so {what}: "
                     f"`statesafe recover {primary.parent}` or the next write of one of its files settles it"))


@contextlib.contextmanager
def transaction(*paths: str | os.PathLike, policy: Policy | None = None,
                timeout: float | None = None) -> Iterator[Transaction]:
    """Write several files all together or not at all.

    ``paths``, when given, are locked (in sorted order) and settled as the block starts, so
    the block can read them and write them back without losing a concurrent update; the
    block may then write only those. ``timeout`` bounds each lock wait (LockError).
    """
    policy = policy or load_policy()
    declared = frozenset(Path(fsutil.resolve_target(p)) for p in paths)
    with contextlib.ExitStack() as held:
        with sanctioned():
            for target in sorted(declared):
                held.enter_context(settled(target, timeout=timeout))
        tx = Transaction(policy, declared, timeout)
        try:
            yield tx
        except BaseException:
            tx._open = False
            raise
        tx._commit()
