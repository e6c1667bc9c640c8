"""statesafe.write: what each class of file gets, and the filesystem state it leaves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest

import statesafe
from statesafe import names, sanction
from statesafe.errors import PolicyViolation, StaleError
from statesafe.policy import FileClass
from fs_support import COMPANION, LOG, TRACKER, backup_names, child_env, temps


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_json_data_is_utf8_indented_with_trailing_newline(home):
    statesafe.write(TRACKER, {"posts": [{"text": "café ✓"}]})
    assert (home / TRACKER).read_bytes() == (
        '{\n  "posts": [\n    {\n      "text": "café ✓"\n    }\n  ]\n}\n'.encode("utf-8"))


def test_str_is_utf8_and_bytes_are_written_as_given(home):
    statesafe.write("style_guide.md", "ünïcode\n")
    assert (home / "style_guide.md").read_bytes() == "ünïcode\n".encode("utf-8")
    statesafe.write("style_guide.md", b"\x00\xffraw")
    assert (home / "style_guide.md").read_bytes() == b"\x00\xffraw"


def test_destructive_write_keeps_the_old_content_as_a_hard_link_backup(home):
    target = home / TRACKER
    statesafe.write(target, {"generation": 1})
    assert backup_names(home) == []  # a new file has nothing to back up
    old_inode = os.stat(target).st_ino
    statesafe.write(target, {"generation": 2})
    [backup] = statesafe.backups(target)
    assert json.loads(backup.read_text()) == {"generation": 1}
    assert os.stat(backup).st_ino == old_inode  # O(1): the old inode itself, not a copy
    assert json.loads(target.read_text()) == {"generation": 2}
    assert sorted(os.listdir(home)) == sorted([TRACKER, backup.name, f".{TRACKER}.lock"])


def test_backups_are_pruned_to_the_policy_count_newest_kept(home):
    for generation in range(1, 10):
        statesafe.write(TRACKER, {"generation": generation})
    kept = statesafe.backups(TRACKER)
    assert [json.loads(b.read_text())["generation"] for b in kept] == [8, 7, 6, 5, 4]
    assert temps(home) == []


def test_same_second_backups_get_a_counter_never_overwrite(home, monkeypatch):
    monkeypatch.setattr(names, "utc_stamp", lambda now=None: "20260422T143012Z")
    for generation in range(1, 5):
        statesafe.write(TRACKER, {"generation": generation})
    assert backup_names(home) == [f"{TRACKER}.bak-20260422T143012Z",
                                  f"{TRACKER}.bak-20260422T143012Z-1", f"{TRACKER}.bak-20260422T143012Z-2"]
    assert [json.loads(b.read_text())["generation"] for b in statesafe.backups(TRACKER)] == [3, 2, 1]


def test_pruned_counters_are_not_reused_within_a_second(home, monkeypatch):
    """A reused counter would name the newest backup as the oldest, and prune it at once."""
    monkeypatch.setattr(names, "utc_stamp", lambda now=None: "20260422T143012Z")
    for generation in range(1, 10):
        statesafe.write(TRACKER, {"generation": generation})
    assert [json.loads(b.read_text())["generation"] for b in statesafe.backups(TRACKER)] == [8, 7, 6, 5, 4]


def test_keep_count_comes_from_the_policy(home):
    (home / "statesafe.toml").write_text("keep-backups = 2\n")
    for generation in range(5):
        statesafe.write(TRACKER, {"generation": generation})
    assert len(statesafe.backups(TRACKER)) == 2


def test_log_write_is_a_policy_violation_pointing_to_append(home):
    with pytest.warns(UserWarning), pytest.raises(PolicyViolation) as caught:
        statesafe.write(LOG, "x\n")
    assert not isinstance(caught.value, OSError)
    assert "statesafe.append" in str(caught.value) and LOG in str(caught.value)
    assert not (home / LOG).exists()


def test_backup_files_are_never_written(home):
    statesafe.write(TRACKER, {"a": 1})
    statesafe.write(TRACKER, {"a": 2})
    [backup] = statesafe.backups(TRACKER)
    with pytest.warns(UserWarning), pytest.raises(PolicyViolation):
        statesafe.write(backup, {"a": 3})
    assert json.loads(backup.read_text()) == {"a": 1}


def test_companion_is_replaced_without_backup(home):
    statesafe.write(COMPANION, "# v1\n")
    statesafe.write(COMPANION, "# v2\n")
    assert (home / COMPANION).read_text() == "# v2\n"
    assert sorted(os.listdir(home)) == [f".{COMPANION}.lock", COMPANION]


def test_compiled_content_without_required_fields_is_refused(home):
    (home / "compiled").mkdir()
    target = home / "compiled" / "cluster_wiki.json"
    with pytest.raises(StaleError):
        statesafe.write(target, {"clusters": []})
    assert not target.exists()
    meta = {"generated_at": "2026-01-01T00:00:00Z", "source_tracker_hash": "sha256:" + "0" * 64,
            "posts_count": 0, "confidence_level": "low", "coverage_notes": "none yet"}
    statesafe.write(target, {"_meta": meta, "clusters": []})
    assert json.loads(target.read_text())["clusters"] == []
    assert backup_names(target.parent, "cluster_wiki.json") == []


def test_outside_the_policy_a_plain_atomic_replace_that_leaves_no_lock_file(home):
    statesafe.write("notes.txt", "one\n")
    statesafe.write("notes.txt", "two\n")
    assert (home / "notes.txt").read_text() == "two\n"
    assert sorted(os.listdir(home)) == ["notes.txt"]


def test_outside_the_policy_only_temps_of_dead_writers_are_removed(home):
    """No lock outside the policy: a temp whose writer still runs may be in flight."""
    dead = home / names.temp_name("notes.txt").replace(f"-{os.getpid()}-", "-999999-")
    alive = home / names.temp_name("notes.txt").replace(f"-{os.getpid()}-", f"-{os.getppid()}-")
    with sanction.sanctioned():
        dead.write_text("half")
        alive.write_text("in flight")
    statesafe.write("notes.txt", "new\n")
    assert not dead.exists() and alive.exists()
    assert (home / "notes.txt").read_text() == "new\n"


def test_outside_the_policy_concurrent_writers_all_succeed_and_never_tear(home):
    """Lock-free: 4 processes x 50 writes of one file; none removes another's temp in flight."""
    script = ("import os, sys, statesafe\n"
              "for i in range(50):\n"
              "    statesafe.write('notes.txt', f'{os.getpid()} {i}\\n' * 2000)\n")
    workers = [subprocess.Popen([sys.executable, "-c", script], cwd=home, env=child_env(), stderr=subprocess.PIPE)
               for _ in range(4)]
    for worker in workers:
        assert worker.wait(timeout=300) == 0, worker.stderr.read().decode()
    content = (home / "notes.txt").read_text().splitlines()
    assert len(content) == 2000 and len(set(content)) == 1 and content[0].endswith(" 49")
    assert sorted(os.listdir(home)) == ["notes.txt"]


