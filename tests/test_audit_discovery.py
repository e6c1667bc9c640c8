"""Which files `statesafe audit` reads, driven the way a skill author runs it: git, ignores, excludes, named files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

RAW = "open('threads_daily_tracker.json', 'w').write('{}')\n"


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args], cwd=cwd, check=True,
                   capture_output=True, timeout=60)


def _audit(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "statesafe", "audit", "--no-cache", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def _paths(cwd: Path, *args: str) -> set[str]:
    result = _audit(cwd, "--format", "json", *args)
    assert result.returncode in (0, 1), result.stderr
    return {f["path"] for f in json.loads(result.stdout)}


@pytest.fixture
def repo(tmp_path) -> Path:
    root = tmp_path / "repo"
    (root / "scripts").mkdir(parents=True)
    (root / "build").mkdir()
    (root / "tests").mkdir()
    (root / "scripts" / "save.py").write_text(RAW)
    (root / "scripts" / "generated.py").write_text(RAW)
    (root / "build" / "release.py").write_text(RAW)
    (root / "tests" / "seed.py").write_text(RAW)
    (root / ".gitignore").write_text("generated.py\nbuild/\n")
    _git(root, "init", "-q")
    _git(root, "add", "-f", "scripts", "build", "tests", ".gitignore")  # tracked although ignored
    _git(root, "commit", "-qm", "skill")
    return root


def test_a_tracked_file_is_audited_whatever_gitignore_says(repo):
    assert _paths(repo, ".") == {"scripts/save.py", "scripts/generated.py", "build/release.py", "tests/seed.py"}


def test_untracked_files_follow_gitignore_and_info_exclude(repo):
    (repo / "scripts" / "scratch_generated.py").write_text(RAW)
    (repo / "scripts" / "local_only.py").write_text(RAW)
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "exclude").write_text("local_only.py\n")
    (repo / ".gitignore").write_text("*generated.py\nbuild/\n")
    found = _paths(repo, ".")
    assert "scripts/local_only.py" not in found  # untracked, excluded by .git/info/exclude
    assert "scripts/scratch_generated.py" not in found  # untracked, ignored
    assert "scripts/generated.py" in found  # tracked


def test_exclude_is_a_gitignore_pattern_and_reaches_tracked_files(repo):
    assert _paths(repo, ".", "--exclude", "tests/") == {"scripts/save.py", "scripts/generated.py",
                                                         "build/release.py"}
    assert _paths(repo, ".", "--exclude", "scripts/gen*.py", "--exclude", "build/") == {"scripts/save.py",
                                                                                       "tests/seed.py"}


def test_a_named_file_that_is_not_python_is_skipped_and_counted(repo):
    (repo / "README.md").write_text("# A skill\n\nTypo fixed: open( is not code here\n")
    (repo / "config.json").write_text("{not python")
    (repo / "tool").write_text("#!/usr/bin/env python3\n" + RAW)
    clean = _audit(repo, "README.md", "config.json")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "FS901" not in clean.stdout
    assert "2 skipped: neither Python nor a skill manifest" in clean.stdout
    raw = _audit(repo, "README.md", "tool")
    assert raw.returncode == 1 and "tool:2:1: FS101" in raw.stdout
