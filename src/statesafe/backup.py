"""A file's backups: list them, and restore one.

Backups are ``<name>.bak-<stamp>[-N]`` siblings of the file actually written (for a
symlinked file, of its target); ``-corrupted`` snapshots keep what a restore replaced.
"""

from __future__ import annotations

import os
from pathlib import Path

from statesafe import fsutil, names
from statesafe.commit import replace_file
from statesafe.errors import RestoreError, WriteError
from statesafe.policy import load_policy
from statesafe.recovery import settled
from statesafe.sanction import sanctioned


def backups(path: str | os.PathLike) -> list[Path]:
    """Every backup of ``path``, newest first (by stamp, then counter), regular and -corrupted alike."""
    return [Path(backup) for _, backup in fsutil.backups_of(fsutil.resolve_target(path))]


def backup_source(path: str | os.PathLike, backup: str | os.PathLike) -> Path:
    """The resolved backup, refused (RestoreError) unless it is a real ``.bak-`` sibling of ``path``.

    A bare name is looked up beside the file; a sibling that is a symlink to elsewhere is refused,
    a path through ``..`` that resolves to a real sibling is fine.
    """
    target = Path(fsutil.resolve_target(path))
    given = Path(backup)
    if given.name == os.fspath(backup):
        given = target.parent / given
    source = Path(os.path.realpath(given))
    parsed = names.parse_backup(source.name)
    if source.parent != target.parent or parsed is None or parsed.base != target.name:
        raise RestoreError(f"{target}: refusing to restore from {backup}: it resolves to {source}, "
                           f"which is not a {target.name}{names.BACKUP_MARK}* backup beside the file")
    if not source.is_file():
        raise RestoreError(f"{target}: no backup {source}")
    return source


def restore(path: str | os.PathLike, backup: str | os.PathLike) -> Path | None:
    """Put ``backup``'s content back into ``path``; returns the ``-corrupted`` snapshot of what it replaced.

    The current file is first kept as ``<name>.bak-<stamp>-corrupted`` (None if there was no
    file), then replaced atomically with a copy of the backup (the backup itself stays).
    """
    target = Path(fsutil.resolve_target(path))
    source = backup_source(target, backup)
    keep = load_policy().keep_backups
    with sanctioned(), settled(target):  # which settles an interrupted transaction first
        fsutil.remove_stale_temps(target)
        try:
            with open(source, "rb") as f:
                content, like = f.read(), os.fstat(f.fileno())
        except OSError as exc:
            raise WriteError(source, "backup", exc) from exc
        # a file that does not exist yet takes the backup's permission bits
        snapshot = replace_file(str(target), content, backups=keep, corrupted=True, like=like)
    return None if snapshot is None else Path(snapshot)
