"""``statesafe hook claude``: the decision table, the protocol, failing closed, apply mode, install, selftest.

Payloads have the shapes Claude Code sends (session_id, transcript_path, cwd,
permission_mode, hook_event_name, tool_name, tool_input, tool_use_id). The table
runs in-process through the click command (exit code, stdout, stderr as Claude
Code reads them); a few cases also run as real subprocesses.
"""

from __future__ import annotations

import errno
import inspect
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import statesafe
from statesafe.cli import main
from statesafe.agents import judge as agent_judge
from statesafe.agents.claude import decide
from statesafe.agents.claude_install import hook_command, judge
from statesafe.policy import load_policy

BAK = "threads_daily_tracker.json.bak-20260101T000000Z"
#: one file of each class, and one outside the policy
TARGETS = {
    "destructive": "threads_daily_tracker.json",
    "log": "threads_freshness.log",
    "companion": "posts_by_date.md",
    "compiled": "compiled/account_wiki.md",
    "backup": BAK,
    "unrelated": "notes.md",
}
#: stdout and stderr apart (click 8.1 mixes them unless told; 8.2 dropped the switch)
SEPARATE_STREAMS = CliRunner(**({"mix_stderr": False} if "mix_stderr" in inspect.signature(CliRunner).parameters
                                else {}))
CONTENT = {name: f'{{"line": "{name} one"}}\n{{"line": "{name} two"}}\n' for name in TARGETS}


@pytest.fixture(autouse=True)
def fresh_cache():
    load_policy.cache_clear()
    yield
    load_policy.cache_clear()


@pytest.fixture
def skill(tmp_path) -> Path:
    root = tmp_path / "skill"
    (root / "compiled").mkdir(parents=True)
    (root / "sub").mkdir()
    (root / "sub" / "scratch.txt").write_text("x")
    (root / "statesafe.toml").write_text("")  # the default policy, found here and nowhere above
    for name, rel in TARGETS.items():
        (root / rel).write_text(CONTENT[name])
    (root / "tracker_link.json").symlink_to("threads_daily_tracker.json")
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def payload(tool: str, tool_input: dict, cwd, mode: str = "default") -> dict:
    if tool == "Bash":
        tool_input = {"description": "Run a command", "timeout": 120000, "run_in_background": False, **tool_input}
    return {"session_id": "8b4e-session", "transcript_path": "/home/u/.claude/projects/p/8b4e.jsonl",
            "cwd": str(cwd), "permission_mode": mode, "hook_event_name": "PreToolUse",
            "tool_name": tool, "tool_input": tool_input, "tool_use_id": "toolu_01ABCxyz"}


def run_hook(data, *args) -> tuple[int, str, str]:
    """The hook as a click command, in-process: (exit code, stdout, stderr)."""
    text = data if isinstance(data, (str, bytes)) else json.dumps(data)
    result = SEPARATE_STREAMS.invoke(main, ["hook", "claude", *args], input=text)
    return result.exit_code, result.stdout, result.stderr


# --- the decision table ---------------------------------------------------------------

def file_tool_input(tool: str, rel: str) -> dict:
    if tool == "Write":
        return {"file_path": rel, "content": '{"new": true}\n'}
    if tool == "Edit":
        return {"file_path": rel, "old_string": "one", "new_string": "uno", "replace_all": False}
    if tool == "MultiEdit":
        return {"file_path": rel, "edits": [{"old_string": "one", "new_string": "uno"},
                                            {"old_string": "two", "new_string": "dos", "replace_all": True}]}
    return {"notebook_path": rel, "new_source": "print(1)", "cell_id": "cell-1", "cell_type": "code",
            "edit_mode": "replace"}


DENY = {name: name != "unrelated" for name in TARGETS}  # refused on every policy class
APPEND_OK = {**DENY, "log": False}  # an append: allowed on a log only
PASS = {name: False for name in TARGETS}

