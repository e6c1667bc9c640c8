"""statesafe.commit.replace_file on its own: the one-file replace that write and restore share."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from statesafe import fsutil, names
from statesafe.commit import replace_file
from statesafe.errors import WriteError
from fs_support import TRACKER


@pytest.fixture
def target(tmp_path):
    path = tmp_path / TRACKER
    path.write_bytes(b"original\n")
    return path


def beside(target: Path) -> list[str]:
    """What the directory holds besides the file itself."""
    return sorted(name for name in os.listdir(target.parent) if name != target.name)


def backups(target: Path) -> list[str]:
    return [name for name in beside(target) if names.BACKUP_MARK in name]


def fail_directory_fsync(monkeypatch, error: BaseException) -> None:
    def failing(directory, path):
        raise error
    monkeypatch.setattr(fsutil, "fsync_directory", failing)


EIO = WriteError("x", "directory fsync", OSError(errno.EIO, "I/O error"))


def test_a_replace_with_backups_returns_the_backup_and_leaves_nothing_else(target):
    backup = replace_file(str(target), b"new\n", backups=5)
    assert target.read_bytes() == b"new\n" and Path(backup).read_bytes() == b"original\n"
    assert beside(target) == [os.path.basename(backup)]


def test_a_replace_without_backups_drops_the_held_link(target):
    assert replace_file(str(target), b"new\n") is None
    assert target.read_bytes() == b"new\n" and beside(target) == []


def test_the_backup_is_pruned_before_the_rename_and_counts(target):
    for day in range(1, 6):
        (target.parent / names.backup_name(target.name, f"202601{day:02d}T000000Z")).write_bytes(b"old\n")
    replace_file(str(target), b"new\n", backups=5)
    assert len(backups(target)) == 5 and names.backup_name(target.name, "20260101T000000Z") not in backups(target)


@pytest.mark.parametrize("keep", [None, 5])
def test_a_failed_directory_fsync_puts_the_old_inode_back(target, monkeypatch, keep):
    fail_directory_fsync(monkeypatch, EIO)
    with pytest.raises(WriteError):
        replace_file(str(target), b"new\n", backups=keep)
    assert target.read_bytes() == b"original\n" and beside(target) == []  # no temp, no backup of it


def test_a_failed_directory_fsync_removes_a_file_that_did_not_exist(tmp_path, monkeypatch):
    fail_directory_fsync(monkeypatch, EIO)
    with pytest.raises(WriteError):
        replace_file(str(tmp_path / "new.json"), b"new\n", backups=5)
    assert os.listdir(tmp_path) == []


def test_a_failed_rename_changes_nothing(target, monkeypatch):
    def failing(source, destination):
        raise WriteError(destination, "rename", OSError(errno.EIO, "I/O error"))
    monkeypatch.setattr(fsutil, "replace", failing)
    with pytest.raises(WriteError, match="rename failed"):
        replace_file(str(target), b"new\n", backups=5)
    assert target.read_bytes() == b"original\n" and beside(target) == []


def test_an_interrupt_after_the_rename_keeps_the_new_content_and_the_backup(target, monkeypatch):
    fail_directory_fsync(monkeypatch, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        replace_file(str(target), b"new\n", backups=5)
    [backup] = beside(target)  # the old version's only copy now: kept
    assert target.read_bytes() == b"new\n" and (target.parent / backup).read_bytes() == b"original\n"


def test_an_interrupt_after_the_rename_drops_a_held_link(target, monkeypatch):
    fail_directory_fsync(monkeypatch, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        replace_file(str(target), b"new\n")
    assert target.read_bytes() == b"new\n" and beside(target) == []  # no backups for this file: none made


def test_a_put_back_whose_rename_fails_leaves_no_temp(target, monkeypatch):
    fail_directory_fsync(monkeypatch, EIO)
    real_replace = os.replace

    def replace_only_the_temp(source, destination):
        if Path(destination) == target and Path(source).read_bytes() == b"original\n":
            raise OSError(errno.EIO, "I/O error")  # the put-back's rename
        real_replace(source, destination)
    monkeypatch.setattr(os, "replace", replace_only_the_temp)
    with pytest.raises(WriteError):
        replace_file(str(target), b"new\n", backups=5)
    assert target.read_bytes() == b"new\n"  # the put-back failed: the new content stays...
    [backup] = beside(target)  # ...and so does the backup, the old version's only copy; no temp
    assert (target.parent / backup).read_bytes() == b"original\n"


def test_an_existing_file_keeps_its_bits_and_a_new_one_takes_like(tmp_path, target):
    os.chmod(target, 0o600)
    replace_file(str(target), b"new\n", like=os.stat(tmp_path))
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    model = tmp_path / "model"
    model.write_bytes(b"")
    os.chmod(model, 0o640)
    replace_file(str(tmp_path / "new.json"), b"new\n", like=os.stat(model))
    assert stat.S_IMODE(os.stat(tmp_path / "new.json").st_mode) == 0o640

