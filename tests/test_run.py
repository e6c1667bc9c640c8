"""``statesafe run -- CMD``: CMD and every Python process under it run guarded."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import statesafe

# These tests break the rules on purpose, in subprocesses of their own: under
# `pytest --statesafe` they run unguarded.
pytestmark = pytest.mark.statesafe_off

TRACKER = "threads_daily_tracker.json"
ORIGINAL = b'{"posts": [1]}\n'
STATESAFE = [sys.executable, "-m", "statesafe"]
SRC = str(Path(statesafe.__file__).resolve().parent.parent)


def statesafe_run(cwd, *command, mode=None, env=None):
    options = ["--mode", mode] if mode else []
    return subprocess.run([*STATESAFE, "run", *options, "--", *command], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=120)


@pytest.fixture
def skill(tmp_path):
    directory = tmp_path / "skill"
    directory.mkdir()
    (directory / TRACKER).write_bytes(ORIGINAL)
    (directory / "parent.py").write_text(textwrap.dedent("""
        import subprocess, sys
        status = subprocess.run([sys.executable, "child.py"]).returncode
        print("child exited", status)
        sys.exit(status)
    """))
    (directory / "child.py").write_text(textwrap.dedent("""
        try:
            with open("threads_daily_tracker.json", "w") as f:
                f.write("lost")
        except Exception as exc:  # a script that swallows everything still fails
            print("caught", type(exc).__name__)
        print("child carried on")
    """))
    return directory


def test_a_raw_write_in_a_python_grandchild_is_refused(skill):
    # statesafe run -> sh (not Python) -> python parent.py -> python child.py
    proc = statesafe_run(skill, "sh", "-c", f"{sys.executable} parent.py; echo shell saw $?; exit 0")
    assert "caught PolicyViolation" in proc.stdout and "child carried on" in proc.stdout
    assert "child exited 1" in proc.stdout and "shell saw 1" in proc.stdout
    assert "PolicyViolation" in proc.stderr and str(skill / TRACKER) in proc.stderr
    assert proc.returncode == 0  # the shell's own status passes through
    assert (skill / TRACKER).read_bytes() == ORIGINAL


def test_uncaught_violation_fails_the_command(skill):
    proc = statesafe_run(skill, sys.executable, "-c", "import os; os.remove('threads_daily_tracker.json')")
    assert proc.returncode == 1
    assert "statesafe.errors.PolicyViolation" in proc.stderr and str(skill / TRACKER) in proc.stderr
    assert (skill / TRACKER).read_bytes() == ORIGINAL


@pytest.mark.parametrize("command, status", [
    ([sys.executable, "-c", "import sys; sys.exit(7)"], 7),
    (["sh", "-c", "exit 5"], 5),
    ([sys.executable, "-c", "import statesafe; statesafe.write('threads_daily_tracker.json', {'posts': []})"], 0),
])
def test_exit_status_passes_through(skill, command, status):
    assert statesafe_run(skill, *command).returncode == status


def test_warn_mode_reports_and_lets_it_happen(skill):
    proc = statesafe_run(skill, sys.executable, "child.py", mode="warn")
    assert proc.returncode == 0 and "PolicyWarning" in proc.stderr
    assert (skill / TRACKER).read_text() == "lost"


def test_an_existing_sitecustomize_still_runs(skill, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import os\nos.environ['CHAINED'] = 'yes'\n")
    code = "import os, statesafe.guard; print(os.environ.get('CHAINED'), statesafe.guard.mode())"
    proc = statesafe_run(skill, sys.executable, "-c", code, env={"PYTHONPATH": str(site)})
    assert proc.stdout.split() == ["yes", "enforce"], proc.stderr


def test_another_venv_is_guarded_when_it_can_import_statesafe(skill, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    bare = statesafe_run(skill, str(python), "-c", "open('threads_daily_tracker.json', 'w')")
    assert "cannot import statesafe" in bare.stderr and "not guarded" in bare.stderr
    (skill / TRACKER).write_bytes(ORIGINAL)
    site_packages = next((venv / "lib").glob("python*/site-packages"))
    (site_packages / "statesafe_src.pth").write_text(SRC + "\n")
    proc = statesafe_run(skill, str(python), "-c", "open('threads_daily_tracker.json', 'w')")
    assert proc.returncode == 1 and "PolicyViolation" in proc.stderr
    assert (skill / TRACKER).read_bytes() == ORIGINAL


def test_broken_policy_and_missing_command_are_clear_errors(skill):
    missing = statesafe_run(skill, "no-such-command-statesafe")
    assert missing.returncode == 127 and "statesafe: error: no-such-command-statesafe" in missing.stderr
    (skill / "statesafe.toml").write_text("keep-backups = 0\n")
    broken = statesafe_run(skill, sys.executable, "-c", "pass")
    assert broken.returncode == 2
    assert broken.stderr.startswith("statesafe: error:") and "statesafe.toml" in broken.stderr


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX shell")
def test_policy_comes_from_where_run_was_started(skill):
    (skill / "statesafe.toml").write_text('destructive = ["state.json"]\n')
    (skill / "sub").mkdir()
    proc = statesafe_run(skill, "sh", "-c", f"cd sub && {sys.executable} -c \"open('../state.json', 'w')\"")
    assert proc.returncode == 1 and "state.json" in proc.stderr
    assert not (skill / "state.json").exists()


def test_the_legacy_skills_hand_rolled_backup_helper_keeps_working(tmp_path):
    # examples/legacy-skill's save_with_backup: shutil.copy2 to a .bak- sibling, temp, os.replace, prune.
    root = Path(__file__).resolve().parents[1] / "examples"
    work = Path(shutil.copytree(root / "threads-skill" / "data", tmp_path / "work"))
    config = work / "threads_booster_config.json"
    before = config.read_bytes()
    proc = statesafe_run(root / "legacy-skill", sys.executable, "scripts/tune.py", "--dir", str(work),
                         "--window", "21", env={"SOURCE_DATE_EPOCH": "1776900000"})
    assert proc.returncode == 0, proc.stderr
    assert "PolicyViolation" not in proc.stderr
    assert (work / "threads_booster_config.json.bak-20260422T232000Z").read_bytes() == before
    assert b'"recent_window_days": 21' in config.read_bytes()
    again = statesafe_run(root / "legacy-skill", sys.executable, "scripts/tune.py", "--dir", str(work),
                          "--reset-style", env={"SOURCE_DATE_EPOCH": "1776900000"})
    assert again.returncode == 1 and "PolicyViolation: copy from" in again.stderr  # cp(template, guide)