def test_outside_the_policy_as_class_still_gets_the_lock(home):
    statesafe.write("notes.txt", "one\n", as_class=FileClass.COMPANION)
    assert sorted(os.listdir(home)) == [".notes.txt.lock", "notes.txt"]


def test_as_class_overrides_the_classification(home):
    statesafe.write("mine.json", {"a": 1}, as_class=FileClass.DESTRUCTIVE)
    statesafe.write("mine.json", {"a": 2}, as_class="destructive")
    assert len(statesafe.backups("mine.json")) == 1
    with pytest.warns(UserWarning), pytest.raises(PolicyViolation):
        statesafe.write("mine.json", {"a": 3}, as_class=FileClass.LOG)


def test_stale_temps_of_the_file_are_removed_by_the_next_write(home):
    statesafe.write(TRACKER, {"a": 1})
    stale = home / names.temp_name(TRACKER)
    stale.write_bytes(b'{"half')
    other = home / names.temp_name("style_guide.md")
    other.write_bytes(b"not ours")
    lookalike = home / f"{TRACKER}.tmp-mine"
    lookalike.write_bytes(b"not a statesafe temp")
    statesafe.write(TRACKER, {"a": 2})
    assert not stale.exists() and other.exists() and lookalike.exists()


def test_symlinked_file_writes_the_target_and_keeps_the_link(home):
    real = home / "data"
    real.mkdir()
    (real / TRACKER).write_text('{"a": 1}\n')
    link = home / "skill"
    link.mkdir()
    (link / TRACKER).symlink_to(real / TRACKER)
    statesafe.write(link / TRACKER, {"a": 2})
    assert (link / TRACKER).is_symlink()
    assert json.loads((real / TRACKER).read_text()) == {"a": 2}
    assert len(statesafe.backups(link / TRACKER)) == 1 and backup_names(real) and not backup_names(link)


def test_every_filesystem_step_runs_sanctioned_and_serialising_does_not(home, monkeypatch):
    seen = []
    for name in ("replace", "link", "fsync", "open"):
        real = getattr(os, name)

        def spy(*args, _real=real, _name=name, **kwargs):
            if not (_name == "open" and args[1] & getattr(os, "O_PATH", 0)):  # resolving the path reads nothing
                seen.append((_name, sanction.active()))
            return _real(*args, **kwargs)
        monkeypatch.setattr(os, name, spy)

    statesafe.write(TRACKER, {"a": 1})
    statesafe.write(TRACKER, {"a": 2})
    assert {n for n, _ in seen} >= {"replace", "link", "fsync", "open"}
    assert all(active for _, active in seen)
    assert not sanction.active()


def test_write_inside_a_held_lock_does_not_deadlock_and_excludes_other_threads(home):
    order = []
    with statesafe.lock(TRACKER):
        other = threading.Thread(target=lambda: (statesafe.write(TRACKER, {"by": "thread"}), order.append("thread")))
        other.start()
        statesafe.write(TRACKER, {"by": "main"})
        other.join(0.3)
        assert other.is_alive()  # waiting for the lock this thread holds
        order.append("main")
    other.join(10)
    assert order == ["main", "thread"]
    assert json.loads((home / TRACKER).read_text()) == {"by": "thread"}
