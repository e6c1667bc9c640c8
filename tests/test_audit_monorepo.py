"""A repository of several skills, audited from its root: each file is judged under the policy nearest to it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def _skill(root: Path, name: str, tracker: str, log: str) -> Path:
    skill = root / name
    (skill / "scripts").mkdir(parents=True)
    (skill / "statesafe.toml").write_text(f'destructive = ["{tracker}"]\nappend-only = ["{log}"]\n'
                                         f'tracker = "{tracker}"\n')
    return skill


@pytest.fixture
def monorepo(tmp_path) -> Path:
    notes = _skill(tmp_path, "notes-skill", "notes_index.json", "notes.log")
    tasks = _skill(tmp_path, "tasks-skill", "tasks.json", "tasks.log")
    (notes / "scripts" / "save.py").write_text(
        "import json\n"
        "json.dump({}, open('notes_index.json', 'w'))\n"   # its own tracker: a violation
        "json.dump({}, open('tasks.json', 'w'))\n")        # the other skill's name: not a policy file here
    (tasks / "scripts" / "save.py").write_text(
        "import json\n"
        "open('tasks.log', 'w').write('')\n"               # its own log rewritten: a violation
        "open('notes.log', 'w').write('')\n")              # not its log
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "lint.py").write_text("open('tasks.json', 'w')\n")  # no policy above: the default
    return tmp_path


def _audit(cwd: Path, *args: str) -> list[dict]:
    result = subprocess.run([sys.executable, "-m", "statesafe", "audit", "--format", "json", "--no-cache", *args],
                            cwd=cwd, capture_output=True, text=True, timeout=120)
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def test_each_file_is_judged_under_its_nearest_policy(monorepo):
    found = {(f["path"], f["line"], f["code"]) for f in _audit(monorepo, ".")}
    assert found == {("notes-skill/scripts/save.py", 2, "FS101"), ("tasks-skill/scripts/save.py", 2, "FS201")}


def test_a_file_named_alone_gets_its_own_policy_too(monorepo):
    found = {(f["path"], f["code"]) for f in _audit(monorepo, "tasks-skill/scripts/save.py")}
    assert found == {("tasks-skill/scripts/save.py", "FS201")}


def test_statesafe_policy_shows_which_policy_a_file_gets(monorepo):
    for path, source in (("notes-skill/scripts/save.py", "notes-skill/statesafe.toml"),
                         ("tasks-skill/scripts", "tasks-skill/statesafe.toml")):
        result = subprocess.run([sys.executable, "-m", "statesafe", "policy", "--json", path], cwd=monorepo,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        shown = json.loads(result.stdout)
        assert Path(shown["source"]).resolve() == (monorepo / source).resolve()