#: Bash forms: template over {f} (the file), {d} (its folder), {b} (its base name)
BASH_FORMS = {
    "redirect >": ("echo '{{}}' > {f}", DENY),
    "redirect >file": ("echo x >{f}", DENY),
    "redirect >|": ("echo x >| {f}", DENY),
    "redirect 2>": ("ls nothing 2> {f}", DENY),
    "redirect 2>file": ("ls nothing 2>{f}", DENY),
    "redirect &>": ("make &> {f}", DENY),
    "redirect bare": ("> {f}", DENY),
    "append >>": ("echo '{{\"ok\": 1}}' >> {f}", APPEND_OK),
    "append 2>>": ("ls nothing 2>> {f}", APPEND_OK),
    "append &>>": ("make &>> {f}", APPEND_OK),
    "tee": ("echo x | tee {f}", DENY),
    "tee -a": ("echo x | tee -a {f}", APPEND_OK),
    "sudo tee -a": ("echo x | sudo tee -a {f} > /dev/null", APPEND_OK),
    "sed -i": ("sed -i 's/one/uno/' {f}", DENY),
    "sed -i.bak": ("sed -i.bak 's/one/uno/' {f}", DENY),
    "sed --in-place": ("sed --in-place -e 's/one/uno/' {f}", DENY),
    "sed read": ("sed -n '1p' {f}", PASS),
    "perl -pi": ("perl -pi -e 's/one/uno/' {f}", DENY),
    "cp onto": ("cp /tmp/draft.json {f}", DENY),
    "cp -t": ("cp -t {d} /tmp/{b}", DENY),
    "cp into dir": ("cp /tmp/{b} {d}/", DENY),
    "cp from": ("cp {f} /tmp/copy-of-it", PASS),
    "mv onto": ("mv /tmp/draft.json {f}", DENY),
    "mv away": ("mv {f} /tmp/elsewhere", DENY),
    "git checkout --": ("git checkout -- {f}", DENY),
    "git checkout HEAD --": ("git checkout HEAD -- {f}", DENY),
    "git restore": ("git restore {f}", DENY),
    "git restore --staged": ("git restore --staged {f}", PASS),
    "rsync onto": ("rsync /tmp/draft.json {f}", DENY),
    "rsync into dir": ("rsync -a /tmp/{b} {d}/", DENY),
    "rsync from": ("rsync -a {f} /tmp/copy-of-it", PASS),
    "patch FILE <": ("patch {f} < /tmp/fix.diff", DENY),
    "patch -i": ("patch -i /tmp/fix.diff {f}", DENY),
    "patch -p0 heredoc": ("patch -p0 <<'EOF'\n--- {f}\n+++ {f}\n@@ -1 +1 @@\n-a\n+b\nEOF", DENY),
    "awk -i inplace": ("awk -i inplace '{{print}}' {f}", DENY),
    "awk read": ("awk '{{print $1}}' {f}", PASS),
    "install onto": ("install -m 644 /tmp/draft.json {f}", DENY),
    "ln -sf onto": ("ln -sf /tmp/draft.json {f}", DENY),
    "rm": ("rm -f {f}", DENY),
    "unlink": ("unlink {f}", DENY),
    "truncate": ("truncate -s 0 {f}", DENY),
    "dd of=": ("dd if=/dev/null of={f}", DENY),
    "python -c open w": ("python3 -c \"open('{f}', 'w').write('x')\"", DENY),
    "python -c json.dump": ("python -c \"import json; json.dump({{}}, open('{f}', 'w'))\"", DENY),
    "python -c write_text": ("python3 -c \"from pathlib import Path; Path('{f}').write_text('x')\"", DENY),
    "python -c os.remove": ("python3 -c \"import os; os.remove('{f}')\"", DENY),
    "python -c open a": ("python3 -c \"open('{f}', 'a').write('{{}}\\n')\"", APPEND_OK),
    "python -c read": ("python3 -c \"print(open('{f}').read())\"", PASS),
    "python -c argv": ("python3 -c \"import sys; open(sys.argv[1], 'w')\" {f}", DENY),
    "python heredoc": ("python3 - <<'EOF'\nwith open('{f}', 'w') as out:\n    out.write(\"it's\")\nEOF", DENY),
    "bash -c": ("bash -c 'echo x > {f}'", DENY),
    "sh -c nested": ("sh -c \"bash -c 'sed -i s/a/b/ {f}'\"", DENY),
    "eval": ("eval 'rm {f}'", DENY),
    "heredoc cat >": ("cat > {f} <<'EOF'\nit's {{\"a\": 1}}\nEOF", DENY),
    "heredoc cat >>": ("cat >> {f} <<'EOF'\n{{\"a\": 1}}\nEOF", APPEND_OK),
    "cat": ("cat {f}", PASS),
    "grep | head": ("grep -n one {f} | head -5", PASS),
    "jq": ("jq . {f}", PASS),
    "statesafe write": ("statesafe write {f} --from /tmp/draft.json", PASS),
    "statesafe append": ("statesafe append {f} '{{\"ok\": 1}}'", PASS),
    "quoted operator": ("echo '>' {f}", PASS),
    "cd then >": ("cd {d} && echo x > {b}", DENY),
    "after ;": ("ls; echo x > {f}", DENY),
    "after ||": ("false || rm {f}", DENY),
    "after newline": ("ls\nrm {f}", DENY),
    "after comment": ("ls # it's fine\nrm {f}", DENY),
    "in $()": ("x=$(rm {f})", DENY),
    "absolute path": ("rm {abs}", DENY),
    "wrappers": ("FOO=1 env timeout 5 truncate -s 0 {f}", DENY),
}


def bash_rows():
    for form, (template, expected) in BASH_FORMS.items():
        for name, rel in TARGETS.items():
            yield pytest.param(form, template, name, expected[name], id=f"{form}-{name}")


@pytest.mark.parametrize("tool", ["Write", "Edit", "MultiEdit", "NotebookEdit"])
@pytest.mark.parametrize("name", list(TARGETS))
def test_file_tools(skill, tool, name):
    before = snapshot(skill)
    code, out, err = run_hook(payload(tool, file_tool_input(tool, TARGETS[name]), skill))
    assert out == ""
    if name == "unrelated":
        assert (code, err) == (0, "")
    else:
        assert code == 2
        assert err.startswith("statesafe: refused:") and TARGETS[name] in err
        compliant = {"log": "statesafe append threads_freshness.log",
                     "backup": f"statesafe restore threads_daily_tracker.json --from {BAK}"}
        assert compliant.get(name, f"statesafe write {TARGETS[name]} --from DRAFT") in err
    assert snapshot(skill) == before


