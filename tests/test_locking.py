"""statesafe.lock: exclusive across processes, re-entrant within a thread, several at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

import statesafe
from statesafe.errors import LockError
from fs_support import TRACKER, child_env


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


HOLDER = """
import sys, time, statesafe
with statesafe.lock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold_in_child(home, path, seconds):
    child = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), str(seconds)], cwd=home,
                             env=child_env(), stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline() == "held\n"
    return child


def test_reentrant_within_a_thread(home):
    with statesafe.lock(TRACKER) as target:
        with statesafe.lock(home / TRACKER):
            statesafe.write(TRACKER, {"a": 1})
        assert target == home / TRACKER
    assert (home / f".{TRACKER}.lock").exists()  # kept, so every process locks the same inode


def test_another_process_waits_and_a_timeout_is_a_lock_error(home):
    child = hold_in_child(home, TRACKER, 1.5)
    try:
        started = time.monotonic()
        with pytest.raises(LockError, match="another process"):
            with statesafe.lock(TRACKER, timeout=0.2):
                pass
        assert time.monotonic() - started < 1.0
        with statesafe.lock(TRACKER, timeout=30):  # granted once the holder lets go
            assert child.poll() is not None or time.monotonic() - started >= 1.0
    finally:
        child.wait()


def test_write_waits_for_a_lock_held_by_another_process(home):
    statesafe.write(TRACKER, {"by": "first"})
    child = hold_in_child(home, TRACKER, 0.5)
    started = time.monotonic()
    statesafe.write(TRACKER, {"by": "second"})
    assert time.monotonic() - started >= 0.3
    child.wait()


def test_a_symlink_and_its_target_share_one_lock(home):
    (home / TRACKER).write_text("{}")
    (home / "link.json").symlink_to(home / TRACKER)
    child = hold_in_child(home, "link.json", 1.0)
    try:
        with pytest.raises(LockError):
            with statesafe.lock(TRACKER, timeout=0.1):
                pass
    finally:
        child.wait()


def test_other_threads_wait(home):
    with statesafe.lock(TRACKER):
        result = []
        other = threading.Thread(target=lambda: result.append(_try_lock(TRACKER)))
        other.start()
        other.join()
        assert isinstance(result[0], LockError) and "another thread" in str(result[0])
    other = threading.Thread(target=lambda: result.append(_try_lock(TRACKER)))
    other.start()
    other.join()
    assert result[1] is None


def _try_lock(path):
    try:
        with statesafe.lock(path, timeout=0.05):
            return None
    except LockError as exc:
        return exc


def test_one_process_may_hold_several(home):
    with statesafe.lock(TRACKER), statesafe.lock("style_guide.md"):
        statesafe.write(TRACKER, {"a": 1})
        statesafe.write("style_guide.md", "x\n")


def test_a_forked_child_does_not_inherit_the_parents_hold(home):
    if not hasattr(os, "fork"):
        pytest.skip("no fork")
    with statesafe.lock(TRACKER):
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                with statesafe.lock(TRACKER, timeout=0.1):
                    code = 1  # it must not get the lock its parent holds
            except LockError:
                pass
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    with statesafe.lock(TRACKER, timeout=1):  # and the parent still releases normally
        pass


INCREMENTER = """
import json, sys, statesafe
for _ in range(int(sys.argv[1])):
    with statesafe.lock("threads_daily_tracker.json"):
        with open("threads_daily_tracker.json", encoding="utf-8") as f:
            count = json.load(f)["count"]
        statesafe.write("threads_daily_tracker.json", {"count": count + 1})
"""


def test_locked_read_modify_write_loses_no_update(home):
    """8 processes x 100 locked increments: the count is exactly 800."""
    statesafe.write(TRACKER, {"count": 0})
    workers = [subprocess.Popen([sys.executable, "-c", INCREMENTER, "100"], cwd=home, env=child_env())
               for _ in range(8)]
    assert all(w.wait(timeout=300) == 0 for w in workers)
    assert json.loads((home / TRACKER).read_text()) == {"count": 800}
    assert len(statesafe.backups(TRACKER)) == 5
