"""Every failure point of a destructive write, with real faults: the original stays byte-identical,
the error names file and step and keeps the errno, and no temp is left behind.

Two kinds of fault: os calls patched to fail the way the kernel fails them, and the kernel's own
failures injected by strace (``-e inject=SYSCALL:error=ERRNO:when=N``) into a child process.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

import statesafe
from statesafe import names
from statesafe.errors import WriteError
from fs_support import COMPANION, LOG, STRACE, TRACKER, Faults, backup_names, fd_path, strace_fault, temps

ORIGINAL = b'{"posts": [1, 2, 3]}\n'
NEW = {"posts": [1, 2, 3, 4]}


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def plant(home: Path, old_backups: int = 0, name: str = TRACKER) -> Path:
    """The original file, plus ``old_backups`` backups from earlier days."""
    for stale in os.listdir(home):
        os.unlink(home / stale)
    target = home / name
    target.write_bytes(ORIGINAL)
    for day in range(1, old_backups + 1):
        (home / names.backup_name(name, f"202601{day:02d}T000000Z")).write_bytes(b'{"day": %d}\n' % day)
    return target


def is_dir_fd(fd) -> bool:
    return isinstance(fd, int) and os.path.isdir(fd_path(fd))


# step -> (os function, errno, predicate on its arguments, old backups to plant)
PATCHED = {
    "temp": ("open", errno.EACCES, lambda path, *a: names.TEMP_MARK in str(path), 0),
    "write": ("write", errno.ENOSPC, lambda fd, *a: names.TEMP_MARK in fd_path(fd), 0),
    "fsync": ("fsync", errno.EIO, lambda fd: not is_dir_fd(fd), 0),
    "rename": ("replace", errno.EIO, lambda *a: True, 0),
    "directory fsync": ("fsync", errno.EIO, is_dir_fd, 0),
    "prune": ("unlink", errno.EACCES, lambda path, *a: names.BACKUP_MARK in str(path), 5),
}


@pytest.mark.parametrize("step", PATCHED)
def test_patched_fault_leaves_original(home, monkeypatch, step):
    function, code, when, old = PATCHED[step]
    target = plant(home, old)
    before = backup_names(home)
    Faults(monkeypatch).fail(function, code, when, times=1)
    with pytest.raises(WriteError) as caught:
        statesafe.write(target, NEW)
    error = caught.value
    assert isinstance(error, OSError) and error.errno == code and error.step == step
    assert str(target) in str(error) and f"{step} failed" in str(error)
    assert target.read_bytes() == ORIGINAL
    assert temps(home) == []
    assert backup_names(home) == before  # no new backup either
    monkeypatch.undo()
    statesafe.write(target, NEW)  # and the next write goes through
    assert json.loads(target.read_text()) == NEW


def test_backup_fault_aborts_before_anything_changes(home, monkeypatch):
    """No hard link and no room for a copy: the write is refused, naming the file and the cause."""
    target = plant(home, 2)
    before = sorted(os.listdir(home))
    faults = Faults(monkeypatch)
    faults.fail("link", errno.EPERM, lambda src, dst, **kw: names.BACKUP_MARK in str(dst))
    faults.fail("open", errno.ENOSPC, lambda path, *a: names.BACKUP_MARK in str(path))
    with pytest.raises(WriteError) as caught:
        statesafe.write(target, NEW)
    assert caught.value.step == "backup" and caught.value.errno == errno.ENOSPC
    assert str(target) in str(caught.value) and "No space left" in str(caught.value)
    assert target.read_bytes() == ORIGINAL
    assert sorted(os.listdir(home)) == sorted(before + [f".{TRACKER}.lock"])


def test_backup_falls_back_to_a_copy_where_links_fail(home, monkeypatch):
    target = plant(home)
    os.chmod(target, 0o640)
    Faults(monkeypatch).fail("link", errno.EPERM)
    statesafe.write(target, NEW)
    [backup] = statesafe.backups(target)
    assert backup.read_bytes() == ORIGINAL
    assert os.stat(backup).st_ino != os.stat(target).st_ino
    assert os.stat(backup).st_mode & 0o777 == 0o640


@pytest.mark.parametrize("function", ["write", "replace"])
def test_failed_companion_rebuild_leaves_prior_copy(home, monkeypatch, function):
    target = plant(home, name=COMPANION)
    when = (lambda fd, *a: names.TEMP_MARK in fd_path(fd)) if function == "write" else (lambda *a: True)
    Faults(monkeypatch).fail(function, errno.ENOSPC, when)
    with pytest.raises(WriteError):
        statesafe.write(target, "# rebuilt\n")
    assert target.read_bytes() == ORIGINAL
    assert sorted(os.listdir(home)) == [f".{COMPANION}.lock", COMPANION]


def test_companion_directory_fsync_failure_puts_prior_copy_back(home, monkeypatch):
    target = plant(home, name=COMPANION)
    Faults(monkeypatch).fail("fsync", errno.EIO, is_dir_fd, times=1)
    with pytest.raises(WriteError) as caught:
        statesafe.write(target, "# rebuilt\n")
    assert caught.value.step == "directory fsync"
    assert target.read_bytes() == ORIGINAL
    assert temps(home) == []


def test_new_file_directory_fsync_failure_removes_it(home, monkeypatch):
    Faults(monkeypatch).fail("fsync", errno.EIO, is_dir_fd, times=1)
    with pytest.raises(WriteError):
        statesafe.write(home / TRACKER, NEW)
    assert sorted(os.listdir(home)) == [f".{TRACKER}.lock"]


def test_append_fault_names_file_and_leaves_log(home, monkeypatch):
    log = home / LOG
    log.write_bytes(b'{"a": 1}\n')
    Faults(monkeypatch).fail("write", errno.ENOSPC, lambda fd, *a: fd_path(fd) == str(log))
    with pytest.raises(WriteError) as caught:
        statesafe.append(log, {"b": 2})
    assert caught.value.step == "write" and caught.value.errno == errno.ENOSPC and str(log) in str(caught.value)
    assert log.read_bytes() == b'{"a": 1}\n'


def test_short_append_is_reported(home, monkeypatch):
    log = home / LOG
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, bytes(data)[:5]))
    with pytest.raises(WriteError) as caught:
        statesafe.append(log, {"b": 2})
    assert caught.value.errno == errno.ENOSPC and "only 5 of" in str(caught.value)


# --- strace: the kernel fails the syscall --------------------------------------------------

CHILD = """
import json, sys, statesafe
try:
    statesafe.write(sys.argv[1], {"posts": list(range(20000))})
    print(json.dumps({"ok": True}))
