"""End to end: statesafe on the example skills, driven only as a user drives it.

Every step is a real process: the ``statesafe`` console script, ``python scripts/...``
from a copy of a skill, pytest in a scratch project, strace killing a review in the
middle of its commit, a pseudo-terminal answering the restore picker, and the agent
hook fed the JSON Claude Code sends. tests/test_examples.py checks what the skills
compute; this file checks what statesafe does around them.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import statesafe
from e2e_support import (FINDING_LINE, STATESAFE, SUMMARY_LINE, Terminal, copy_skill, hook, script,
                         statesafe as cli, strace_can_inject)
from statesafe.auditor.rules import RULES
from statesafe.names import parse_backup
from test_examples import LEGACY, SAMPLE, THREADS, TRACKER, workdir  # noqa: F401 (a fixture)

REVIEWED = (TRACKER, "style_guide.md", "concept_library.md")


def _outputs(workdir: Path) -> dict[str, bytes]:
    """Every file a run left, by relative path, without backups and lock files (named by the clock)."""
    return {str(path.relative_to(workdir)): path.read_bytes() for path in sorted(workdir.rglob("*"))
            if path.is_file() and parse_backup(path.name) is None and not path.name.endswith(".lock")}


def _files(skill: Path) -> list[str]:
    return sorted(str(p.relative_to(skill)) for p in skill.rglob("*")
                  if p.is_file() and ".statesafe_cache" not in p.parts)


# --- audit, --fix, re-audit --------------------------------------------------------------

def _audit_json(skill: Path) -> list[dict]:
    done = cli("audit", "--format", "json", ".", cwd=skill)
    assert done.returncode == 1, done.stderr
    return json.loads(done.stdout)


def _key(finding: dict) -> tuple[str, str, str]:
    """What a finding is about, independent of line numbers a fix shifts."""
    return finding["path"], finding["code"], finding["target"]


def test_audit_of_the_legacy_skill_reads_clearly_and_reports_every_family(tmp_path):
    skill = copy_skill(LEGACY, tmp_path / "legacy")
    done = cli("audit", ".", cwd=skill)
    assert done.returncode == 1, done.stderr
    assert done.stderr == ""
    *lines, summary = done.stdout.splitlines()
    findings = _audit_json(skill)

    # one line per finding, path:line:col: CODE message, in the JSON's order and with its fields
    assert [FINDING_LINE.match(line).groupdict() if FINDING_LINE.match(line) else line for line in lines] == [
        {"path": f["path"], "line": str(f["line"]), "column": str(f["column"]), "code": f["code"],
         "message": f["message"] + (f" (via {f['via']})" if f["via"] else "")} for f in findings]
    for finding in findings:  # each names the policy file it is about (a manifest: the policy) and the rule
        assert Path(finding["target"] or "FAILSAFE.md").name in finding["message"], finding
        assert finding["code"] in RULES and finding["name"] == RULES[finding["code"]].NAME
        assert (skill / finding["path"]).is_file()
    assert {f["code"][:3] for f in findings} >= {"FS1", "FS2", "FS3", "FS4", "FS5", "FS6"}

    counts = SUMMARY_LINE.match(summary)
    assert counts, summary
    checked = [p for p in skill.rglob("*") if p.suffix == ".py" or p.name == "SKILL.md"]
    assert int(counts["findings"]) == len(findings)
    assert int(counts["files"]) == len({f["path"] for f in findings})
    assert int(counts["checked"]) == len(checked)
    assert int(counts["fixable"]) == sum(1 for f in findings if f["fix"]) > 0


def test_fix_leaves_only_what_cannot_be_fixed_safely_and_the_scripts_compute_the_same_files(tmp_path):
    skill = copy_skill(LEGACY, tmp_path / "legacy")
    before = _audit_json(skill)
    for finding in before:  # a fix is offered only by a rule that declares one
        assert not finding["fix"] or RULES[finding["code"]].AUTOFIX, finding
    fixable = [f for f in before if f["fix"]]
    tree = _files(skill)

    done = cli("audit", "--fix", ".", cwd=skill)
    assert done.returncode == 1, done.stderr  # findings remain: the ones no fix addresses
    fixed = [line.split(": ", 1)[0].removeprefix("fixed ") for line in done.stderr.splitlines()]
    assert sorted(fixed) == sorted({f["path"] for f in fixable}), done.stderr  # one line per file rewritten
    assert sum(line.count(" line ") for line in done.stderr.splitlines()) == len(fixable)

    assert _files(skill) == tree  # rewritten in place of the old: no temp, lock or backup left beside them
    after = _audit_json(skill)
    assert Counter(map(_key, after)) == Counter(_key(f) for f in before if not f["fix"])
    assert not any(f["fix"] for f in after)
    never_fixable = {code for code, rule in RULES.items() if not rule.AUTOFIX}
    assert {f["code"] for f in before} & never_fixable <= {f["code"] for f in after}
    assert {f["code"] for f in fixable} - {f["code"] for f in after}  # a whole rule's findings went away

    # the rewritten scripts still run, and make byte for byte what the originals make
    results = {}
    for name, source in (("original", LEGACY), ("fixed", skill)):
        work = Path(shutil.copytree(SAMPLE, tmp_path / f"work-{name}"))
        for step in ("render_companions", "refresh", "review", "render_companions", "build_compiled_memory"):
            script(source, step, work)
        script(source, "tune", work, "--window", "21", "--tone", "calm", "--timezone", "Asia/Tokyo")
        results[name] = _outputs(work)
    assert results["fixed"].keys() == results["original"].keys()
    differing = [name for name in results["fixed"] if results["fixed"][name] != results["original"][name]]
    assert differing == []


# --- the runtime guard: statesafe run and pytest --statesafe -------------------------------

COMPLIANT_FLOW = ("refresh", "review", "render_companions", "build_compiled_memory")


def test_compliant_scripts_under_statesafe_run_raise_no_warning_even_in_warn_mode(workdir):
    # warn mode reports every raw write and lets it happen, so silence here means zero violations
    for step in COMPLIANT_FLOW:
        done = script(THREADS, step, workdir, prefix=(*STATESAFE, "run", "--mode", "warn", "--"))
        assert "Policy" not in done.stderr, done.stderr
    assert statesafe.check_compiled(workdir) == []
    assert len(statesafe.backups(workdir / TRACKER)) == 2  # refresh and review each backed it up


def test_warn_mode_names_the_compliant_call_for_each_class(workdir):
    """The control for the test above: the same mode reports the legacy refresh's raw writes."""
    done = script(LEGACY, "refresh", workdir, prefix=(*STATESAFE, "run", "--mode", "warn", "--"))
    warned = [line.split("PolicyWarning: ", 1)[1] for line in done.stderr.splitlines() if "PolicyWarning: " in line]
    assert [w.split(" on ", 1)[1].split(" ", 1)[0] for w in warned] == [
        str(workdir / TRACKER), str(workdir / "threads_refresh.log"), str(workdir / "threads_freshness.log")]
    assert "use statesafe.write(path, data)" in warned[0]
    assert all("use statesafe.append(path, record)" in w for w in warned[1:])


