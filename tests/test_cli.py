"""The console script: every error, usage errors included, is one `statesafe: error:` line with exit 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

STATESAFE = [sys.executable, "-m", "statesafe"]


@pytest.mark.parametrize("args, message", [
    (["bogus"], "statesafe: error: No such command 'bogus'. (see 'statesafe --help')"),
    (["write"], "statesafe: error: Missing argument 'FILE'. (see 'statesafe write --help')"),
    (["append", "threads_daily_tracker.json", '{"a": 1}'],
     "statesafe: error: PolicyViolation: append() on {cwd}/threads_daily_tracker.json (destructive file) "
     "is not allowed; use statesafe.write(path, data)"),
])
def test_errors_are_one_line_exit_2(tmp_path, args, message):
    result = subprocess.run([*STATESAFE, *args], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [message.format(cwd=tmp_path)]
    assert list(tmp_path.iterdir()) == []  # nothing was written


def test_help_and_version_exit_0():
    for args in (["--help"], ["--version"], ["write", "--help"]):
        result = subprocess.run([*STATESAFE, *args], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0 and result.stdout and not result.stderr
