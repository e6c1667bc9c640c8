"""Adopting statesafe the way a skill author does: the pre-commit hook `init` writes behaves like the shipped one."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from statesafe.commands.init import HOOK_ENTRY

ROOT = Path(__file__).resolve().parents[1]
FILTERS = ("types_or", "exclude", "require_serial")


def _shipped() -> dict:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    return next(hook for hook in hooks if hook["id"] == "statesafe-audit")


def test_the_local_hook_init_writes_carries_the_shipped_filters():
    local = yaml.safe_load(HOOK_ENTRY)[0]["hooks"][0]
    shipped = _shipped()
    assert {key: local.get(key) for key in FILTERS} == {key: shipped[key] for key in FILTERS}


def test_the_readme_shows_what_init_writes():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"# \.pre-commit-config\.yaml \(what `statesafe init` writes\)\n(.*?)```", readme, re.S).group(1)
    shown = yaml.safe_load(block)["repos"][0]
    assert shown == yaml.safe_load(HOOK_ENTRY)[0]


def test_the_exclude_keeps_markdown_out_but_lets_manifests_in():
    exclude = re.compile(_shipped()["exclude"])
    for path in ("README.md", "docs/guide.md", "skills/x/notes.markdown", "CHANGELOG.mdx"):
        assert exclude.search(path), path
    for path in ("skills/x/SKILL.md", "SKILL.md", "scripts/save.py"):
        assert not exclude.search(path), path


def _run(cwd: Path, *args: str, env: dict, check: bool = True):
    import subprocess

    result = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if check:
        assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result


@__import__("pytest").mark.slow
def test_precommit_after_init_passes_docs_and_data_and_fails_a_raw_write_once(tmp_path):
    """init, pre-commit install, then commits: README/docs/TOML/JSON pass; a raw tracker write fails, one finding."""
    import os
    import sys

    skill = tmp_path / "skill"
    (skill / "scripts").mkdir(parents=True)
    (skill / "scripts" / "refresh.py").write_text("import statesafe\nstatesafe.write('threads_daily_tracker.json', {})\n")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "GIT_AUTHOR_NAME": "t",
           "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    _run(skill, "git", "init", "-q", env=env)
    _run(skill, sys.executable, "-m", "statesafe", "init", env=env)
    _run(skill, "pre-commit", "install", env=env)
    _run(skill, "git", "add", "-A", env=env)
    _run(skill, "git", "commit", "-qm", "adopt statesafe", env=env)
    for name, text in (("README.md", "# Skill\nA typo fixed: open('x', 'w') is prose here.\n"),
                       ("docs/guide.md", "# Guide\n\n```python\nopen('threads_daily_tracker.json', 'w')\n```\n"),
                       ("settings.toml", "[skill]\nname = 'x'\n"), ("data/sample.json", '{"posts": []}\n')):
        (skill / name).parent.mkdir(parents=True, exist_ok=True)
        (skill / name).write_text(text)
        _run(skill, "git", "add", name, env=env)
        _run(skill, "git", "commit", "-qm", f"edit {name}", env=env)
    (skill / "scripts" / "reset.py").write_text("open('threads_daily_tracker.json', 'w').write('{}')\n")
    _run(skill, "git", "add", "scripts/reset.py", env=env)
    refused = _run(skill, "git", "commit", "-qm", "a raw write", env=env, check=False)
    assert refused.returncode != 0
    output = refused.stdout + refused.stderr
    assert output.count("scripts/reset.py:1:1: FS101") == 1, output


def test_the_readme_restore_recipe_restores_the_newest_backup(tmp_path, monkeypatch):
    """The README's one-liner picks the newest regular backup, not the oldest, nor a -corrupted snapshot."""
    import subprocess
    import sys

    import statesafe

    monkeypatch.chdir(tmp_path)
    (tmp_path / "statesafe.toml").write_text("")
    for generation in range(3):
        statesafe.write("threads_daily_tracker.json", {"generation": generation})
    backups = statesafe.backups("threads_daily_tracker.json")
    newest = backups[0]
    line = next(l for l in (ROOT / "README.md").read_text().splitlines() if "--newest" in l and "restore" in l)
    command = line.split("#")[0].strip().replace("statesafe ", f"{sys.executable} -m statesafe ")
    result = subprocess.run(command, shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "threads_daily_tracker.json").read_bytes() == newest.read_bytes()
    again = subprocess.run(command, shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr  # the -corrupted snapshot of the first restore is not picked
    assert "-corrupted" not in subprocess.run(
        f"{sys.executable} -m statesafe backups threads_daily_tracker.json --newest", shell=True, cwd=tmp_path,
        capture_output=True, text=True, timeout=60).stdout