@pytest.mark.parametrize("step, args, target", [
    ("review", (), TRACKER),
    ("render_companions", (), "posts_by_date.md"),
    ("build_compiled_memory", (), "compiled/account_wiki.md"),
    ("tune", ("--reset-style",), "style_guide.md"),
])
def test_legacy_scripts_under_statesafe_run_are_stopped_before_their_raw_write(workdir, step, args, target):
    """Each legacy script's first raw write (refresh's: tests/test_examples.py) stops it, nothing changed."""
    before = _outputs(workdir)
    done = script(LEGACY, step, workdir, *args, prefix=(*STATESAFE, "run", "--"), check=False)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("statesafe: PolicyViolation: ") and f" on {workdir / target} (" in last, last
    assert "use statesafe.write(path, data)" in last
    after = _outputs(workdir)
    assert {name: after[name] for name in before} == before  # nothing the user had changed
    assert not (workdir / target).exists() or (workdir / target).read_bytes() == before[target]


FLOW_TESTS = '''
"""The compliant skill's flows as its own test suite would run them, in process and as scripts."""
import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import statesafe
import statesafe.guard

SKILL, LEGACY, SAMPLE = Path({threads!r}), Path({legacy!r}), Path({sample!r})
sys.path.insert(0, str(SKILL / "scripts"))


@pytest.fixture
def work(tmp_path):
    with statesafe.guard.suspended():  # seeding a copy is not the skill's write
        return Path(shutil.copytree(SAMPLE, tmp_path / "work"))


def test_flow_in_process(work):
    for name in {flow!r}:
        assert importlib.import_module(name).main(["--dir", str(work)]) == 0
    assert statesafe.check_compiled(work) == []


def test_flow_as_scripts(work):
    for name in {flow!r}:
        subprocess.run([sys.executable, f"scripts/{{name}}.py", "--dir", str(work)], cwd=SKILL, check=True)


def test_control_raw_write_in_process(work):
    (work / "threads_daily_tracker.json").write_text("{{}}")


def test_control_legacy_script(work):
    subprocess.run([sys.executable, "scripts/refresh.py", "--dir", str(work)], cwd=LEGACY, check=True)
'''


