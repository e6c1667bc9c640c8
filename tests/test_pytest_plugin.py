"""The pytest plugin: ``--statesafe``, the ini option, the marker, the fixture, whole-run coverage.

Each case runs pytest in a subprocess (``runpytest_subprocess``): the guard's audit
hook is process-wide, and atexit coverage needs a process that really exits.
"""

from __future__ import annotations

import os

import pytest

# These tests break the rules on purpose, in subprocesses of their own: under
# `pytest --statesafe` they run unguarded.
pytestmark = pytest.mark.statesafe_off

TRACKER = "threads_daily_tracker.json"

SEED = f"""
import os, shutil, pytest, statesafe

TRACKER = {TRACKER!r}

@pytest.fixture
def skill(tmp_path):
    statesafe.write(tmp_path / TRACKER, {{"posts": [1]}})
    return tmp_path
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)


def test_statesafe_fails_a_raw_write_and_passes_a_compliant_one(pytester):
    pytester.makepyfile(SEED + """
def test_raw(skill):
    with open(skill / TRACKER, "w") as f:
        f.write("{}")

def test_swallowed(skill):
    try:
        (skill / TRACKER).unlink()
    except Exception:
        pass

def test_compliant(skill):
    statesafe.write(skill / TRACKER, {"posts": [1, 2]})
    statesafe.append(skill / "threads_freshness.log", {"checked": True})
""")
    result = run(pytester, "--statesafe")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*PolicyViolation: open with mode 'w' on *threads_daily_tracker.json*",
                                 "*refused a raw write that was caught and hidden:",
                                 "PolicyViolation: delete on *threads_daily_tracker.json*"])
    run(pytester).assert_outcomes(passed=3)  # off unless asked for


@pytest.mark.parametrize("ini, outcome", [("enforce", {"failed": 1}), ("warn", {"passed": 1, "warnings": 1}),
                                          ("off", {"passed": 1})])
def test_ini_option(pytester, ini, outcome):
    pytester.makeini(f"[pytest]\nstatesafe = {ini}\n")
    pytester.makepyfile(SEED + """
def test_raw(skill):
    (skill / TRACKER).write_text("{}")
""")
    run(pytester).assert_outcomes(**outcome)


def test_command_line_beats_ini_and_bad_ini_is_a_usage_error(pytester):
    pytester.makeini("[pytest]\nstatesafe = enforce\n")
    pytester.makepyfile(SEED + "def test_raw(skill):\n    (skill / TRACKER).write_text('{}')\n")
    run(pytester, "--statesafe-mode=off").assert_outcomes(passed=1)
    pytester.makeini("[pytest]\nstatesafe = strict\n")
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ini option 'statesafe' must be one of enforce, warn, off*'strict'*"])
    pytester.makeini("[pytest]\n")
    pytester.makefile(".toml", statesafe="keep-backups = 0\n")
    broken = run(pytester, "--statesafe")
    assert broken.ret == pytest.ExitCode.USAGE_ERROR
    broken.stderr.fnmatch_lines(["*statesafe: *statesafe.toml: 'keep-backups' must be a whole number*"])


def test_marker_lets_a_test_break_the_rules_on_purpose(pytester):
    pytester.makepyfile(SEED + """
@pytest.fixture
def raw_fixture(tmp_path):
    (tmp_path / TRACKER).write_text("raw setup")
    yield
    os.remove(tmp_path / TRACKER)

@pytest.mark.statesafe_off
def test_on_purpose(skill, raw_fixture):
    (skill / TRACKER).write_text("{}")

def test_next_one_is_guarded_again(skill):
    (skill / TRACKER).write_text("{}")
""")
    result = run(pytester, "--statesafe", "--strict-markers")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*_ test_next_one_is_guarded_again _*", "*PolicyViolation*"])


def test_skill_dir_fixture_guards_without_the_option(pytester):
    pytester.makepyfile(f"""
import os, pathlib, statesafe
def test_raw(statesafe_skill_dir):
    assert pathlib.Path.cwd() == statesafe_skill_dir
    statesafe.write({TRACKER!r}, {{"posts": []}})
    open({TRACKER!r}, "w").close()

def test_compliant(statesafe_skill_dir):
    statesafe.write({TRACKER!r}, {{"posts": []}})
    statesafe.write({TRACKER!r}, {{"posts": [1]}})
    assert len(statesafe.backups({TRACKER!r})) == 1

def test_guard_is_off_again_after():
    from statesafe import guard
    assert guard.mode() is None
""")
    run(pytester).assert_outcomes(passed=2, failed=1)


def test_skill_dir_fixture_uses_the_policy_where_pytest_started(pytester):
    pytester.makefile(".toml", statesafe='destructive = ["state.json"]\n')
    pytester.makepyfile("""
def test_raw(statesafe_skill_dir):
    open("state.json", "w").close()

def test_not_in_this_policy(statesafe_skill_dir):
    open("threads_daily_tracker.json", "w").close()
