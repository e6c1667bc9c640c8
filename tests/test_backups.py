"""statesafe.backups and statesafe.restore."""

from __future__ import annotations

import json
import os

import pytest

import statesafe
from statesafe import names
from fs_support import TRACKER, backup_names, temps


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def generations(home, count):
    for generation in range(1, count + 1):
        statesafe.write(TRACKER, {"generation": generation})
    return home / TRACKER


def test_backups_newest_first_snapshots_included_foreign_names_ignored(home):
    target = home / TRACKER
    target.write_text("{}")
    for name in ("20260101T000000Z", "20260102T000000Z", "20260102T000000Z-1", "20260101T120000Z-corrupted"):
        (home / f"{TRACKER}.bak-{name}").write_text("{}")
    (home / f"{TRACKER}.bak-old").write_text("{}")
    (home / f"style_guide.md.bak-20270101T000000Z").write_text("")
    assert [b.name for b in statesafe.backups(target)] == [
        f"{TRACKER}.bak-20260102T000000Z-1", f"{TRACKER}.bak-20260102T000000Z",
        f"{TRACKER}.bak-20260101T120000Z-corrupted", f"{TRACKER}.bak-20260101T000000Z"]


def test_restore_keeps_the_current_file_as_a_corrupted_snapshot(home):
    target = generations(home, 3)
    oldest = statesafe.backups(target)[-1]
    snapshot = statesafe.restore(target, oldest)
    assert json.loads(target.read_text()) == {"generation": 1}
    assert names.parse_backup(snapshot.name).corrupted
    assert json.loads(snapshot.read_text()) == {"generation": 3}
    assert json.loads(oldest.read_text()) == {"generation": 1}  # the backup itself stays
    assert os.stat(oldest).st_ino != os.stat(target).st_ino  # a copy: later edits cannot reach the backup
    assert temps(home) == []


def test_restore_accepts_a_bare_name_and_a_path_through_dotdot(home):
    target = generations(home, 3)
    newest = statesafe.backups(target)[0]
    statesafe.restore(target, newest.name)
    assert json.loads(target.read_text()) == {"generation": 2}
    (home / "sub").mkdir()
    statesafe.restore(target, home / "sub" / ".." / statesafe.backups(target)[-1].name)


def test_restore_keeps_the_files_mode(home):
    target = generations(home, 2)
    os.chmod(target, 0o600)
    statesafe.restore(target, statesafe.backups(target)[0])
    assert os.stat(target).st_mode & 0o777 == 0o600


def test_snapshots_are_pruned_separately_from_backups(home):
    target = generations(home, 7)
    for _ in range(7):
        statesafe.restore(target, statesafe.backups(target)[-1])
    found = [names.parse_backup(n) for n in backup_names(home)]
    assert sum(p.corrupted for p in found) == 5 and sum(not p.corrupted for p in found) == 5


def test_restore_of_a_symlinked_file_restores_the_target(home):
    (home / "data").mkdir()
    real = home / "data" / TRACKER
    statesafe.write(real, {"generation": 1})
    statesafe.write(real, {"generation": 2})
    (home / "link.json").symlink_to(real)
    statesafe.restore(home / "link.json", statesafe.backups(real)[0])
    assert (home / "link.json").is_symlink() and json.loads(real.read_text()) == {"generation": 1}


def test_restore_when_the_file_is_gone(home):
    target = generations(home, 2)
    os.unlink(target)
    assert statesafe.restore(target, statesafe.backups(target)[0]) is None
    assert json.loads(target.read_text()) == {"generation": 1}