def test_compliant_flows_pass_under_pytest_statesafe_and_raw_writes_fail(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "test_flows.py").write_text(FLOW_TESTS.format(
        threads=str(THREADS), legacy=str(LEGACY), sample=str(SAMPLE), flow=COMPLIANT_FLOW), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "pytest", "--statesafe", "-p", "no:cacheprovider", "-rA",
                           "-o", "addopts=", "test_flows.py"], cwd=project, capture_output=True, text=True,
                          timeout=120)
    outcomes = dict(reversed(line.split(" ", 2)[:2]) for line in done.stdout.splitlines()
                    if line.startswith(("PASSED test_flows.py::", "FAILED test_flows.py::")))
    assert outcomes == {
        "test_flows.py::test_flow_in_process": "PASSED",
        "test_flows.py::test_flow_as_scripts": "PASSED",
        "test_flows.py::test_control_raw_write_in_process": "FAILED",
        "test_flows.py::test_control_legacy_script": "FAILED",
    }, done.stdout + done.stderr
    assert done.returncode == 1
    report = done.stdout.split(" short test summary info ")[0]  # the summary names every failure
    sections = dict(zip(*[iter(re.split(r"^_{3,} (test_\w+) _{3,}$", report, flags=re.M)[1:])] * 2))
    for control in ("test_control_raw_write_in_process", "test_control_legacy_script"):
        assert re.search(r"PolicyViolation: open with mode 'w' on \S+/threads_daily_tracker.json \(destructive",
                         sections[control]), sections[control]
    for flow in ("test_flow_in_process", "test_flow_as_scripts"):  # -rA shows what passing tests printed
        assert "Policy" not in sections[flow], sections[flow]


# --- a review killed mid-commit, then statesafe recover ----------------------------------

KILLED = (-9, 137)  # strace re-raises the tracee's SIGKILL on itself


def _review_killed_at(work: Path, syscalls: str, nth: int) -> subprocess.CompletedProcess:
    """``python scripts/review.py`` SIGKILLed on entering the nth call of ``syscalls`` (real fault injection)."""
    return script(THREADS, "review", work, check=False, prefix=(
        "strace", "-qq", "-o", str(work.parent / "strace.log"), "-e", f"trace={syscalls}",
        "-e", f"inject={syscalls}:signal=SIGKILL:when={nth}"))


def _generation(workdir: Path, old: dict[str, bytes], new: dict[str, bytes]) -> list[str]:
    return ["old" if (workdir / name).read_bytes() == old[name] else
            "new" if (workdir / name).read_bytes() == new[name] else "neither" for name in REVIEWED]


