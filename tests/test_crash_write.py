"""SIGKILL a process in the middle of writing a 2 MB tracker, again and again.

After every kill: the tracker is one whole generation (never partial), never older than the
last write the child acknowledged; the next write leaves <= 5 backups and no stale temps.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time

import pytest

import statesafe
from fs_support import TRACKER, backup_names, child_env, temps

WRITER = """
import sys, statesafe
from tests_payload import payload
generation = int(sys.argv[1])
while True:
    generation += 1
    statesafe.write("threads_daily_tracker.json", payload(generation))
    sys.stdout.write(f"{generation}\\n")
    sys.stdout.flush()
"""

PAYLOAD = '''
POSTS = b"[" + b", ".join(b'{"id": %d, "text": "%s"}' % (i, b"x" * 80) for i in range(20000)) + b"]"

def payload(generation):
    return b'{"generation": %d, "posts": ' % generation + POSTS + b"}\\n"
'''


def run_kills(home, kills: int, seed: int):
    (home / "tests_payload.py").write_text(PAYLOAD)
    sys.path.insert(0, str(home))
    try:
        from tests_payload import payload
    finally:
        sys.path.remove(str(home))
    assert len(payload(0)) > 2_000_000
    target = home / TRACKER
    statesafe.write(target, payload(0))
    rng = random.Random(seed)
    generation, period, mid_write = 0, 0.05, 0
    for _ in range(kills):
        child = subprocess.Popen([sys.executable, "-c", WRITER, str(generation)], cwd=home, env=child_env(),
                                 stdout=subprocess.PIPE, text=True)
        first = time.monotonic()
        acked = int(child.stdout.readline())  # one write done: now kill it at a random moment
        time.sleep(rng.uniform(0, 2 * period))
        child.send_signal(signal.SIGKILL)
        acked = max([acked, *map(int, child.stdout.read().split())])
        child.wait()
        period = min(0.2, max(0.005, (time.monotonic() - first) / max(1, acked - generation)))

        mid_write += bool(temps(home))
        on_disk = target.read_bytes()
        now = json.loads(on_disk)["generation"]
        assert now in (acked, acked + 1), f"acknowledged {acked}, found {now}"
        assert on_disk == payload(now)  # whole, never partial
        for backup in statesafe.backups(target):
            assert backup.read_bytes() == payload(json.loads(backup.read_bytes())["generation"])

        generation = now + 1
        statesafe.write(target, payload(generation))
        assert len(backup_names(home)) <= 5
        assert temps(home) == []
    return mid_write


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_sigkill_during_writes_never_loses_or_tears_the_tracker(home):
    mid_write = run_kills(home, kills=20, seed=1)
    assert mid_write >= 3  # kills that left a temp behind: they landed inside a write


@pytest.mark.slow
def test_sigkill_during_writes_200_times(home):
    assert run_kills(home, kills=200, seed=2) >= 30