@pytest.mark.parametrize("form, template, name, refused", list(bash_rows()))
def test_bash_forms(skill, form, template, name, refused):
    rel = TARGETS[name]
    command = template.format(f=rel, d=os.path.dirname(rel) or ".", b=os.path.basename(rel), abs=skill / rel)
    code, out, err = run_hook(payload("Bash", {"command": command}, skill))
    assert out == ""
    assert code == (2 if refused else 0), err
    if refused:
        assert err.startswith("statesafe: refused:") and os.path.basename(rel) in err


@pytest.mark.parametrize("tool, tool_input, refused", [
    ("Write", {"file_path": "tracker_link.json", "content": "{}"}, True),  # a symlink to the tracker
    ("Write", {"file_path": "../skill/threads_daily_tracker.json", "content": "{}"}, True),
    ("Write", {"file_path": "sub/../threads_daily_tracker.json", "content": "{}"}, True),
    ("Write", {"file_path": "sub/threads_daily_tracker.json", "content": "{}"}, True),  # a new one is born raw
    ("Write", {"file_path": "threads_daily_tracker.json.bak-old", "content": "{}"}, False),  # not a statesafe name
    ("Edit", {"file_path": "sub/scratch.txt", "old_string": "x", "new_string": "y", "replace_all": False}, False),
    ("Bash", {"command": "echo x > tracker_link.json"}, True),
    ("Bash", {"command": "rm -f *.bak-*"}, True),  # the glob reaches the backup
    ("Bash", {"command": "rm -rf compiled"}, True),  # a folder holding a compiled file
    ("Bash", {"command": "rm -rf sub"}, False),
    ("Bash", {"command": "find . -name '*.bak-*' -delete"}, True),
    ("Bash", {"command": "find . -name '*.pyc' -delete"}, False),
    ("Bash", {"command": "mv compiled /tmp/old-compiled"}, True),
    ("Bash", {"command": "echo x > $NOT_SET_ANYWHERE/threads_daily_tracker.json"}, True),
    ("Bash", {"command": "echo x 2>&1 >/dev/null; ls >&2"}, False),
    ("Bash", {"command": "touch threads_daily_tracker.json"}, False),  # times only
    ("Bash", {"command": "touch sub/style_guide.md"}, True),  # creates a policy file raw
    ("Bash", {"command": "echo 'unclosed > threads_daily_tracker.json"}, True),  # unparseable, names a policy file
    ("Bash", {"command": "echo 'unclosed > notes.md"}, False),
    ("Bash", {"command": ""}, False),
    ("Read", {"file_path": "threads_daily_tracker.json"}, False),
    ("Glob", {"pattern": "**/*.json"}, False),
    ("WebFetch", {"url": "https://example.org", "prompt": "x"}, False),
    ("mcp__fs__write_file", {"path": "threads_daily_tracker.json", "content": "{}"}, False),  # unknown: passes
])
def test_aliases_trees_and_other_tools(skill, tool, tool_input, refused):
    before = snapshot(skill)
    code, out, err = run_hook(payload(tool, tool_input, skill))
    assert (code, out) == ((2, "") if refused else (0, ""))
    assert snapshot(skill) == before


def test_a_relative_path_is_resolved_against_the_payloads_cwd(skill, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the hook process runs elsewhere
    assert decide(payload("Write", {"file_path": "threads_daily_tracker.json", "content": ""}, skill)).deny
    assert not decide(payload("Write", {"file_path": "notes.md", "content": ""}, skill)).deny
    assert decide(payload("Bash", {"command": "cd compiled && rm account_wiki.md"}, skill)).deny


def test_the_policy_of_the_files_own_folder_counts_too(tmp_path):
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "statesafe.toml").write_text('destructive = ["ledger.json"]\n')
    assert decide(payload("Write", {"file_path": "other/ledger.json", "content": ""}, tmp_path)).deny
    assert not decide(payload("Write", {"file_path": "ledger.json", "content": ""}, tmp_path)).deny


@pytest.fixture
def two_policies(tmp_path):
    """The cwd's policy calls ledger.json a log; the policy of the folder it is in calls it destructive."""
    (tmp_path / "statesafe.toml").write_text('append-only = ["ledger.json"]\n')
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "statesafe.toml").write_text('destructive = ["ledger.json"]\n')
    (tmp_path / "other" / "ledger.json").write_text('{"run": 1}\n')
    return tmp_path