@pytest.mark.skipif(not strace_can_inject(), reason="needs strace, allowed to ptrace, for fault injection")
@pytest.mark.parametrize("kill_at_rename, on_disk, recovered", [
    (1, ["old", "old", "old"], "old"),  # killed as the journal lands: before the commit point
    (3, ["new", "old", "old"], "new"),  # killed after the first file was installed: rolled forward
    (4, ["new", "new", "old"], "new"),
])
def test_a_review_killed_mid_commit_is_one_generation_after_recover(tmp_path, kill_at_rename, on_disk, recovered):
    finished = Path(shutil.copytree(SAMPLE, tmp_path / "finished"))
    script(THREADS, "review", finished)
    new = {name: (finished / name).read_bytes() for name in REVIEWED}
    old = {name: (SAMPLE / name).read_bytes() for name in REVIEWED}

    work = Path(shutil.copytree(SAMPLE, tmp_path / "work"))
    done = _review_killed_at(work, "rename,renameat,renameat2", kill_at_rename)
    assert done.returncode in KILLED, done.stderr
    # in REVIEWED's order: tracker, style guide, concepts; the commit installs them sorted by path
    assert sorted(zip(REVIEWED, _generation(work, old, new))) == sorted(
        zip(sorted(REVIEWED), on_disk)), (tmp_path / "strace.log").read_text()

    fixed = cli("recover", str(work), cwd=tmp_path)
    assert fixed.returncode == 1, fixed.stdout + fixed.stderr  # 1: something was recovered
    assert _generation(work, old, new) == [recovered] * 3
    assert not [p.name for p in work.iterdir() if ".tmp-" in p.name or p.name.endswith(".journal")]
    again = cli("recover", str(work), cwd=tmp_path)
    assert (again.returncode, again.stdout) == (0, "nothing to recover\n")
    for name in REVIEWED:  # the backups the review took before writing are all there
        assert [b.read_bytes() for b in statesafe.backups(work / name)] == [old[name]]


@pytest.mark.slow
@pytest.mark.skipif(not strace_can_inject(), reason="needs strace, allowed to ptrace, for fault injection")
@pytest.mark.parametrize("syscalls", ["link,linkat", "rename,renameat,renameat2", "unlink,unlinkat",
                                      "fsync,fdatasync", "write"])
def test_a_review_killed_at_every_step_recovers_to_one_generation_and_runs_again(tmp_path, syscalls):
    finished = Path(shutil.copytree(SAMPLE, tmp_path / "finished"))
    script(THREADS, "review", finished)
    new = {name: (finished / name).read_bytes() for name in REVIEWED}
    old = {name: (SAMPLE / name).read_bytes() for name in REVIEWED}
    kills = 0
    while True:
        work = tmp_path / f"work-{kills + 1}"
        shutil.copytree(SAMPLE, work)
        done = _review_killed_at(work, syscalls, kills + 1)
        if done.returncode not in KILLED:  # fewer such calls than that: the review ran to its end
            assert done.returncode == 0, done.stderr
            break
        kills += 1
        recovered = cli("recover", str(work), cwd=tmp_path)
        assert recovered.returncode in (0, 1), (kills, recovered.stdout, recovered.stderr)
        generation = _generation(work, old, new)
        assert generation in (["old"] * 3, ["new"] * 3), (syscalls, kills, generation)
        assert not [p.name for p in work.iterdir() if ".tmp-" in p.name or p.name.endswith(".journal")]
        script(THREADS, "review", work)  # the skill carries on: the review runs again to the same result
        assert _generation(work, old, new) == ["new"] * 3, (syscalls, kills)
    assert kills >= 1 and _generation(work, old, new) == ["new"] * 3


# --- a corrupted tracker, restored from the command line -------------------------------

