"""Parity over the effects table: every Python write API is seen by the auditor, the guard and the hook.

For each row of :data:`statesafe.effects.PYTHON_APIS` there is a snippet that uses it
on a policy file. The auditor must flag it statically, the runtime guard must refuse
it leaving every file byte-identical, and the agent hook must refuse it as
``python3 -c '...'`` (and as its shell equivalent, where one exists). A row one of
the three cannot see is listed in EXCEPTIONS with the reason; a row with neither a
case nor an exception fails, so the table and the three readers cannot drift apart.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from statesafe.auditor.testing import audit_files
from statesafe.effects import PYTHON_APIS
from statesafe.policy import default_policy

TRACKER = "threads_daily_tracker.json"
LOG = "threads_refresh.log"
COMPANION = "posts_by_date.md"
COMPILED = "compiled/exemplar_bank.md"


class Case:
    """A snippet using one API on a policy file, and the same change as a shell command.

    ``missing``: the policy file the snippet targets is absent beforehand (``touch``
    of an existing file only sets its times, which the policy allows).
    """

    def __init__(self, code: str, shell: str | None = None, missing: str | None = None):
        self.code = code
        self.shell = shell
        self.missing = missing


def _open(call: str) -> Case:
    return Case(f"import io, _io, codecs\n{call}\n", shell=f"echo x > {TRACKER}")


CASES: dict[str, Case] = {
    "builtins.open": _open(f"open({TRACKER!r}, 'w').write('{{}}')"),
    "io.open": _open(f"io.open({TRACKER!r}, 'r+')"),
    "_io.open": _open(f"_io.open({TRACKER!r}, mode='a')"),
    "codecs.open": _open(f"codecs.open({TRACKER!r}, 'w', 'utf-8')"),
    "io.FileIO": _open(f"io.FileIO({TRACKER!r}, 'w')"),
    "_io.FileIO": _open(f"_io.FileIO({TRACKER!r}, 'w')"),
    "os.open": Case(f"import os\nos.open({TRACKER!r}, os.O_WRONLY | os.O_TRUNC)\n", shell=f": > {TRACKER}"),
    "logging.FileHandler": Case(f"import logging\nlogging.FileHandler({LOG!r}, mode='w')\n",
                                shell=f"echo started > {LOG}"),
    "logging.handlers.WatchedFileHandler": Case(
        f"import logging.handlers\nlogging.handlers.WatchedFileHandler({LOG!r}, 'w')\n"),
    "logging.handlers.RotatingFileHandler": Case(
        f"import logging.handlers\nlogging.handlers.RotatingFileHandler({TRACKER!r})\n"),
    "logging.basicConfig": Case(f"import logging\nlogging.basicConfig(filename={LOG!r}, filemode='w', force=True)\n",
                                shell=f"echo started > {LOG}"),
    "os.remove": Case(f"import os\nos.remove({TRACKER!r})\n", shell=f"rm {TRACKER}"),
    "os.unlink": Case(f"import os\nos.unlink({COMPANION!r})\n", shell=f"unlink {COMPANION}"),
    "os.truncate": Case(f"import os\nos.truncate({LOG!r}, 0)\n", shell=f"truncate -s 0 {LOG}"),
    "os.rename": Case(f"import os\nos.rename({TRACKER!r}, 'old.json')\n", shell=f"mv {TRACKER} old.json"),
    "os.replace": Case(f"import os\nopen('draft.json', 'w').write('{{}}')\nos.replace('draft.json', {TRACKER!r})\n"),
    "os.renames": Case(f"import os\nos.renames({COMPILED!r}, 'old/exemplar_bank.md')\n"),
    "shutil.move": Case(f"import shutil\nopen('draft.json', 'w').write('{{}}')\nshutil.move('draft.json', {TRACKER!r})\n",
                        shell=f"mv draft.json {TRACKER}"),
    "os.link": Case(f"import os\nos.link('draft.json', {TRACKER!r})\n", shell=f"ln -f draft.json {TRACKER}"),
    "os.symlink": Case(f"import os\nos.symlink('draft.json', {TRACKER!r})\n", shell=f"ln -sf draft.json {TRACKER}"),
    "shutil.copyfile": Case(f"import shutil\nshutil.copyfile('draft.json', {TRACKER!r})\n",
                            shell=f"cp draft.json {TRACKER}"),
    "shutil.copy": Case(f"import shutil\nshutil.copy('draft.md', {COMPANION!r})\n", shell=f"cp draft.md {COMPANION}"),
    "shutil.copy2": Case(f"import shutil\nshutil.copy2('draft.md', {COMPILED!r})\n", shell=f"cp -p draft.md {COMPILED}"),
    "shutil.copytree": Case("import shutil\nshutil.copytree('drafts', 'compiled', dirs_exist_ok=True)\n",
                            shell="cp -r drafts/. compiled"),
    "shutil.rmtree": Case("import shutil\nshutil.rmtree('compiled')\n", shell="rm -r compiled"),
    "fileinput.input": Case(f"import fileinput\nfor line in fileinput.input({TRACKER!r}, inplace=True):\n"
                            "    print(line, end='')\n", shell=f"sed -i s/a/b/ {TRACKER}"),
    "fileinput.FileInput": Case(f"import fileinput\nwith fileinput.FileInput({COMPANION!r}, inplace=True) as f:\n"
                                "    for line in f:\n        print(line, end='')\n"),
    "Path.write_text": Case(f"from pathlib import Path\nPath({COMPANION!r}).write_text('# rebuilt')\n",
                            shell=f"printf '# rebuilt' > {COMPANION}"),
    "Path.write_bytes": Case(f"from pathlib import Path\nPath({TRACKER!r}).write_bytes(b'{{}}')\n"),
    "Path.open": Case(f"from pathlib import Path\nPath({LOG!r}).open('w')\n"),
    "Path.touch": Case(f"from pathlib import Path\nPath({TRACKER!r}).touch()\n", shell=f"touch {TRACKER}",
                       missing=TRACKER),
    "Path.unlink": Case(f"from pathlib import Path\nPath({COMPILED!r}).unlink()\n", shell=f"rm -f {COMPILED}"),
    "Path.rename": Case(f"from pathlib import Path\nPath({LOG!r}).rename('old.log')\n", shell=f"mv {LOG} old.log"),
    "Path.replace": Case(f"from pathlib import Path\nPath('draft.json').replace({TRACKER!r})\n"),
    "Path.hardlink_to": Case(f"from pathlib import Path\nPath({TRACKER!r}).hardlink_to('draft.json')\n"),
    "Path.symlink_to": Case(f"from pathlib import Path\nPath({TRACKER!r}).symlink_to('draft.json')\n"),
    "os.system": Case(f"import os\nos.system('rm {TRACKER}')\n"),
    "os.popen": Case(f"import os\nos.popen('sed -i s/a/b/ {COMPANION}')\n"),
    "subprocess.run": Case(f"import subprocess\nsubprocess.run(['rm', {TRACKER!r}])\n"),
    "subprocess.call": Case(f"import subprocess\nsubprocess.call('echo x > {TRACKER}', shell=True)\n"),
    "subprocess.check_call": Case(f"import subprocess\nsubprocess.check_call(['truncate', '-s0', {LOG!r}])\n"),
    "subprocess.check_output": Case(f"import subprocess\nsubprocess.check_output(['cp', 'draft.json', {TRACKER!r}])\n"),
    "subprocess.Popen": Case(f"import subprocess\nsubprocess.Popen(['mv', {TRACKER!r}, 'old.json']).wait()\n"),
    "subprocess.getoutput": Case(f"import subprocess\nsubprocess.getoutput('rm -r compiled')\n"),
    "subprocess.getstatusoutput": Case(f"import subprocess\nsubprocess.getstatusoutput('rm {COMPANION}')\n"),
}

_CHILD = ("a command line run by a shell in a child process: the runtime guard guards Python "
          "processes (statesafe run also guards child Python processes), not rm, sed or cp")
_SYMLINK = ("symlink() never replaces an existing name (the OS refuses with EEXIST, so nothing is lost), "
            "and a policy file made as a symlink is guarded through the link afterwards")

#: row -> {reader: why it cannot see the row}; readers: "auditor", "guard", "hook"
EXCEPTIONS: dict[str, dict[str, str]] = {
    "os.symlink": {"guard": _SYMLINK},
    "Path.symlink_to": {"guard": _SYMLINK},
    "shutil.copytree": {"auditor": "the target is a folder merged into (dirs_exist_ok=True); statically the "
                                   "auditor reads which folders hold policy files only for removal"},
    **{name: {"guard": _CHILD} for name in ("os.system", "os.popen", "subprocess.run", "subprocess.call",
                                              "subprocess.check_call", "subprocess.check_output",
                                              "subprocess.Popen", "subprocess.getoutput",
                                              "subprocess.getstatusoutput")},
}

ROWS = [api.name for api in PYTHON_APIS]


def test_every_row_has_a_case_and_nothing_else_does():
    assert sorted(CASES) == sorted(ROWS)
    assert set(EXCEPTIONS) <= set(ROWS)


@pytest.fixture
def skill(tmp_path) -> Path:
    """A skill folder with every file of the default policy, a draft and a drafts folder."""
    root = tmp_path / "skill"
    (root / "compiled").mkdir(parents=True)
    (root / "drafts").mkdir()
    (root / "statesafe.toml").write_text("")  # the default policy, found here and nowhere above
    (root / TRACKER).write_text('{"posts": [1, 2, 3]}')
    (root / LOG).write_text('{"event": "refresh"}\n')
    (root / COMPANION).write_text("# Posts by date\n")
    (root / COMPILED).write_text("---\ngenerated_at: x\n---\n")
    (root / "draft.json").write_text("{}")
    (root / "draft.md").write_text("# draft\n")
    (root / "drafts" / "exemplar_bank.md").write_text("# new\n")
    return root


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _prepare(skill: Path, case: Case) -> None:
    if case.missing:
        (skill / case.missing).unlink()


@pytest.mark.parametrize("row", ROWS)
def test_the_auditor_flags_it(row):
    if "auditor" in EXCEPTIONS.get(row, {}):
        pytest.skip(EXCEPTIONS[row]["auditor"])
    findings = audit_files({"skill/scripts/case.py": CASES[row].code})
    assert findings, f"{row}: not flagged"
    assert all(f.code < "FS7" for f in findings), findings


_GUARDED = """
import sys, statesafe.guard
from statesafe import PolicyViolation
statesafe.guard.install()
try:
    exec(compile(sys.argv[1], "case.py", "exec"))
