"""The primitives on their own: what the writers and transactions rely on."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from statesafe import fsutil, names
from statesafe.errors import WriteError
from fs_support import TRACKER


@pytest.fixture
def target(tmp_path):
    path = tmp_path / TRACKER
    path.write_bytes(b"original\n")
    return path


def test_resolve_target_follows_links(tmp_path, target):
    (tmp_path / "link").symlink_to(target)
    assert fsutil.resolve_target(tmp_path / "link") == str(target)


@pytest.mark.parametrize("given", ["link", "dirlink/" + TRACKER, "dirlink/../" + TRACKER, "dirlink/new.json",
                                   "dangling", "real/sub/../" + TRACKER, "real/" + TRACKER, "missing/dir/x.json"])
def test_resolve_target_agrees_with_realpath(tmp_path, given, monkeypatch):
    """The kernel's O_PATH resolution and os.path.realpath (the fallback) give the same file,
    '..' after a symlinked folder included (it is physical, not textual)."""
    real = tmp_path / "real"
    (real / "sub").mkdir(parents=True)
    (real / TRACKER).write_text("{}")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / TRACKER).write_text("{}")
    (tmp_path / "link").symlink_to(real / TRACKER)
    (tmp_path / "dirlink").symlink_to(real / "sub")
    (tmp_path / "dangling").symlink_to(real / "not-yet.json")
    monkeypatch.chdir(tmp_path)
    expected = os.path.realpath(given)
    assert fsutil.resolve_target(given) == expected
    assert fsutil.resolve_target(tmp_path / given) == expected
    monkeypatch.setattr(fsutil, "_PATH_FLAGS", 0)  # where there is no /proc
    assert fsutil.resolve_target(given) == expected


def test_write_temp_is_complete_fsynced_and_beside_the_target(target, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real(fd))
    temp = Path(fsutil.write_temp(target, b"x" * 3_000_000, os.stat(target)))
    assert temp.parent == target.parent and names.parse_temp(temp.name)[0] == TRACKER
    assert temp.read_bytes() == b"x" * 3_000_000 and len(synced) == 1


def test_write_all_finishes_short_writes(target, monkeypatch):
    real = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real(fd, bytes(data[:7])))
    temp = Path(fsutil.write_temp(target, b"0123456789" * 10, None))
    assert temp.read_bytes() == b"0123456789" * 10


def test_take_backup_links_and_counts_up_within_a_second(target):
    first = fsutil.take_backup(target, stamp="20260101T000000Z")
    second = fsutil.take_backup(target, stamp="20260101T000000Z")
    snapshot = fsutil.take_backup(target, corrupted=True, stamp="20260101T000000Z")
    assert [os.path.basename(p) for p in (first, second, snapshot)] == [
        f"{TRACKER}.bak-20260101T000000Z", f"{TRACKER}.bak-20260101T000000Z-1",
        f"{TRACKER}.bak-20260101T000000Z-corrupted"]
    assert os.stat(first).st_ino == os.stat(target).st_ino
    assert fsutil.take_backup(target.with_name("missing.json")) is None


def test_prune_keeps_newest_per_kind_and_ignores_foreign_names(tmp_path, target):
    for day in range(1, 9):
        (tmp_path / names.backup_name(TRACKER, f"202601{day:02d}T000000Z")).write_text("")
        (tmp_path / names.backup_name(TRACKER, f"202601{day:02d}T000000Z", corrupted=True)).write_text("")
    foreign = [tmp_path / f"{TRACKER}.bak-old", tmp_path / "style_guide.md.bak-20200101T000000Z"]
    for path in foreign:
        path.write_text("")
    removed = fsutil.prune(target, 5)
    assert len(removed) == 6
    kept = [os.path.basename(p) for _, p in fsutil.backups_of(target)]
    assert sorted(kept) == sorted(names.backup_name(TRACKER, f"202601{day:02d}T000000Z", corrupted=corrupted)
                                  for day in range(4, 9) for corrupted in (False, True))
    assert all(path.exists() for path in foreign)


def test_remove_stale_temps_only_of_that_file(tmp_path, target):
    ours = tmp_path / names.temp_name(TRACKER)
    theirs = tmp_path / names.temp_name("style_guide.md")
    ours.write_text("")
    theirs.write_text("")
    assert fsutil.remove_stale_temps(target) == [str(ours)]
    assert theirs.exists()


@pytest.mark.parametrize("base", [TRACKER, ".statesafe", ".statesafe-tx", ".statesafe-tx-1"])
def test_siblings_sees_a_journal_whatever_the_file_is_named(tmp_path, base):
    """A file whose name starts a journal's name still sees the journal (and its settle runs)."""
    target = tmp_path / base
    assert not fsutil.siblings(target).journal
    (tmp_path / f"{names.JOURNAL_PREFIX}1-2-ab{names.JOURNAL_SUFFIX}").write_text("{}")
    (tmp_path / names.backup_name(base, "20260101T000000Z")).write_text("")
    found = fsutil.siblings(target)
    assert found.journal and [os.path.basename(p) for _, p in found.backups] == [
        names.backup_name(base, "20260101T000000Z")]


class SharingViolation(OSError):
    winerror = 32


def test_replace_never_retries_on_posix(target, monkeypatch):
    calls = []
    monkeypatch.setattr(os, "replace", lambda *a: calls.append(a) or (_ for _ in ()).throw(
        SharingViolation(errno.EACCES, "in use")))
    with pytest.raises(WriteError) as caught:
        fsutil.replace(target.with_name("t"), target)
    assert caught.value.step == "rename" and len(calls) == 1


def test_replace_retries_sharing_violations_on_windows_a_bounded_number_of_times(target, monkeypatch):
    monkeypatch.setattr(fsutil, "_WINDOWS", True)
    monkeypatch.setattr(fsutil.time, "sleep", lambda seconds: None)
    outcomes = iter([SharingViolation(errno.EACCES, "in use")] * 3 + [None])
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(e) if (e := next(outcomes)) else None)
    fsutil.replace(target.with_name("t"), target)  # succeeds on the fourth try

    calls = []
    monkeypatch.setattr(os, "replace", lambda *a: calls.append(a) or (_ for _ in ()).throw(
        SharingViolation(errno.EACCES, "in use")))
    with pytest.raises(WriteError):
        fsutil.replace(target.with_name("t"), target)
    assert len(calls) == len(fsutil._REPLACE_DELAYS) + 1

    calls.clear()
    monkeypatch.setattr(os, "replace", lambda *a: calls.append(a) or (_ for _ in ()).throw(
        OSError(errno.ENOSPC, "full")))
    with pytest.raises(WriteError):
        fsutil.replace(target.with_name("t"), target)
    assert len(calls) == 1  # only sharing violations are retried


def test_write_error_is_an_oserror_that_keeps_errno_and_names_file_and_step(target):
    error = WriteError(target, "fsync", OSError(errno.EIO, "Input/output error"))
    assert isinstance(error, OSError) and error.errno == errno.EIO
    assert str(error) == f"{target}: fsync failed: Input/output error (errno {errno.EIO})"


def test_every_step_a_write_error_names_is_a_documented_step():
    """STEPS is what docs/writers.md lists: a new step name must be added to both."""
    import re

    source = Path(fsutil.__file__).parent
    used = {step for module in source.rglob("*.py")
            for step in re.findall(r'WriteError\([^,()]+, "([^"]+)"', module.read_text())}
    assert "remove" in used and used <= set(fsutil.STEPS)
    documented = (Path(__file__).resolve().parents[1] / "docs" / "writers.md").read_text()
    assert all(f"`{step}`" in documented for step in fsutil.STEPS)