def test_one_policy_rule_the_cwds_first_then_the_files_own_folders(two_policies):
    """The judge classes a path by the first policy that classifies it, the cwd's first."""
    classifier = agent_judge.Classifier(str(two_policies))
    file_class, policy = classifier.which(str(two_policies / "other" / "ledger.json"))
    assert file_class.value == "append-only log" and policy == load_policy(two_policies)
    refused = decide(payload("Write", {"file_path": "other/ledger.json", "content": ""}, two_policies))
    assert refused.deny and "append-only log" in refused.reason
    appended = decide(payload("Bash", {"command": "echo '{\"run\": 2}' >> other/ledger.json"}, two_policies))
    assert not appended.deny


def test_apply_writes_under_the_policy_that_classified_the_file(two_policies):
    """Deciding and applying choose the policy the same way: the log is appended to as a log."""
    ledger = two_policies / "other" / "ledger.json"
    decision = applied(two_policies, "Write", {"file_path": "other/ledger.json",
                                               "content": '{"run": 1}\n{"run": 2}\n'})
    assert "appended them" in decision.reason, decision.reason
    assert [json.loads(line)["run"] for line in ledger.read_text().splitlines()] == [1, 2]
    assert statesafe.backups(ledger) == []


def test_a_refusal_names_every_file_once(skill):
    decision = decide(payload("Bash", {"command": "rm threads_daily_tracker.json style_guide.md; "
                                                  "rm threads_daily_tracker.json"}, skill))
    assert decision.reason.count("threads_daily_tracker.json,") == 1
    assert "style_guide.md" in decision.reason


# --- the protocol, in real subprocesses ------------------------------------------------

def subprocess_hook(data, *args, command=None, cwd=None):
    text = data if isinstance(data, str) else json.dumps(data)
    argv = command if command is not None else [sys.executable, "-m", "statesafe", "hook", "claude", *args]
    return subprocess.run(argv, input=text, capture_output=True, text=True, cwd=cwd, shell=isinstance(argv, str),
                          timeout=60)


def test_refusal_is_exit_2_with_the_reason_on_stderr_and_nothing_on_stdout(skill):
    result = subprocess_hook(payload("Write", {"file_path": "threads_daily_tracker.json", "content": "{}"}, skill))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("statesafe: refused: Write would overwrite threads_daily_tracker.json")
    assert "statesafe write threads_daily_tracker.json --from DRAFT" in result.stderr


def test_pass_is_exit_0_with_no_decision_at_all(skill):
    for call in (payload("Write", {"file_path": "notes.md", "content": "x"}, skill),
                 payload("Bash", {"command": "echo '{\"a\": 1}' >> threads_freshness.log"}, skill)):
        result = subprocess_hook(call)
        assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
        assert judge(result.returncode, result.stdout, result.stderr) == "pass"


def test_json_form_is_exit_0_with_hook_event_name_and_never_mixed(skill):
    result = subprocess_hook(payload("Bash", {"command": "sed -i s/a/b/ style_guide.md"}, skill), "--json")
    assert result.returncode == 0 and result.stderr == ""
    answer = json.loads(result.stdout)
    assert answer == {"hookSpecificOutput": {
        "hookEventName": "PreToolUse", "permissionDecision": "deny",
        "permissionDecisionReason": answer["hookSpecificOutput"]["permissionDecisionReason"]}}
    assert "statesafe write style_guide.md --from DRAFT" in answer["hookSpecificOutput"]["permissionDecisionReason"]
    passed = subprocess_hook(payload("Bash", {"command": "cat style_guide.md"}, skill), "--json")
    assert (passed.returncode, passed.stdout) == (0, "")  # never "allow": that would skip the user's prompt


def test_unreadable_stdin_is_refused(skill):
    for garbage in ("", "not json", "[1, 2]", '{"tool_input": {}}'):
        result = subprocess_hook(garbage)
        assert result.returncode == 2 and "could not read this tool call" in result.stderr, garbage


#: what the hook process must never import (a fresh process per tool call): libcst, click, the
#: writers and the auditor, the runtime guard, and dataclasses/inspect (several ms of every start)
HOOK_NEVER_IMPORTS = ("libcst", "click", "dataclasses", "inspect", "statesafe.writers", "statesafe.transactions",
                      "statesafe.locking", "statesafe.backup", "statesafe.fsutil", "statesafe.journal",
                      "statesafe.commit", "statesafe.auditor", "statesafe.guard")


def imported_modules(stderr: str) -> set[str]:
    """The modules a ``python -X importtime`` run imported."""
    return {line.rsplit("|", 1)[-1].strip() for line in stderr.splitlines() if "import time:" in line}


def forbidden(imported: set[str]) -> set[str]:
    return {name for name in imported if any(name == bad or name.startswith(bad + ".") for bad in HOOK_NEVER_IMPORTS)}


