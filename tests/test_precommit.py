"""The pre-commit manifest: valid, documented, and working through ``pre-commit try-repo``."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from statesafe.cli import main

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO / ".pre-commit-hooks.yaml"
PRE_COMMIT = [sys.executable, "-m", "pre_commit"]


def hooks() -> list[dict]:
    return yaml.safe_load(MANIFEST.read_text())


def test_manifest_is_valid():
    subprocess.run([*PRE_COMMIT, "validate-manifest", str(MANIFEST)], check=True, capture_output=True)


@pytest.mark.parametrize("hook", hooks(), ids=lambda h: h["id"])
def test_every_hook_runs_a_real_command_and_is_documented(hook, tmp_path, monkeypatch):
    argv = shlex.split(hook["entry"])
    assert argv[0] == "statesafe"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STATESAFE_CACHE_DIR", str(tmp_path / ".cache"))
    (tmp_path / "ok.py").write_text("print('ok')\n")
    result = CliRunner().invoke(main, [*argv[1:], "ok.py"])
    assert result.exit_code == 0, result.output
    assert hook["id"] in (REPO / "docs" / "audit.md").read_text()


def test_hook_file_filter_takes_python_and_manifests_only():
    exclude = re.compile(hooks()[0]["exclude"])
    assert not exclude.search("skills/refresh/SKILL.md") and not exclude.search("SKILL.md")
    assert exclude.search("README.md") and exclude.search("docs/notes.markdown")


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.mark.slow
def test_try_repo_flags_a_raw_write_and_passes_clean_code(tmp_path):
    repo = tmp_path / "skill"
    (repo / "scripts").mkdir(parents=True)
    (repo / "skills" / "refresh").mkdir(parents=True)
    (repo / "scripts" / "clean.py").write_text("print('nothing to see')\n")
    (repo / "README.md").write_text("# not a manifest: never handed to the hook\n")
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "t@example.invalid")
    git(repo, "config", "user.name", "t")
    git(repo, "add", ".")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
           "STATESAFE_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("VIRTUAL_ENV", None)

    def try_repo():
        return subprocess.run([*PRE_COMMIT, "try-repo", str(REPO), "statesafe-audit", "--all-files", "--color=never"],
                              cwd=repo, env=env, capture_output=True, text=True, timeout=900)

    clean = try_repo()
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "Passed" in clean.stdout

    (repo / "scripts" / "save.py").write_text(textwrap.dedent("""\
        import json

        def save(data):
            with open("threads_daily_tracker.json", "w") as f:
                json.dump(data, f)
    """))
    git(repo, "add", ".")
    dirty = try_repo()
    assert dirty.returncode == 1, dirty.stdout + dirty.stderr
    assert "Failed" in dirty.stdout
    assert re.search(r"scripts/save\.py:4:\d+: FS1\d\d ", dirty.stdout)