except statesafe.WriteError as e:
    print(json.dumps({"ok": False, "step": e.step, "errno": e.errno, "message": str(e),
                      "oserror": isinstance(e, OSError)}))
"""


def nth(n, predicate=lambda line: True):
    return n, predicate


def temp_fd_write(line):
    fd = int(line[len("write("):line.index(",")])
    return fd > 2 and '"{\\n  \\"posts' in line


# step -> (syscall, errno name, which call, old backups, another injection)
INJECTED = {
    "backup": ("openat", "ENOSPC", nth(1, lambda l: names.BACKUP_MARK in l), 0,
               "linkat:error=EPERM"),
    "temp": ("openat", "EACCES", nth(1, lambda l: names.TEMP_MARK in l), 0, ""),
    "write": ("write", "ENOSPC", nth(1, temp_fd_write), 0, ""),
    "fsync": ("fsync", "EIO", nth(1), 0, ""),
    "rename": ("rename", "EIO", nth(1), 0, ""),
    "directory fsync": ("fsync", "EIO", nth(2), 0, ""),
    "prune": ("unlink", "EACCES", nth(1, lambda l: names.BACKUP_MARK in l), 5, ""),
}


@pytest.mark.skipif(STRACE is None, reason="strace is not installed")
@pytest.mark.parametrize("step", INJECTED)
def test_injected_syscall_fault_leaves_original(home, step):
    syscall, error, match, old, extra = INJECTED[step]
    target = home / TRACKER
    result = strace_fault(home, CHILD, [TRACKER], syscall, error, match, lambda: plant(home, old), extra)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report == {"ok": False, "step": step, "errno": getattr(errno, error), "oserror": True,
                      "message": report["message"]}
    assert str(target) in report["message"] and f"{step} failed" in report["message"]
    assert target.read_bytes() == ORIGINAL
    assert temps(home) == []


@pytest.mark.skipif(STRACE is None, reason="strace is not installed")
def test_injected_link_failure_falls_back_to_copy(home):
    result = strace_fault(home, CHILD, [TRACKER], "linkat", "EXDEV", nth(1), lambda: plant(home))
    assert json.loads(result.stdout) == {"ok": True}
    [backup] = statesafe.backups(home / TRACKER)
    assert backup.read_bytes() == ORIGINAL


@pytest.mark.parametrize("interrupt", ["directory fsync", "after rename"])
def test_interrupt_after_the_rename_keeps_the_backup(home, monkeypatch, interrupt):
    """Past the commit point an interrupt stops the write, never undoes it: the new content stays
    and the backup of the old one with it (deleting it would leave no copy of the old version)."""
    from statesafe import fsutil

    target = plant(home)
    if interrupt == "directory fsync":
        monkeypatch.setattr(fsutil, "fsync_directory", lambda d, t: (_ for _ in ()).throw(KeyboardInterrupt))
    else:
        real_replace = os.replace

        def replace_then_interrupt(source, destination):
            real_replace(source, destination)
            if Path(destination) == target:
                raise KeyboardInterrupt
        monkeypatch.setattr(os, "replace", replace_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        statesafe.write(TRACKER, NEW)
    assert json.loads(target.read_bytes()) == NEW
    [backup] = backup_names(home)
    assert (home / backup).read_bytes() == ORIGINAL
    assert temps(home) == []


def test_interrupt_before_the_rename_leaves_no_trace(home, monkeypatch):
    from statesafe import fsutil

    target = plant(home)
    monkeypatch.setattr(fsutil, "replace", lambda s, t: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        statesafe.write(TRACKER, NEW)
    assert target.read_bytes() == ORIGINAL and backup_names(home) == [] and temps(home) == []


def test_a_failed_write_may_already_have_pruned_the_oldest_backup(home, monkeypatch):
    """What docs/writers.md states: the prune runs before the rename and counts the new backup."""
    target = plant(home, 5)
    before = backup_names(home)
    Faults(monkeypatch).fail("replace", errno.EIO, lambda *a: True, times=1)
    with pytest.raises(WriteError):
        statesafe.write(target, NEW)
    assert target.read_bytes() == ORIGINAL
    assert backup_names(home) == before[1:]  # the oldest went; the four newest stay
