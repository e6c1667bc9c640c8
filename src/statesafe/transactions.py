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
write to any member (``statesafe.lock``, which ``statesafe.write`` takes, calls
:func:`settle_target` under the member's lock) finishes it without taking other locks, and
cannot deadlock.

An OS error during step 5 (a rename or directory fsync failing) is undone in process:
each installed file gets an undo image (its prior, or a copy of its backup; an empty
marker for a file that did not exist, meaning "remove"), the primary journal is rewritten
with state "rollback", and the undo images are renamed into place. A crash during that is
rolled back the same way by recovery. See docs/transactions.md for the journal format and
the guarantee after a crash at each step.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from statesafe import fsutil, locking, names, scan, writers
from statesafe.compiled import require_fields
from statesafe.errors import LockError, PolicyViolation, StatesafeError, WriteError
from statesafe.names import JOURNAL_PREFIX, JOURNAL_SUFFIX, is_journal_name
from statesafe.policy import FileClass, Policy, load_policy
from statesafe.sanction import sanctioned

FORMAT = 1
#: How long ``recover`` waits for a member's lock before calling its transaction busy.
RECOVER_LOCK_WAIT = 10.0
COMMIT, ROLLBACK = "commit", "rollback"
_OUTCOME = {COMMIT: "rolled forward", ROLLBACK: "rolled back"}


# --- what recovery did -------------------------------------------------------------------

@dataclass
class RecoveryReport:
    """What :func:`recover` or :func:`settle_target` did, and what it had to leave alone."""

    #: (transaction id, "rolled forward" | "rolled back" | "removed leftover journal", files)
    transactions: list[tuple[str, str, tuple[Path, ...]]] = field(default_factory=list)
    temps_removed: list[Path] = field(default_factory=list)
    #: transactions or temps left alone because a live process holds a lock
    busy: list[str] = field(default_factory=list)
    #: what could not be recovered, and why
    errors: list[str] = field(default_factory=list)

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


# --- the journal ---------------------------------------------------------------------------

def _load(journal: Path) -> dict:
    """A journal's record; FileNotFoundError if it is gone, StatesafeError if unusable."""
    try:
        with open(journal, "rb") as f:
            record = json.loads(f.read())
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as exc:
        raise StatesafeError(f"{journal}: cannot read transaction journal: {exc}; "
                             "inspect it (see docs/transactions.md) before writing its files") from None
    version = record.get("statesafe_transaction") if isinstance(record, dict) else None
    if version != FORMAT:
        raise StatesafeError(f"{journal}: not a statesafe transaction journal of format {FORMAT} "
                             f"(found {version!r})")
    return record


def _targets(record: dict) -> list[Path]:
    if "primary" in record:  # a pointer
        return [Path(t) for t in record["targets"]]
    return [Path(m["target"]) for m in record["members"]]


def _write_record(journal: Path, record: dict, anchor: Path, like: os.stat_result | None) -> None:
    """Put ``record`` at ``journal`` atomically; the temp is named as a temp of ``anchor``
    (a member whose lock we hold), so a crash leaves an ordinary stale temp."""
    temp = fsutil.write_temp(anchor, json.dumps(record, indent=1).encode(), like)
    try:
        fsutil.replace(temp, journal)
    except BaseException:
        fsutil.discard(temp)
        raise


def _unlink(path: Path) -> bool:
    """Remove ``path``; False if it was already gone."""
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise WriteError(path, "remove", exc) from exc


def _exists(path: str | None) -> bool:
    return path is not None and os.path.lexists(path)


def _pending(member: dict) -> bool:
    return any(_exists(member.get(key)) for key in ("temp", "undo", "prior"))


def _settle_member(member: dict, state: str) -> bool:
    """Bring one member to the journal's decided generation; True if its file changed.

    Idempotent: every step is keyed on a file that the step itself consumes.
    """
    target = Path(member["target"])
    changed = False
    if state == COMMIT:
        if _exists(member["temp"]):
            fsutil.replace(Path(member["temp"]), target)
            changed = True
    elif _exists(member.get("undo")):
        undo = Path(member["undo"])
        if member["existed"]:
            fsutil.replace(undo, target)
        else:  # the undo is a marker: the file did not exist before, so remove it
            _unlink(target)
            fsutil.fsync_directory(target.parent, target)
            _unlink(undo)
        changed = True
    for key in ("temp", "prior"):
        if member.get(key) and member.get(key) != member.get("undo"):
            fsutil.discard(Path(member[key]))
    return changed


def _delete_journals(record: dict) -> None:
    """Primary first (the transaction is over), then the pointers.

    No directory fsync: should power loss undo a removal, the journal comes back with nothing
    pending (or as a pointer without its primary) and is simply removed again.
    """
    for journal in map(Path, record["journals"]):
        _unlink(journal)


def _settle_locked(journal: Path, record: dict, locked: set[Path], report: RecoveryReport) -> None:
    """Settle the members whose locks we hold; end the transaction when none is pending."""
    tx = record["id"]
    primary = Path(record["primary"]) if "primary" in record else journal
    try:
        main = _load(primary)  # reloaded under the locks: the owner is gone, the record final
    except FileNotFoundError:
        # A pointer without its primary: written before the primary (never committed) or left
        # after it was deleted (fully committed). Either way nothing is pending but the pointer.
        if _unlink(journal):
            report.transactions.append((tx, "removed leftover journal", tuple(_targets(record))))
        return
    state = main["state"]
    changed, dirs = [], set()
    for member in main["members"]:
        target = Path(member["target"])
        if target in locked:
            if _settle_member(member, state):
                changed.append(target)
            dirs.add(target.parent)
    for directory in sorted(dirs):
        fsutil.fsync_directory(directory, directory)
    done = not any(_pending(m) for m in main["members"])
    if done:
        _delete_journals(main)
    if changed or done:
        report.transactions.append((tx, _OUTCOME[state] + ("" if done else " (partly: other files locked)"),
                                    tuple(changed or _targets(main))))


def _settle_journal(journal: Path, report: RecoveryReport, *, holding: Path | None,
                    wait: float | None) -> None:
    """Settle the transaction ``journal`` belongs to.

    ``holding``: a member whose lock the caller holds (others are only tried, never waited
    for: no deadlock). ``wait``: for recover, wait up to this long for each lock, in sorted
    order, and leave the transaction alone if one stays busy (its owner is alive).
    """
    try:
        record = _load(journal)
    except FileNotFoundError:
        return
    targets = sorted(_targets(record))
    if holding is not None and holding not in targets:
        return
    with contextlib.ExitStack() as stack:
        locked = set()
        for target in targets:
            try:
                stack.enter_context(locking.locked(target, timeout=0 if wait is None else wait, settle=False))
                locked.add(target)
            except (LockError, WriteError) as exc:  # busy, or its lock file cannot be made
                if wait is not None:
                    (report.busy if isinstance(exc, LockError) else report.errors).append(
                        f"transaction {record['id']} ({journal}): {exc}")
                    return
        if locked:  # holding a member's lock proves the owner is gone
            _settle_locked(journal, record, locked, report)


def _journals_in(directory: Path) -> list[Path]:
    try:
        return sorted(Path(e.path) for e in os.scandir(directory) if is_journal_name(e.name))
    except FileNotFoundError:
        return []


def settle_target(target: str | os.PathLike) -> RecoveryReport:
    """Finish or roll back any interrupted transaction that touched ``target`` (a resolved path);
    called holding its lock, by :func:`statesafe.locking.locked` on its outermost acquisition
    (or by a writer that took the lock with ``settle=False`` and found a journal beside the file).

    ``target`` itself is always brought to the transaction's decided generation; the other
    members are settled too when their locks are free (otherwise their next writer or
    ``statesafe recover`` does it). Raises WriteError if ``target`` itself cannot be settled.
    """
    report = RecoveryReport()
    target = Path(target)
    journals = _journals_in(target.parent)
    if journals:
        with sanctioned():
            for journal in journals:
                _settle_journal(journal, report, holding=target, wait=None)
    return report


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
    if not os.path.exists(locking.lock_path(target)) and not _journals_in(target.parent):
        # Never locked (a file outside the policy is written without a lock): no lock file is made
        # for it here either, and only temps whose writer is gone are stale.
        try:
            report.temps_removed.extend(map(Path, fsutil.remove_stale_temps(target, only_dead_writers=True)))
        except StatesafeError as exc:
            report.errors.append(str(exc))
        return
    try:
        with locking.lock(target, timeout=0):  # settles first: a temp named in a journal is settled, never just deleted
            report.temps_removed.extend(map(Path, fsutil.remove_stale_temps(target)))
    except LockError as exc:
        report.busy.append(f"temps of {target}: {exc}")
    except StatesafeError as exc:
        report.errors.append(str(exc))


# --- the transaction -------------------------------------------------------------------------

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
                locks.enter_context(locking.locked(member.target, timeout=self._timeout))  # settles each
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
        journals = [directory / f"{JOURNAL_PREFIX}{txid}{JOURNAL_SUFFIX}" for directory in anchors]
        record = {"statesafe_transaction": FORMAT, "id": txid, "state": COMMIT,
                  "journals": [str(j) for j in journals], "members": [m.record() for m in members]}
        pointer = {"statesafe_transaction": FORMAT, "id": txid, "primary": str(journals[0]),
                   "targets": [str(m.target) for m in members]}
        written: list[Path] = []
        try:
            for journal, anchor in list(zip(journals, anchors.values()))[1:]:
                _write_record(journal, pointer, anchor.target, anchor.before)
                written.append(journal)
            for directory, anchor in anchors.items():  # temps, priors, backups, pointers: durable
                fsutil.fsync_directory(directory, anchor.target)
            first = members[0]
            _write_record(journals[0], record, first.target, first.before)
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
            rolled = dict(record, state=ROLLBACK, members=[m.record() for m in members])
            _write_record(primary, rolled, members[0].target, members[0].before)
        except BaseException as exc:  # the journal still says commit: its undo images must go
            for undo in made:
                fsutil.discard(undo)
            raise _unfinished(cause, exc, primary, "the transaction stays committed") from exc
        try:  # from here the journal says rollback: its undo images must stay until used
            fsutil.fsync_directory(primary.parent, members[0].target)
            for member in members:
                _settle_member(member.record(), ROLLBACK)
            for directory in sorted({m.target.parent for m in members}):
                fsutil.fsync_directory(directory, directory)
            _delete_journals(rolled)
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
            _delete_journals(record)
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
                held.enter_context(locking.locked(target, timeout=timeout))  # and settles it
        tx = Transaction(policy, declared, timeout)
        try:
            yield tx
        except BaseException:
            tx._open = False
            raise
        tx._commit()
