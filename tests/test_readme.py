"""Every command and snippet in README.md runs, in order, in a scratch project: the docs cannot drift."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```(\w+)\n(.*?)^```", README, re.M | re.S)

#: commands that report findings on purpose
EXPECTED_EXIT = {"statesafe audit examples/legacy-skill": 1}

SKILL_TEST = '''\
import statesafe


def test_refresh_keeps_the_policy(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    statesafe.write("threads_daily_tracker.json", {"posts": []})
    statesafe.append("threads_refresh.log", {"event": "test"})
'''


def shell_lines(block: str) -> list[str]:
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]


def test_readme_opens_with_the_two_setup_commands():
    first, second = BLOCKS[0], BLOCKS[1]
    assert README.index("```") < README.index("\n## ")
    assert first[0] == second[0] == "sh"
    install, test = first[1].strip(), second[1].strip()
    assert install.startswith("python3 -m venv .venv && . .venv/bin/activate && pip install . && ")
    assert test == "pip install '.[test]' && pytest"
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install --quiet '.[test]'" in ci and re.search(r"^pytest$", ci, re.M)


def test_readme_links_point_at_files():
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README):
        if "://" not in target:
            assert (ROOT / target).exists(), target


@pytest.fixture
def project(tmp_path):
    shutil.copytree(ROOT / "examples", tmp_path / "examples",
                    ignore=shutil.ignore_patterns(".statesafe_cache", "__pycache__"))
    (tmp_path / "test_skill.py").write_text(SKILL_TEST)
    return tmp_path


def run(line: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(["bash", "-c", line], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def run_workflow_steps(workflow: dict, project: Path) -> None:
    """The workflow's statesafe steps, run in the project; its SARIF must be schema-valid 2.1.0."""
    import jsonschema

    commands = [step["run"] for step in workflow["jobs"]["audit"]["steps"] if "statesafe" in step.get("run", "")]
    assert any("--format github" in c for c in commands) and any("--format sarif" in c for c in commands)
    for command in commands:
        if command.startswith("statesafe "):
            result = run(command, project)
            assert result.returncode == 1, f"{command}: findings expected\n{result.stderr}"  # examples/ has some
            if "--format github" in command:
                assert "\n::error title=statesafe (FS" in result.stdout and "not annotated" in result.stdout
    schema = json.loads((ROOT / "tests" / "data" / "sarif-2.1.0.json").read_text())
    sarif = json.loads((project / "statesafe.sarif").read_text())
    jsonschema.Draft4Validator(schema).validate(sarif)
    assert sarif["runs"][0]["results"]


def test_every_readme_snippet_runs_in_order(project):
    main_job = BLOCKS[0][1].strip().split(" && ")[-1]
    for kind, body in [("sh", main_job), *BLOCKS[2:]]:
        if kind == "sh":
            for line in shell_lines(body):
                result = run(line, project)
                expected = next((code for prefix, code in EXPECTED_EXIT.items() if line.startswith(prefix)), 0)
                assert result.returncode == expected, f"{line}\n{result.stdout}\n{result.stderr}"
        elif kind == "python":
            script = project / "snippet.py"
            script.write_text(body)
            result = run(f"{sys.executable} snippet.py", project)
            assert result.returncode == 0, f"{body}\n{result.stderr}"
        elif kind == "yaml" and "jobs" in yaml.safe_load(body):
            run_workflow_steps(yaml.safe_load(body), project)
        elif kind == "yaml":
            written = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
            assert yaml.safe_load(body) == written  # what `statesafe init` wrote
        else:
            pytest.fail(f"README block of kind {kind!r} is not exercised")
    backups = sorted(p.name for p in project.glob("threads_daily_tracker.json.bak-*"))
    assert any(name.endswith("-corrupted") for name in backups)  # restore kept the current file
    assert (project / "statesafe.sarif").is_file()
    assert (project / ".claude" / "settings.json").is_file()