""")
    result = run(pytester)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*PolicyViolation: open with mode 'w' on *skill/state.json*"])


@pytest.mark.parametrize("where, outcome", [
    ("session", {"passed": 1, "errors": 1}),
    ("module", {"passed": 1, "errors": 1}),
    ("class", {"passed": 1, "errors": 1}),
])
def test_fixtures_of_every_scope_are_guarded(pytester, where, outcome):
    pytester.makeconftest(f"""
import pytest, statesafe
@pytest.fixture(scope={where!r})
def shared(tmp_path_factory):
    d = tmp_path_factory.mktemp("shared")
    statesafe.write(d / {TRACKER!r}, {{}})
    yield d
    (d / {TRACKER!r}).write_text("clobbered in teardown")
""")
    pytester.makepyfile("""
class TestIt:
    def test_uses_it(self, shared):
        pass
""")
    result = run(pytester, "--statesafe")
    result.assert_outcomes(**outcome)
    result.stdout.fnmatch_lines(["*ERROR at teardown of TestIt.test_uses_it*",
                                 "*PolicyViolation: open with mode 'w' on *threads_daily_tracker.json*"])


def test_import_time_and_collection_writes_are_guarded(pytester):
    (pytester.path / TRACKER).write_text("user data")
    pytester.makeconftest(f"open({TRACKER!r}, 'w').write('clobbered at import')\n")
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = run(pytester, "--statesafe")
    assert result.ret != 0
    result.stderr.fnmatch_lines(["*PolicyViolation*threads_daily_tracker.json*"])
    assert (pytester.path / TRACKER).read_text() == "user data"


def test_atexit_and_swallowed_session_writes_fail_the_run(pytester):
    (pytester.path / TRACKER).write_text("user data")
    pytester.makeconftest(f"""
import atexit, os
def clobber():
    try:
        os.remove({TRACKER!r})
    except Exception:
        pass
atexit.register(clobber)

def pytest_sessionfinish(session):
    try:
        open({TRACKER!r}, "w")
    except Exception:
        pass
""")
    pytester.makepyfile("def test_fine():\n    pass\n")
    result = run(pytester, "--statesafe", str(pytester.path))
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*statesafe*", "*raw writes refused outside any test*"])
    result.stderr.fnmatch_lines(["statesafe: PolicyViolation: delete on *threads_daily_tracker.json*"])
    assert (pytester.path / TRACKER).read_text() == "user data"


def test_temporary_trees_are_cleaned_up_but_a_users_tracker_is_not(pytester, tmp_path):
    # The user's skill directory lies outside the temp dir the guarded run sees.
    user = tmp_path / "user_skill"
    user.mkdir()
    (user / TRACKER).write_text("user data")
    scratch = tmp_path / "tmpdir"
    scratch.mkdir()
    pytester.makepyfile(SEED + f"""
import subprocess, sys, tempfile

@pytest.fixture(scope="session")
def session_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("session")
    statesafe.write(d / TRACKER, {{}})
    return d

def test_tmp_trees_are_cleanup(skill, session_dir):
    subprocess.run([sys.executable, "-c", "import statesafe; statesafe.write('x/{TRACKER}', {{}})"],
                   cwd=skill, check=False)
    shutil.rmtree(skill)
    with tempfile.TemporaryDirectory() as d:
        statesafe.write(os.path.join(d, TRACKER), {{}})

def test_deleting_the_users_tracker_fails():
    os.remove({str(user / TRACKER)!r})

def test_removing_the_users_tree_fails():
    shutil.rmtree({str(user)!r})
""")
    os.environ["TMPDIR"] = str(scratch)  # runpytest_subprocess passes the environment on
    try:
        result = run(pytester, "--statesafe", f"--basetemp={scratch / 'basetemp'}")
    finally:
        del os.environ["TMPDIR"]
    result.assert_outcomes(passed=1, failed=2)
    assert (user / TRACKER).read_text() == "user data"


def test_scripts_the_tests_start_are_guarded_unless_the_test_is_marked(pytester):
    pytester.makepyfile(SEED + """
import subprocess, sys
RAW = "open('threads_daily_tracker.json', 'w').write('lost')"

def test_script_writes_raw(skill):
    done = subprocess.run([sys.executable, "-c", RAW], cwd=skill, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr

@pytest.mark.statesafe_off
def test_legacy_script_on_purpose(skill):
    subprocess.run([sys.executable, "-c", RAW], cwd=skill, check=True)
    assert (skill / TRACKER).read_text() == "lost"

def test_compliant_script(skill):
    code = "import statesafe; statesafe.write('threads_daily_tracker.json', {'posts': [2]})"
    subprocess.run([sys.executable, "-c", code], cwd=skill, check=True)
""")
    result = run(pytester, "--statesafe")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: *PolicyViolation: open with mode 'w' on *threads_daily_tracker.json*"])


def test_help_lists_the_option(pytester):
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*--statesafe *", "*--statesafe-mode=*", "*statesafe*guard mode for every run*"])