def _corrupted_tracker_with_two_backups(workdir: Path) -> tuple[bytes, bytes]:
    """Refresh then review (two backups: 300 posts, then 305), then a torn tracker."""
    sample = (workdir / TRACKER).read_bytes()
    script(THREADS, "refresh", workdir)
    refreshed = (workdir / TRACKER).read_bytes()
    script(THREADS, "review", workdir)
    (workdir / TRACKER).write_bytes(refreshed[:len(refreshed) // 2])  # what a crash mid-write leaves
    return sample, refreshed


def _table(output: str) -> list[list[str]]:
    return [line.split() for line in output.splitlines() if ".bak-" in line]


def test_a_corrupted_tracker_is_restored_through_the_picker_on_a_terminal(workdir):
    sample, refreshed = _corrupted_tracker_with_two_backups(workdir)
    torn = (workdir / TRACKER).read_bytes()

    listed = cli("backups", TRACKER, cwd=workdir)
    assert listed.returncode == 0, listed.stderr
    header, *_ = listed.stdout.splitlines()
    assert header.split() == ["backup", "time", "(UTC)", "bytes", "parses", "posts"]
    rows = _table(listed.stdout)
    assert [(row[0].startswith(f"{TRACKER}.bak-"), row[-2], row[-1]) for row in rows] == [
        (True, "yes", "305"), (True, "yes", "300")]  # newest first: the review's backup, then refresh's
    assert [int(row[-3]) for row in rows] == [len(refreshed), len(sample)]

    # no terminal: it says how to choose, and picks nothing
    piped = cli("restore", TRACKER, cwd=workdir)
    assert piped.returncode == 2 and "--from" in piped.stderr and piped.stdout == ""
    # a terminal, but no answer: an empty line asks again, end of input gives up; nothing changes
    with Terminal([*STATESAFE, "restore", TRACKER], cwd=workdir) as silent:
        shown = silent.expect("restore which backup (number)")
        assert [row[1:] for row in _table(shown)] == rows
        silent.type("\n")
        silent.expect("restore which backup (number)", timeout=10)
        silent.type("\x04")
        status, shown = silent.finish()
    assert status != 0 and "restored" not in shown
    assert (workdir / TRACKER).read_bytes() == torn and len(statesafe.backups(workdir / TRACKER)) == 2

    with Terminal([*STATESAFE, "restore", TRACKER], cwd=workdir) as chooser:
        chooser.expect("restore which backup (number)")
        chooser.type("9\n")  # out of range: asked again, not clamped
        chooser.expect("9 is not in the range", timeout=10)
        chooser.type("2\n")
        status, shown = chooser.finish()
    assert status == 0, shown
    chosen = rows[1][0]
    assert f"restored {TRACKER} from {chosen}" in shown
    assert (workdir / TRACKER).read_bytes() == (workdir / chosen).read_bytes() == sample

    relisted = cli("backups", TRACKER, cwd=workdir)
    [corrupted] = [row for row in _table(relisted.stdout) if "(corrupted snapshot)" in " ".join(row)]
    assert (workdir / corrupted[0]).read_bytes() == torn and "-corrupted" in corrupted[0]
    assert f"the replaced content is kept as {corrupted[0]}" in shown
    assert corrupted[-2:] == ["NO", "-"]  # listed as not parsing, so nobody picks it by mistake


# --- the agent hook, fed what an agent running /review sends -------------------------------

def _call(workdir: Path, tool: str, mode: str = "default", **tool_input) -> dict:
    return {"session_id": "e2e", "transcript_path": str(workdir / "transcript.jsonl"), "cwd": str(workdir),
            "permission_mode": mode, "hook_event_name": "PreToolUse", "tool_name": tool, "tool_input": tool_input}


def _passes(done: subprocess.CompletedProcess) -> bool:
    assert done.stdout == "", done.stdout  # never answers "allow": the user's prompt still applies
    assert done.returncode in (0, 2), done.stderr
    return done.returncode == 0


def test_the_agent_hook_on_the_calls_of_a_review_session(workdir):
    shutil.copy(THREADS / "FAILSAFE.md", workdir)
    guide = workdir / "style_guide.md"
    original = guide.read_bytes()
    draft = workdir.parent / "draft.md"
    new_guide = original.decode().replace("One emoji per post", "Two emoji per post")
    # Step 1: read the voice; Step 2: the review script; a log line; recovery
    for payload in (_call(workdir, "Read", file_path=str(guide)),
                    _call(workdir, "Read", file_path=str(workdir / "concept_library.md")),
                    _call(workdir, "Bash", command='python scripts/review.py --dir "$WORKDIR"'),
                    _call(workdir, "Write", file_path=str(draft), content=new_guide),
                    _call(workdir, "Bash", command=f"statesafe write style_guide.md --from {draft}"),
                    _call(workdir, "Bash", command="echo '{\"event\": \"note\"}' >> threads_skill_learnings.log"),
                    _call(workdir, "Bash", command='statesafe recover "$WORKDIR"')):
        assert _passes(hook(payload, cwd=workdir)), payload

    # Step 3.5 done the wrong ways: each refused, the reason naming the file and the compliant command
    refused = {
        "Edit": _call(workdir, "Edit", file_path=str(guide), old_string="One emoji per post",
                      new_string="Two emoji per post"),
        "Write": _call(workdir, "Write", file_path="style_guide.md", content=new_guide),
        "Bash >": _call(workdir, "Bash", command=f"cat {draft} > style_guide.md"),
        "Bash sed -i": _call(workdir, "Bash", command="sed -i 's/One emoji/Two emoji/' style_guide.md"),
        "Write compiled": _call(workdir, "Write", file_path="compiled/cluster_wiki.json", content="{}"),
        "Bash > log": _call(workdir, "Bash", command="echo '{}' > threads_skill_learnings.log"),
    }
    for what, payload in refused.items():
        done = hook(payload, cwd=workdir)
        assert not _passes(done), what
        reason = done.stderr
        assert reason.startswith("statesafe: refused: "), (what, reason)
        if what == "Write compiled":
            assert "compiled file" in reason and "statesafe write compiled/cluster_wiki.json --from" in reason
        elif what == "Bash > log":
            assert "statesafe append threads_skill_learnings.log" in reason
        else:
            assert "destructive file" in reason and "`statesafe write style_guide.md --from DRAFT`" in reason
    assert guide.read_bytes() == original and statesafe.backups(guide) == []

    # what the refusal told the agent to do, done through Bash: the guide changes with a backup
    draft.write_text(new_guide, encoding="utf-8")
    done = cli("write", "style_guide.md", "--from", str(draft), cwd=workdir)
    assert done.returncode == 0, done.stderr
    assert guide.read_text(encoding="utf-8") == new_guide
    assert [b.read_bytes() for b in statesafe.backups(guide)] == [original]


def test_the_agent_hook_in_apply_mode_writes_through_statesafe(workdir):
    guide = workdir / "style_guide.md"
    original = guide.read_bytes()
    edit = dict(file_path=str(guide), old_string="One emoji per post", new_string="Two emoji per post")

    # without auto-accepted edits the user has not approved anything: refused as usual, nothing written
    asked = hook(_call(workdir, "Edit", **edit), "--apply", cwd=workdir)
    assert not _passes(asked) and asked.stderr.startswith("statesafe: refused: ")
    assert guide.read_bytes() == original and statesafe.backups(guide) == []

    done = hook(_call(workdir, "Edit", "acceptEdits", **edit), "--apply", cwd=workdir)
    assert not _passes(done)  # the original call is not run again by Claude Code ...
    [backup] = statesafe.backups(guide)  # ... statesafe did it, the policy's way
    assert done.stderr.startswith("statesafe: done: ") and backup.name in done.stderr
    assert "do not repeat it" in done.stderr
    assert backup.read_bytes() == original
    assert guide.read_bytes() == original.replace(b"One emoji per post", b"Two emoji per post")

    # an edit Claude Code itself would reject (old_string not in the file) is refused, nothing written
    stale = hook(_call(workdir, "Edit", "acceptEdits", **edit), "--apply", cwd=workdir)
    assert not _passes(stale) and "String to replace not found in file" in stale.stderr  # Claude Code's words
    assert statesafe.backups(guide) == [backup] and b"Two emoji per post" in guide.read_bytes()

