"""Security: modes kept at every moment, planted links never followed, foreign restores refused."""

from __future__ import annotations

import json
import os
import stat

import pytest

import statesafe
from statesafe import fsutil, names
from statesafe.errors import RestoreError
from fs_support import TRACKER, backup_names, temps


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def secret(home, mode=0o600):
    target = home / "threads_booster_config.json"
    target.write_text('{"api_token": "s3cret"}\n')
    os.chmod(target, mode)
    return target


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_0600_file_its_temps_and_backups_are_never_readable_by_others(home, monkeypatch, umask):
    target = secret(home)
    created = []  # (path, mode asked of the kernel) for every file the writer creates
    seen = []  # the mode of every temp while it is being written
    real_open, real_fsync = os.open, os.fsync

    def spy_open(path, flags, perm=0o777, *args, **kwargs):
        if flags & os.O_CREAT and (names.TEMP_MARK in str(path) or names.BACKUP_MARK in str(path)):
            created.append((str(path), perm))
        return real_open(path, flags, perm, *args, **kwargs)

    def spy_fsync(fd):
        seen.extend(mode(t) for t in home.iterdir() if names.parse_temp(t.name))
        return real_fsync(fd)

    monkeypatch.setattr(os, "open", spy_open)
    monkeypatch.setattr(os, "fsync", spy_fsync)
    old = os.umask(umask)
    try:
        statesafe.write(target, {"api_token": "new"})
        monkeypatch.setattr(os, "link", lambda *a, **k: (_ for _ in ()).throw(OSError(1, "no links")))
        statesafe.write(target, {"api_token": "newer"})  # the copy fallback for the backup
    finally:
        os.umask(old)
    assert created and all(asked & 0o077 == 0 for _, asked in created)
    assert seen and set(seen) == {0o600}
    assert mode(target) == 0o600
    assert [mode(b) for b in statesafe.backups(target)] == [0o600, 0o600]
    assert mode(home / ".threads_booster_config.json.lock") == 0o600


def test_other_modes_are_kept_exactly(home):
    target = secret(home, 0o640)
    statesafe.write(target, {"a": 1})
    assert mode(target) == 0o640
    os.chmod(target, 0o755)
    statesafe.write(target, {"a": 2})
    assert mode(target) == 0o755


def test_new_file_gets_0666_minus_umask(home):
    old = os.umask(0o077)
    try:
        statesafe.write(TRACKER, {"a": 1})
    finally:
        os.umask(old)
    assert mode(home / TRACKER) == 0o600


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to chown")
def test_owner_and_group_are_kept_where_the_process_may(home):
    target = secret(home)
    os.chown(target, 4321, 4322)
    statesafe.write(target, {"a": 1})
    info = os.stat(target)
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (4321, 4322, 0o600)


def test_planted_symlinks_at_predictable_backup_names_are_not_followed(home, monkeypatch):
    target = secret(home)
    victim = home / "victim"
    victim.write_text("do not touch\n")
    monkeypatch.setattr(names, "utc_stamp", lambda now=None: "20260422T143012Z")
    planted = [home / names.backup_name(target.name, "20260422T143012Z", n) for n in range(3)]
    for link in planted:
        link.symlink_to(victim)
    statesafe.write(target, {"a": 1})
    assert victim.read_text() == "do not touch\n"
    assert all(link.is_symlink() for link in planted)
    backup = home / names.backup_name(target.name, "20260422T143012Z", 3)
    assert not backup.is_symlink() and json.loads(backup.read_text()) == {"api_token": "s3cret"}
    assert mode(backup) == 0o600


def test_planted_symlink_at_a_predicted_temp_name_is_not_followed(home, monkeypatch):
    target = secret(home)
    victim = home / "victim"
    victim.write_text("do not touch\n")
    predicted = home / f"{target.name}.tmp-20260422T143012Z-1-00000000"
    real_temp_name = names.temp_name
    guesses = iter([predicted.name])
    monkeypatch.setattr(names, "temp_name", lambda base, stamp=None: next(guesses, None) or real_temp_name(base))
    # the attacker plants the link after the stale-temp sweep, right before the temp is made
    real_create = fsutil.create_temp

    def create_after_planting(*args):
        if not predicted.is_symlink():
            predicted.symlink_to(victim)
        return real_create(*args)

    monkeypatch.setattr(fsutil, "create_temp", create_after_planting)
    statesafe.write(target, {"a": 1})
    assert victim.read_text() == "do not touch\n"
    assert json.loads(target.read_text()) == {"a": 1} and not target.is_symlink()


def test_stale_temp_sweep_removes_a_planted_link_not_its_target(home):
    target = secret(home)
    victim = home / "victim"
    victim.write_text("do not touch\n")
    planted = home / names.temp_name(target.name)
    planted.symlink_to(victim)
    statesafe.write(target, {"a": 1})
    assert not os.path.lexists(planted) and victim.read_text() == "do not touch\n"
    assert temps(home) == []


@pytest.fixture
def with_backups(home):
    for generation in range(3):
        statesafe.write(TRACKER, {"generation": generation})
    return home / TRACKER


def refused(target, source):
    before = target.read_bytes()
    with pytest.raises(RestoreError, match="refusing"):
        statesafe.restore(target, source)
    assert target.read_bytes() == before


def test_restore_refuses_a_file_elsewhere(with_backups, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere") / f"{TRACKER}.bak-20260101T000000Z"
    elsewhere.write_text('{"evil": true}')
    refused(with_backups, elsewhere)


def test_restore_refuses_a_sibling_symlink_pointing_elsewhere(with_backups, tmp_path_factory):
    evil = tmp_path_factory.mktemp("elsewhere") / "evil.json"
    evil.write_text('{"evil": true}')
    link = with_backups.with_name(f"{TRACKER}.bak-20260101T000000Z")
    link.symlink_to(evil)
    refused(with_backups, link)


def test_restore_refuses_siblings_that_are_not_its_backups(with_backups):
    home = with_backups.parent
    (home / "notes.json").write_text("{}")
    (home / f"{TRACKER}.bak-old").write_text("{}")
    (home / "style_guide.md.bak-20260101T000000Z").write_text("")
    for name in ("notes.json", f"{TRACKER}.bak-old", "style_guide.md.bak-20260101T000000Z", f"../{TRACKER}"):
        refused(with_backups, home / name)


def test_restore_refuses_a_dotdot_path_out_of_the_folder(with_backups):
    refused(with_backups, with_backups.parent / ".." / f"{TRACKER}.bak-20260101T000000Z")


def test_symlinked_policy_file_target_written_link_kept(home):
    (home / "real").mkdir()
    real = home / "real" / TRACKER
    real.write_text('{"a": 0}\n')
    os.chmod(real, 0o600)
    (home / TRACKER).symlink_to(real)
    statesafe.write(TRACKER, {"a": 1})
    assert (home / TRACKER).is_symlink() and os.readlink(home / TRACKER) == str(real)
    assert json.loads(real.read_text()) == {"a": 1} and mode(real) == 0o600
    assert backup_names(home / "real") and not backup_names(home)
