"""``statesafe hook``: every command dispatches by agent name through ``statesafe.agents.ADAPTERS``.

A fake adapter registered for the test shows that ``statesafe hook AGENT``,
``statesafe hook install AGENT`` and ``statesafe hook selftest AGENT`` reach that
agent's modules (nothing is wired to Claude Code by hand), and that the console
script's fast path finds it without loading click. An unknown agent is a one-line
usage error.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

from statesafe import agents
from statesafe.cli import main

FAKE_HOOK = '''
import json, sys
OPTIONS = {"--loud": "Say more."}
def main(argv):
    print(json.dumps({"argv": argv, "stdin": sys.stdin.read(), "click": "click" in sys.modules}))
    return 3
'''
FAKE_INSTALLER = '''
CALLS = []
def install(project, *, apply=False, launcher=None):
    CALLS.append(("install", project, apply, launcher))
    return f"fake: installed in {project} apply={apply} launcher={launcher}"
def selftest(project, echo):
    CALLS.append(("selftest", project))
    echo("fake selftest ran")
    return 0
'''


@pytest.fixture
def fake(tmp_path, monkeypatch):
    (tmp_path / "fake_hook.py").write_text(FAKE_HOOK)
    (tmp_path / "fake_installer.py").write_text(FAKE_INSTALLER)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(agents.ADAPTERS, "fake", agents.Adapter("fake", "Fake Agent", "BeforeTool", "fake_hook",
                                                                "fake_installer"))
    import fake_installer

    yield fake_installer
    for name in ("fake_hook", "fake_installer"):
        sys.modules.pop(name, None)


def invoke(*args, stdin=""):
    return CliRunner().invoke(main, list(args), input=stdin)


def test_hook_agent_answers_through_that_agents_module(fake):
    result = invoke("hook", "fake", "--loud", stdin="payload")
    assert result.exit_code == 3
    assert json.loads(result.output) == {"argv": ["--loud"], "stdin": "payload", "click": True}
    helped = invoke("hook", "fake", "--help")
    assert "Fake Agent BeforeTool hook" in helped.output and "--loud" in helped.output and "Say more." in helped.output
    assert "fake" in invoke("hook", "--help").output


def test_install_and_selftest_dispatch_to_the_agents_installer(fake, tmp_path):
    installed = invoke("hook", "install", "fake", "--project", str(tmp_path), "--apply", "--command", "ss")
    assert installed.exit_code == 0, installed.output
    assert installed.output == f"fake: installed in {tmp_path} apply=True launcher=ss\n"
    checked = invoke("hook", "selftest", "fake", "--project", str(tmp_path))
    assert checked.exit_code == 0 and checked.output == "fake selftest ran\n"
    assert fake.CALLS == [("install", str(tmp_path), True, "ss"), ("selftest", str(tmp_path))]


def test_selftest_defaults_to_claude(monkeypatch, tmp_path):
    seen = []
    import statesafe.agents.claude_install as claude_install

    monkeypatch.setattr(claude_install, "selftest", lambda project, echo: seen.append(project) or 0)
    assert invoke("hook", "selftest", "--project", str(tmp_path)).exit_code == 0
    assert invoke("hook", "selftest", "claude", "--project", str(tmp_path)).exit_code == 0
    assert seen == [str(tmp_path), str(tmp_path)]


@pytest.mark.parametrize("args", [
    ["hook", "install", "codex"],
    ["hook", "selftest", "codex"],
    ["hook", "codex"],
])
def test_an_unknown_agent_is_a_one_line_usage_error(args, tmp_path):
    result = subprocess.run([sys.executable, "-m", "statesafe", *args], capture_output=True, text=True,
                            cwd=tmp_path, input="", timeout=60)
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("statesafe: error: ") and "codex" in lines[0]
    if args[1] != "codex":
        assert "unknown agent 'codex' (known: claude)" in lines[0]
    assert not (tmp_path / ".claude").exists()


def test_the_console_scripts_fast_path_finds_the_agent_by_name_without_click(fake, tmp_path):
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        from statesafe import agents
        agents.ADAPTERS["fake"] = agents.Adapter("fake", "Fake", "BeforeTool", "fake_hook", "fake_installer")
        sys.argv = ["statesafe", "hook", "fake", "--loud"]
        from statesafe.__main__ import main
        main()
    """)
    result = subprocess.run([sys.executable, "-c", code], input="x", capture_output=True, text=True, timeout=60)
    assert result.returncode == 3, result.stderr
    assert json.loads(result.stdout) == {"argv": ["--loud"], "stdin": "x", "click": False}
