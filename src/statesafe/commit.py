"""Replacing one file, atomically and durably: the sequence ``statesafe.write`` and
``statesafe.restore`` both run, in one function.

1. write the new content to a temp beside the file (``O_CREAT|O_EXCL|O_NOFOLLOW``, an
   unpredictable name, the file's permission bits) and fsync it;
2. keep the old inode under another name: a backup (a hard link, or a copy where links fail),
   then the prune to the keep-count; or, for a file without backups, a hard link held only until
   the write has landed;
3. rename the temp over the file: the commit point;
4. fsync the directory. If that fails the write has failed: the old inode is renamed back (a file
   that did not exist is removed) before the error is raised.

Every fallible step but the directory fsync comes before the rename, so a failure leaves the file
byte-identical and no temp behind (docs/writers.md has the table, step by step). The steps are
:mod:`statesafe.fsutil`'s and raise its WriteError naming file and step.

The caller holds the file's lock (a file outside the policy is written without one), has settled
any interrupted transaction and removed stale temps, and runs this inside
:func:`statesafe.sanction.sanctioned`. A multi-file transaction installs its files another way
(its journal is the commit point: :mod:`statesafe.transactions`), from the same fsutil steps.
"""

from __future__ import annotations

import os

from statesafe import fsutil, names
from statesafe.errors import WriteError


def replace_file(target: str, data: bytes, *, backups: int | None = None, corrupted: bool = False,
                 existing: list[tuple[names.BackupName, str]] | None = None,
                 like: os.stat_result | None = None) -> str | None:
    """Replace the resolved ``target`` with ``data``; returns the backup taken, if any.

    ``backups``: keep the current file as a backup and prune to that many first (a destructive
    write; ``corrupted`` makes the backup restore's ``-corrupted`` snapshot); None: no backup.
    ``existing``: :func:`statesafe.fsutil.siblings`' backups, when the caller has listed them under
    the lock. ``like``: whose permission bits a file that does not exist yet takes (default: the
    kernel's ``0o666 & ~umask``); an existing file keeps its own.
    """
    before = fsutil.stat_or_none(target)
    temp = fsutil.write_temp(target, data, before or like)  # complete and fsynced, or gone
    prior = None  # the old inode under another name: the backup, or a link held until we are done
    try:
        if backups is not None:
            # O(1) link right before the rename, and the prune before it too, so that every fallible
            # step but the directory fsync comes before the commit point
            prior = fsutil.backup_and_prune(target, backups, corrupted=corrupted, existing=existing)
        else:
            prior = fsutil.hold_prior(target)
        fsutil.replace(temp, target)  # the commit point
        try:
            fsutil.fsync_directory(os.path.dirname(target), target)
        except Exception:  # a failed write after all: the old version goes back before the error
            _put_back(target, prior, existed=before is not None)
            raise
    except BaseException:
        # An interrupt (KeyboardInterrupt, SystemExit) after the rename stops the write rather than
        # undoing it. A backup is discarded only while the file still holds the old version (then
        # it is no backup of anything); once the new content is in place it is the old version's
        # one copy. A held link is not a backup: it always goes.
        if prior is not None and (backups is None or _holds_current(temp, target, prior)):
            fsutil.discard(prior)
        fsutil.discard(temp)
        raise
    if backups is None and prior is not None:
        fsutil.discard(prior)
        return None
    return prior


def _put_back(target: str, prior: str | None, *, existed: bool) -> None:
    """Best effort: make ``target`` the inode ``prior`` holds again (remove it if it is new)."""
    try:
        if prior is None:
            if not existed:
                os.unlink(target)
            return
        restored = fsutil.beside(target, names.temp_name(os.path.basename(target)))
        os.link(prior, restored, follow_symlinks=False)
        try:
            os.replace(restored, target)
        except OSError:
            fsutil.discard(restored)
            raise
        fsutil.fsync_directory(os.path.dirname(target), target)
    except (OSError, WriteError):
        pass  # the error being raised already says the write failed


def _holds_current(temp: str, target: str, prior: str) -> bool:
    """After a failure: whether ``prior`` is only another name for what ``target`` holds now (the
    rename never happened, or :func:`_put_back` put the old inode back).

    False once the new content is in place (the rename happened, then an interrupt or a failed
    put-back): ``prior`` is then the only copy of the old version, a backup to keep.
    """
    if os.path.lexists(temp):
        return True  # never renamed: target is untouched
    try:
        return os.path.samestat(os.stat(prior), os.stat(target))
    except OSError:
        return False