except PolicyViolation as exc:
    print("REFUSED", exc)
    sys.exit(3)
"""


@pytest.mark.parametrize("row", ROWS)
def test_the_guard_refuses_it_and_changes_nothing(skill, row):
    if "guard" in EXCEPTIONS.get(row, {}):
        pytest.skip(EXCEPTIONS[row]["guard"])
    case = CASES[row]
    _prepare(skill, case)
    before = _snapshot(skill)
    # the guard lets whole trees under the temp folder be removed (cleanup): put it elsewhere
    (skill.parent / "tmp").mkdir()
    env = {**os.environ, "TMPDIR": str(skill.parent / "tmp")}
    result = subprocess.run([sys.executable, "-c", _GUARDED, case.code], cwd=skill, capture_output=True,
                            text=True, timeout=60, env=env)
    assert result.returncode == 3, (row, result.stdout, result.stderr)
    after = {name: data for name, data in _snapshot(skill).items() if name in before}
    assert after == before, row


def _hook_refuses(command: str, cwd: Path) -> bool:
    from statesafe.agents.claude import decide

    payload = {"hook_event_name": "PreToolUse", "tool_name": "Bash", "cwd": str(cwd),
               "tool_input": {"command": command}}
    decision = decide(json.loads(json.dumps(payload)))
    return decision.deny


@pytest.mark.parametrize("row", ROWS)
def test_the_hook_refuses_it_as_python_c(skill, row):
    if "hook" in EXCEPTIONS.get(row, {}):
        pytest.skip(EXCEPTIONS[row]["hook"])
    case = CASES[row]
    _prepare(skill, case)
    assert _hook_refuses(f"python3 -c {shlex.quote(case.code)}", skill), row


@pytest.mark.parametrize("row", [row for row in ROWS if CASES[row].shell])
def test_the_hook_refuses_its_shell_equivalent(skill, row):
    case = CASES[row]
    _prepare(skill, case)
    assert _hook_refuses(case.shell, skill), (row, case.shell)


def test_the_readers_agree_on_the_issue_examples(skill):
    """The two drifts that opened this table: rmtree of a folder of policy files, a log truncated at start-up."""
    rmtree = "import shutil; shutil.rmtree('compiled')"
    basic = f"import logging; logging.basicConfig(filename={LOG!r}, filemode='w')"
    for code in (rmtree, basic):
        assert _hook_refuses(f"python3 -c {shlex.quote(code)}", skill), code
        assert audit_files({"skill/scripts/case.py": code.replace("; ", "\n") + "\n"}), code
    assert not _hook_refuses("python3 -c \"import shutil; shutil.rmtree('drafts')\"", skill)
    assert not audit_files({"skill/scripts/case.py": "import shutil\nshutil.rmtree('drafts')\n"},
                           policy=default_policy())