@pytest.mark.parametrize("form", [["-m", "statesafe", "hook", "claude"], ["-m", "statesafe.agents.claude"]])
def test_the_hook_keeps_libcst_click_the_writers_the_auditor_and_the_guard_off_its_path(skill, form):
    bash = payload("Bash", {"command": "sed -i s/a/b/ style_guide.md; cat notes.md"}, skill)
    result = subprocess.run([sys.executable, "-X", "importtime", *form], input=json.dumps(bash),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    imported = imported_modules(result.stderr)
    assert {"statesafe.readers.shell", "statesafe.agents.judge"} <= imported  # the check is real
    assert not forbidden(imported)
    write = payload("Write", {"file_path": "threads_daily_tracker.json", "content": "{}"}, skill)
    result = subprocess.run([sys.executable, "-X", "importtime", *form], input=json.dumps(write),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    imported = imported_modules(result.stderr)
    assert "statesafe.policy" in imported and not forbidden(imported)
    assert "statesafe.readers.shell" not in imported  # shell parsing loads only for Bash


def test_the_installed_command_refuses_when_statesafe_cannot_even_start(tmp_path):
    command = hook_command(shlex.quote(str(tmp_path / "missing" / "statesafe")), apply=False)
    result = subprocess_hook(payload("Write", {"file_path": "notes.md", "content": ""}, tmp_path), command=command)
    assert result.returncode == 2 and "statesafe" in result.stderr


@pytest.mark.parametrize("returncode, stdout, stderr, verdict", [
    (2, "", "why", "deny"),
    (2, "", "", "exit 2 without a reason on stderr"),
    (1, "", "Traceback", "exit 1: Claude Code would let the tool run"),
    (0, "", "", "pass"),
    (0, '{"hookSpecificOutput": {"permissionDecision": "deny", "permissionDecisionReason": "x"}}', "",
     "JSON deny without hookEventName: Claude Code ignores it"),
    (0, '{"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "allow"}}', "",
     "answered 'allow'"),
    (0, "Welcome to my shell profile!", "", "stdout is not a hookSpecificOutput JSON"),
])
def test_judge_knows_the_protocol(returncode, stdout, stderr, verdict):
    assert judge(returncode, stdout, stderr) == verdict


# --- failing closed --------------------------------------------------------------------

@pytest.mark.parametrize("bad", [
    "not a dict",
    {"hook_event_name": "PreToolUse", "tool_input": {}},
    {"tool_name": "Write", "tool_input": "x", "cwd": "/"},
    {"tool_name": "Write", "tool_input": {"content": "x"}, "cwd": "/"},
    {"tool_name": "Bash", "tool_input": {"command": ["rm", "x"]}, "cwd": "/"},
    {"tool_name": "Write", "tool_input": {"file_path": "x"}, "cwd": 7},
])
def test_a_call_it_cannot_read_is_refused(bad):
    decision = decide(bad)
    assert decision.deny and "could not read this tool call" in decision.reason


def test_other_events_and_unknown_tools_pass_whatever_their_input():
    assert not decide({"hook_event_name": "PostToolUse", "tool_name": "Write", "tool_input": None}).deny
    assert not decide({"tool_name": "TodoWrite", "tool_input": "anything"}).deny


def test_a_broken_policy_refuses_writes_but_lets_the_fix_and_reads_through(skill):
    (skill / "statesafe.toml").write_text("no-such-key = 1\n")
    write = decide(payload("Write", {"file_path": "notes.md", "content": "x"}, skill))
    assert write.deny and "statesafe.toml" in write.reason and "unknown key" in write.reason
    assert not decide(payload("Write", {"file_path": "statesafe.toml", "content": ""}, skill)).deny
    assert not decide(payload("Bash", {"command": "cat threads_daily_tracker.json; statesafe policy"}, skill)).deny
    assert decide(payload("Bash", {"command": "echo x > notes.md"}, skill)).deny


def test_a_broken_policy_in_the_files_own_folder_is_caught_for_bash_too(skill):
    (skill / "sub" / "statesafe.toml").write_text("destructive = 3\n")
    decision = decide(payload("Bash", {"command": "echo x > sub/scratch.txt"}, skill))
    assert decision.deny and "write policy cannot be read" in decision.reason
    assert "sub/statesafe.toml" in decision.reason


def test_removing_a_folder_removes_links_not_what_they_point_to(skill):
    (skill / "sub" / "alias").symlink_to(skill / "threads_daily_tracker.json")
    assert not decide(payload("Bash", {"command": "rm -rf sub"}, skill)).deny
    assert decide(payload("Bash", {"command": "echo x > sub/alias"}, skill)).deny  # writing through it is not


def test_an_internal_error_refuses_when_a_policy_file_is_named(skill, monkeypatch):
    def broken(self, path):
        raise RuntimeError("boom")

    monkeypatch.setattr(agent_judge.Classifier, "which", broken)
    refused = decide(payload("Edit", {"file_path": "style_guide.md", "old_string": "a", "new_string": "b"}, skill))
    assert refused.deny and "internal error: RuntimeError: boom" in refused.reason
    passed = decide(payload("Edit", {"file_path": "notes.md", "old_string": "a", "new_string": "b"}, skill))
    assert not passed.deny and "internal error" in passed.note
    assert decide(payload("Bash", {"command": "cat threads_freshness.log > /tmp/x"}, skill)).deny
    assert not decide(payload("Bash", {"command": "ls > /tmp/x"}, skill)).deny


def test_an_internal_error_in_the_shell_reader_is_caught_too(skill, monkeypatch):
    import statesafe.readers.shell as shell

    monkeypatch.setattr(shell, "effects", lambda command, cwd: 1 / 0)
    code, out, err = run_hook(payload("Bash", {"command": "sed -i s/a/b/ concept_library.md"}, skill))
    assert (code, out) == (2, "") and "ZeroDivisionError" in err


# --- apply mode ------------------------------------------------------------------------

def applied(skill, tool, tool_input, mode="acceptEdits"):
    return decide(payload(tool, tool_input, skill, mode=mode), apply=True)


def test_apply_write_goes_through_statesafe_write_and_is_refused_as_done(skill):
    tracker = skill / "threads_daily_tracker.json"
    decision = applied(skill, "Write", {"file_path": "threads_daily_tracker.json", "content": '{"posts": [1]}\n'})
    assert decision.deny and decision.reason.startswith("statesafe: done:") and "do not repeat" in decision.reason
    assert tracker.read_text() == '{"posts": [1]}\n'
    backup, older = statesafe.backups(tracker)  # newest first; the older one came with the fixture
    assert older.name == BAK and backup.read_text() == CONTENT["destructive"] and backup.name in decision.reason


def test_apply_edit_and_multiedit_follow_claude_codes_rules(skill):
    guide = skill / "style_guide.md"
    guide.write_text("tone: calm\ntone: warm\nvoice: plain\n")
    assert "done" in applied(skill, "Edit", {"file_path": "style_guide.md", "old_string": "voice: plain",
                                             "new_string": "voice: bold", "replace_all": False}).reason
    assert guide.read_text() == "tone: calm\ntone: warm\nvoice: bold\n"
    assert "done" in applied(skill, "Edit", {"file_path": "style_guide.md", "old_string": "tone",
                                             "new_string": "mood", "replace_all": True}).reason
    assert guide.read_text() == "mood: calm\nmood: warm\nvoice: bold\n"
    assert "done" in applied(skill, "MultiEdit", {"file_path": "style_guide.md", "edits": [
        {"old_string": "mood: calm", "new_string": "mood: quiet"},
        {"old_string": "quiet\nmood", "new_string": "quiet\nfeel"}]}).reason  # the second sees the first
    assert guide.read_text() == "mood: quiet\nfeel: warm\nvoice: bold\n"
    assert len(statesafe.backups(guide)) == 3


@pytest.mark.parametrize("tool_input, message", [
    ({"old_string": "absent", "new_string": "x"}, "String to replace not found in file."),
    ({"old_string": "one", "new_string": "x", "replace_all": False}, "Found 2 matches of the string to replace"),
    ({"old_string": "one", "new_string": "one"}, "No changes to make"),
    ({"old_string": "", "new_string": "x"}, "file already exists"),
])
def test_apply_refuses_an_edit_claude_code_would_reject_and_changes_nothing(skill, tool_input, message):
    guide = skill / "style_guide.md"
    guide.write_text("one one\n")
    decision = applied(skill, "Edit", {"file_path": "style_guide.md", **tool_input})
    assert decision.deny and message in decision.reason and "Nothing was changed" in decision.reason
    assert guide.read_text() == "one one\n" and statesafe.backups(guide) == []


def test_apply_multiedit_is_all_or_nothing(skill):
    guide = skill / "style_guide.md"
    guide.write_text("a b\n")
    decision = applied(skill, "MultiEdit", {"file_path": "style_guide.md", "edits": [
        {"old_string": "a", "new_string": "A"}, {"old_string": "zzz", "new_string": "Z"}]})
    assert "not found in file (edit 2)" in decision.reason and guide.read_text() == "a b\n"


def test_apply_creates_a_new_policy_file_through_the_writer(skill):
    decision = applied(skill, "Write", {"file_path": "sub/brand_voice.md", "content": "bold\n"})
    assert "done" in decision.reason and (skill / "sub" / "brand_voice.md").read_text() == "bold\n"


def test_apply_only_acts_when_edits_are_already_accepted(skill):
    before = snapshot(skill)
    for mode in ("default", "plan", None):
        decision = applied(skill, "Write", {"file_path": "threads_daily_tracker.json", "content": "{}"}, mode=mode)
        assert decision.deny and decision.reason.startswith("statesafe: refused:")
    assert snapshot(skill) == before
    assert "done" in applied(skill, "Write", {"file_path": "threads_daily_tracker.json", "content": "{}"},
                             mode="bypassPermissions").reason


def test_apply_on_a_log_appends_added_records_and_refuses_rewrites(skill):
    log = skill / "threads_freshness.log"
    grown = CONTENT["log"] + '{"run": 3}\n{"run": 4}\n'
    decision = applied(skill, "Write", {"file_path": "threads_freshness.log", "content": grown})
    assert "appended them" in decision.reason
    lines = log.read_text().splitlines()
    assert lines[:2] == CONTENT["log"].splitlines()
    assert [json.loads(line)["run"] for line in lines[2:]] == [3, 4]
    assert all("run_id" in json.loads(line) for line in lines[2:])
    before = log.read_bytes()
    rewrite = applied(skill, "Edit", {"file_path": "threads_freshness.log", "old_string": "log one",
                                      "new_string": "log 1"})
    assert rewrite.reason.startswith("statesafe: refused:") and log.read_bytes() == before
    not_json = applied(skill, "Write", {"file_path": "threads_freshness.log", "content": CONTENT["log"] + "hi\n"})
    assert not_json.reason.startswith("statesafe: refused:") and log.read_bytes() == before


def test_apply_on_a_log_says_which_records_landed_when_an_append_fails_part_way(skill, monkeypatch):
    log = skill / "threads_freshness.log"
    real_open, opened = os.open, []

    def disk_full_after_one(path, flags, *args, **kwargs):
        if os.fspath(path).endswith("threads_freshness.log") and flags & os.O_APPEND:
            opened.append(path)
            if len(opened) > 1:
                raise OSError(errno.ENOSPC, "No space left on device", path)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", disk_full_after_one)
    grown = CONTENT["log"] + '{"run": 3}\n{"run": 4}\n{"run": 5}\n'
    reason = applied(skill, "Write", {"file_path": "threads_freshness.log", "content": grown}).reason
    monkeypatch.undo()
    landed = log.read_text().splitlines()[len(CONTENT["log"].splitlines()):]
    assert [json.loads(line)["run"] for line in landed] == [3]
    assert "Nothing was changed" not in reason and "No space left" in reason
    assert "1 of the 3 record(s) you added were appended" in reason and landed[0] in reason
    assert reason.endswith('{"run": 4}\n{"run": 5}')


def test_apply_never_touches_backups_or_notebooks(skill):
    before = snapshot(skill)
    assert applied(skill, "Write", {"file_path": BAK, "content": "{}"}).reason.startswith("statesafe: refused:")
    assert applied(skill, "NotebookEdit", {"notebook_path": "posts_by_date.md", "new_source": "x"}
                   ).reason.startswith("statesafe: refused:")
    assert snapshot(skill) == before


def test_apply_on_compiled_memory_needs_the_metadata(skill):
    wiki = skill / "compiled" / "account_wiki.md"
    bare = applied(skill, "Write", {"file_path": "compiled/account_wiki.md", "content": "# wiki\n"})
    assert "could not apply" in bare.reason and "compiled content refused" in bare.reason
    assert wiki.read_text() == CONTENT["compiled"]
    front = ("---\ngenerated_at: 2026-01-01T00:00:00Z\nsource_tracker_hash: sha256:" + "0" * 64 +
             "\nposts_count: 0\nconfidence_level: low\ncoverage_notes: none\n---\n# wiki\n")
    assert "done" in applied(skill, "Write", {"file_path": "compiled/account_wiki.md", "content": front}).reason
    assert wiki.read_text() == front


def test_apply_through_the_command_line(skill):
    code, out, err = run_hook(payload("Edit", {"file_path": "posts_by_date.md", "old_string": "companion one",
                                               "new_string": "companion 1"}, skill, mode="acceptEdits"), "--apply")
    assert (code, out) == (2, "") and err.startswith("statesafe: done:")
    assert (skill / "posts_by_date.md").read_text().startswith('{"line": "companion 1"}')


# --- install and selftest --------------------------------------------------------------

def install(project, *args):
    return CliRunner().invoke(main, ["hook", "install", "claude", "--project", str(project), *args])


def test_install_creates_settings_with_both_matchers(tmp_path):
    result = install(tmp_path, "--command", "statesafe")
    assert result.exit_code == 0, result.output
    settings = json.loads((tmp_path / ".claude" / "settings.json").read_text())
    assert settings == {"hooks": {"PreToolUse": [
        {"matcher": "Write|Edit|MultiEdit|NotebookEdit",
         "hooks": [{"type": "command", "command": "statesafe hook claude || exit 2", "timeout": 10}]},
        {"matcher": "Bash",
         "hooks": [{"type": "command", "command": "statesafe hook claude || exit 2", "timeout": 10}]}]}}


def test_install_merges_keeps_everything_else_and_backs_the_file_up(tmp_path):
    path = tmp_path / ".claude" / "settings.json"
    path.parent.mkdir()
    theirs = {"model": "opus", "permissions": {"allow": ["Bash(ls:*)"]}, "hooks": {
        "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "./audit.sh"}]}],
        "PostToolUse": [{"matcher": "*", "hooks": [{"type": "command", "command": "./log.sh"}]}]}}
    path.write_text(json.dumps(theirs))
    original = path.read_bytes()
    assert install(tmp_path, "--command", "statesafe").exit_code == 0
    merged = json.loads(path.read_text())
    assert merged["model"] == "opus" and merged["permissions"] == theirs["permissions"]
    assert merged["hooks"]["PostToolUse"] == theirs["hooks"]["PostToolUse"]
    pre = merged["hooks"]["PreToolUse"]
    assert pre[0] == theirs["hooks"]["PreToolUse"][0]
    assert [entry["matcher"] for entry in pre] == ["Bash", "Write|Edit|MultiEdit|NotebookEdit", "Bash"]
    (backup,) = statesafe.backups(path)
    assert backup.read_bytes() == original


def test_install_is_idempotent_and_updates_its_own_entries_in_place(tmp_path):
    path = tmp_path / ".claude" / "settings.json"
    install(tmp_path, "--command", "statesafe")
    first = path.read_bytes()
    again = install(tmp_path, "--command", "statesafe")
    assert again.exit_code == 0 and "nothing changed" in again.output
    assert path.read_bytes() == first and len(statesafe.backups(path)) == 0
    assert install(tmp_path, "--command", "statesafe", "--apply").exit_code == 0
    pre = json.loads(path.read_text())["hooks"]["PreToolUse"]
    assert len(pre) == 2 and all(e["hooks"][0]["command"] == "statesafe hook claude --apply || exit 2" for e in pre)
    assert len(statesafe.backups(path)) == 1


@pytest.mark.parametrize("text, problem", [
    ('{"hooks": {', "not valid JSON"),
    ("[]", "not a JSON object"),
    ('{"hooks": []}', "'hooks' must be an object"),
    ('{"hooks": {"PreToolUse": {}}}', "'hooks.PreToolUse' a list"),
])
def test_install_refuses_a_settings_file_it_cannot_merge_into_and_touches_nothing(tmp_path, text, problem):
    path = tmp_path / ".claude" / "settings.json"
    path.parent.mkdir()
    path.write_text(text)
    result = install(tmp_path)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("statesafe: error: ") and problem in lines[0]
    assert str(path) in lines[0] and "nothing was changed" in lines[0]
    assert path.read_text() == text and sorted(os.listdir(path.parent)) == ["settings.json"]


def test_launchers_use_the_project_dir_variable_for_a_project_venv(tmp_path, monkeypatch):
    from statesafe.agents.claude_install import default_launcher

    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "statesafe").write_text("")
    monkeypatch.setattr(sys, "executable", str(bin_dir / "python"))
    assert default_launcher(str(tmp_path)) == '"$CLAUDE_PROJECT_DIR"/.venv/bin/statesafe'
    assert default_launcher(str(tmp_path / "elsewhere")) == str(bin_dir / "statesafe")
    (bin_dir / "statesafe").unlink()
    assert default_launcher(str(tmp_path)) == '"$CLAUDE_PROJECT_DIR"/.venv/bin/python -m statesafe'


def test_the_module_form_answers_like_the_cli_and_refuses_unknown_options(skill):
    call = payload("Bash", {"command": "tee threads_daily_tracker.json < /dev/null"}, skill)
    module = [sys.executable, "-m", "statesafe.agents.claude"]
    via_cli = subprocess_hook(call)
    direct = subprocess_hook(call, command=module)
    assert (direct.returncode, direct.stdout, direct.stderr) == (via_cli.returncode, via_cli.stdout, via_cli.stderr)
    assert direct.returncode == 2
    as_json = subprocess_hook(call, command=[*module, "--json"])
    assert as_json.returncode == 0 and json.loads(as_json.stdout)["hookSpecificOutput"]["hookEventName"] == "PreToolUse"
    typo = subprocess_hook(payload("Write", {"file_path": "notes.md", "content": ""}, skill), command=[*module, "--aply"])
    assert typo.returncode == 2 and "unknown options" in typo.stderr


@pytest.mark.parametrize("options, form", [((), "hook claude || exit 2"),
                                           (("--command", "statesafe"), "statesafe hook claude || exit 2")])
def test_install_then_selftest(tmp_path, options, form):
    result = install(tmp_path, *options)
    assert result.exit_code == 0, result.output
    command = json.loads((tmp_path / ".claude" / "settings.json").read_text())["hooks"]["PreToolUse"][0]["hooks"][0]
    assert command["command"].endswith(form)
    checked = subprocess.run([sys.executable, "-m", "statesafe", "hook", "selftest", "--project", str(tmp_path)],
                             capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0 and "selftest passed" in checked.stdout, checked.stdout + checked.stderr
    assert install(tmp_path, *options).output.endswith("nothing changed\n")


def test_selftest_runs_the_installed_command_like_claude_code(tmp_path):
    launcher = f"{shlex.quote(sys.executable)} -m statesafe"
    assert install(tmp_path, "--command", launcher).exit_code == 0
    result = subprocess.run([sys.executable, "-m", "statesafe", "hook", "selftest", "--project", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "selftest passed" in result.stdout and "FAIL" not in result.stdout
    assert f"{launcher} hook claude || exit 2" in result.stdout


def test_selftest_fails_a_hook_that_does_not_refuse(tmp_path):
    settings = tmp_path / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text(json.dumps({"hooks": {"PreToolUse": [
        {"matcher": m, "hooks": [{"type": "command", "command": "true statesafe hook claude"}]}
        for m in ("Write|Edit|MultiEdit|NotebookEdit", "Bash")]}}))
    result = CliRunner().invoke(main, ["hook", "selftest", "--project", str(tmp_path)])
    assert result.exit_code == 2 and "FAIL Write the tracker" in result.output
    assert "statesafe: error: hook selftest:" in result.output
