"""The guard's life cycle, modes, error contract, sanctioned context and cleanup rule.

The audit hook is process-wide and cannot be removed, so every case runs in a
subprocess; each script checks several things and prints one JSON line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

# These tests break the rules on purpose, in subprocesses of their own: under
# `pytest --statesafe` they run unguarded.
pytestmark = pytest.mark.statesafe_off

TRACKER = "threads_daily_tracker.json"

PRELUDE = textwrap.dedent("""
    import json, os, pathlib, pickle, shutil, sys, threading, warnings
    import statesafe
    from statesafe import guard
    from statesafe.errors import PolicyViolation, PolicyWarning
    def attempt(fn):
        try:
            fn()
            return "passed"
        except PolicyViolation:
            return "refused"
""")


def run_script(cwd, body: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(body)], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=60)


def result_of(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.splitlines()[-1])


@pytest.fixture
def skill(tmp_path):
    directory = tmp_path / "skill"
    directory.mkdir()
    (directory / TRACKER).write_bytes(b'{"posts": [1]}\n')
    return directory


def test_install_uninstall_restore_only_what_is_ours(skill):
    got = result_of(run_script(skill, """
        real_open = os.open
        out = {"before": guard.mode()}
        guard.install()
        out["patched"] = os.open is not real_open and os.open in os.supports_dir_fd
        guard.install("warn"); guard.install()          # re-install: still one hook
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out["refused"] = attempt(lambda: open("threads_daily_tracker.json", "w"))
        out["warnings"] = len(caught)
        guard.uninstall()
        out["after"] = guard.mode()
        out["restored"] = os.open is real_open
        out["disarmed"] = attempt(lambda: open("threads_daily_tracker.json", "a").close())
        guard.install()
        theirs = lambda *a, **k: real_open(*a, **k)
        os.open = theirs                                 # someone else patches after us
        guard.uninstall()
        out["kept_theirs"] = os.open is theirs
        print(json.dumps(out))
    """))
    assert got == {"before": None, "patched": True, "refused": "refused", "warnings": 1, "after": None,
                   "restored": True, "disarmed": "passed", "kept_theirs": True}


def test_guarded_and_suspended_restore_the_previous_mode(skill):
    got = result_of(run_script(skill, """
        guard.install("warn")
        with guard.guarded():
            inner = guard.mode()
            refused = attempt(lambda: open("threads_daily_tracker.json", "w"))
            with guard.suspended():
                off = guard.mode()
                seeded = attempt(lambda: shutil.copy("threads_daily_tracker.json", "style_guide.md"))
            again = attempt(lambda: os.remove("style_guide.md"))
        print(json.dumps([inner, refused, off, seeded, again, guard.mode()]))
    """))
    assert got == ["enforce", "refused", None, "passed", "refused", "warn"]


def test_warn_mode_reports_and_lets_the_write_happen(skill):
    proc = run_script(skill, """
        guard.install("warn")
        open("threads_daily_tracker.json", "w").write("changed")
        print(json.dumps(guard.take_violations()))
    """)
    assert result_of(proc) == []
    assert (skill / TRACKER).read_text() == "changed"
    assert "PolicyWarning: PolicyViolation: open with mode 'w'" in proc.stderr
    assert "<string>:" in proc.stderr  # the warning points at the caller, not at the guard


def test_violation_is_not_an_oserror_warns_and_pickles(skill):
    got = result_of(run_script(skill, """
        guard.install()
        out = {}
        try:
            try:
                pathlib.Path("threads_daily_tracker.json").write_text("x")
            except OSError:
                out["swallowed"] = True
        except PolicyViolation as exc:
            copy = pickle.loads(pickle.dumps(exc))
            out.update(path=copy.path, file_class=copy.file_class, same=str(copy) == str(exc),
                       statesafe_error=isinstance(exc, statesafe.StatesafeError))
        out["recorded"] = len(guard.take_violations())
        print(json.dumps(out))
    """))
    assert got == {"path": str(skill / TRACKER), "file_class": "destructive", "same": True,
                   "statesafe_error": True, "recorded": 1}
    assert (skill / TRACKER).read_bytes() == b'{"posts": [1]}\n'


def test_warnings_as_errors_still_raise_the_violation_and_record_it(skill):
    got = result_of(run_script(skill, """
        warnings.simplefilter("error")
        guard.install()
        try:
            open("threads_daily_tracker.json", "w")
        except Exception as exc:
            print(json.dumps([type(exc).__name__, len(guard.take_violations())]))
    """))
    assert got == ["PolicyViolation", 1]


def test_other_threads_are_guarded_and_the_sanctioned_context_does_not_leak(skill):
    got = result_of(run_script(skill, """
        from statesafe.sanction import sanctioned
        guard.install()
        out = {}
        def in_thread():
            out["thread"] = attempt(lambda: open("threads_daily_tracker.json", "w"))
        with sanctioned():
            t = threading.Thread(target=in_thread); t.start(); t.join()
            out["sanctioned"] = attempt(lambda: open("threads_daily_tracker.json", "a").close())
        out["after"] = attempt(lambda: open("threads_daily_tracker.json", "a"))
        print(json.dumps(out))
    """))
    assert got == {"thread": "refused", "sanctioned": "passed", "after": "refused"}


def test_exit_on_violation_fails_a_process_that_swallowed_the_refusal(skill):
    proc = run_script(skill, """
        guard.install(exit_on_violation=True)
        try:
            os.remove("threads_daily_tracker.json")
        except Exception:
            pass
        print("carried on")
    """)
    assert proc.returncode == 1
    assert "carried on" in proc.stdout
    assert "PolicyViolation" in proc.stderr and str(skill / TRACKER) in proc.stderr
    assert (skill / TRACKER).exists()


def test_exit_on_violation_keeps_buffered_output_and_earlier_exit_handlers(skill):
    proc = run_script(skill, """
        import atexit
        atexit.register(lambda: pathlib.Path("earlier.txt").write_text("ran"))
        guard.install(exit_on_violation=True)
        atexit.register(lambda: pathlib.Path("later.txt").write_text("ran"))
        f = open("out.txt", "w")
        f.write("data")
        raw = open("raw.bin", "wb")
        raw.write(b"bytes")
        attempt(lambda: os.remove("threads_daily_tracker.json"))
        print("unflushed", end="")
    """)
    assert proc.returncode == 1
    assert "PolicyViolation" in proc.stderr and str(skill / TRACKER) in proc.stderr
    assert proc.stdout == "unflushed"
    assert (skill / "out.txt").read_text() == "data"
    assert (skill / "raw.bin").read_bytes() == b"bytes"
    assert (skill / "earlier.txt").read_text() == "ran"
    assert (skill / "later.txt").read_text() == "ran"


def test_auto_module_and_its_warn_switch(skill):
    script = "import statesafe.guard.auto\nopen('threads_daily_tracker.json', 'w').write('x')\n"
    enforce = subprocess.run([sys.executable, "-c", script], cwd=skill, capture_output=True, text=True)
    assert enforce.returncode == 1 and "PolicyViolation" in enforce.stderr
    assert (skill / TRACKER).read_bytes() == b'{"posts": [1]}\n'
    warn = subprocess.run([sys.executable, "-c", script], cwd=skill, capture_output=True, text=True,
                          env={**os.environ, "STATESAFE_GUARD": "warn"})
    assert warn.returncode == 0 and "PolicyWarning" in warn.stderr
    assert (skill / TRACKER).read_text() == "x"


def test_configured_policy_names_are_guarded_and_a_broken_config_fails_install(skill):
    (skill / "statesafe.toml").write_text('destructive = ["state.json"]\n')
    (skill / "state.json").write_text("{}")
    got = result_of(run_script(skill, """
        guard.install()
        print(json.dumps([attempt(lambda: open("state.json", "w")),
                          attempt(lambda: open("threads_daily_tracker.json", "w").close())]))
    """))
    assert got == ["refused", "passed"]  # the configured list replaces the default one
    (skill / "statesafe.toml").write_text("destructive = 3\n")
    proc = run_script(skill, "guard.install()")
    assert proc.returncode == 1 and "ConfigError" in proc.stderr and "statesafe.toml" in proc.stderr


# --- the cleanup rule ------------------------------------------------------------------------

CLEANUP = """
    guard.install()
    out = {}
    tmp = os.environ["TMPDIR"]
    def seeded(directory):
        os.makedirs(directory, exist_ok=True)
        statesafe.write(os.path.join(directory, "threads_daily_tracker.json"), {"posts": []})
        return directory
    # 1. a tree in the temp dir: removing it whole is cleanup
    out["rmtree_in_tmp"] = attempt(lambda: shutil.rmtree(seeded(os.path.join(tmp, "t1"))))
    # 2. ... but deleting the tracker on its own is not, even there
    t2 = seeded(os.path.join(tmp, "t2"))
    out["remove_in_tmp"] = attempt(lambda: os.remove(os.path.join(t2, "threads_daily_tracker.json")))
    # 3. TemporaryDirectory cleanup (tempfile's own rmtree)
    import tempfile
    def temporary():
        with tempfile.TemporaryDirectory() as d:
            seeded(d)
    out["temporary_directory"] = attempt(temporary)
    # 4. a directory this process made while guarded, outside the temp dir
    out["rmtree_made_here"] = attempt(lambda: shutil.rmtree(seeded(os.path.abspath("made/here"))))
    # 5. the user's skill directory (existed before): refused before anything is deleted
    out["rmtree_user_dir"] = attempt(lambda: shutil.rmtree("user"))
    out["user_intact"] = sorted(os.listdir("user"))
    # 6. makedirs(exist_ok=True) on it does not make it scratch
    os.makedirs("user", exist_ok=True)
    out["rmtree_after_makedirs"] = attempt(lambda: shutil.rmtree("user"))
    # 7. an rmtree name bound before the guard (like pytest's tmpdir module) follows the same rule
    out["prebound_rmtree_tmp"] = attempt(lambda: early_rmtree(seeded(os.path.join(tmp, "t3"))))
    out["prebound_rmtree_user"] = attempt(lambda: early_rmtree("user"))
    # 8. the cleanup permission ends with the rmtree call
    t4 = seeded(os.path.join(tmp, "t4"))
    shutil.rmtree(os.path.join(t4, "nothing"), ignore_errors=True)
    out["remove_after_rmtree"] = attempt(lambda: os.remove(os.path.join(t4, "threads_daily_tracker.json")))
    print(json.dumps(out))
"""


def test_cleanup_rule_whole_temp_trees_pass_user_trackers_do_not(tmp_path):
    work, tmp = tmp_path / "work", tmp_path / "tmp"
    (work / "user").mkdir(parents=True)
    tmp.mkdir()
    (work / "user" / TRACKER).write_text('{"posts": [1]}')
    (work / "user" / "notes.txt").write_text("n")
    body = "from shutil import rmtree as early_rmtree\n" + textwrap.dedent(CLEANUP)
    got = result_of(run_script(work, body, env={"TMPDIR": str(tmp)}))
    assert got == {
        "rmtree_in_tmp": "passed", "remove_in_tmp": "refused", "temporary_directory": "passed",
        "rmtree_made_here": "passed", "rmtree_user_dir": "refused", "user_intact": ["notes.txt", TRACKER],
        "rmtree_after_makedirs": "refused", "prebound_rmtree_tmp": "passed", "prebound_rmtree_user": "refused",
        "remove_after_rmtree": "refused",
    }
    assert not (tmp / "t1").exists() and not (work / "made" / "here").exists()


def test_renaming_a_directory_that_holds_policy_files_is_refused(tmp_path):
    work, tmp = tmp_path / "work", tmp_path / "tmp"
    (work / "skill" / "nested").mkdir(parents=True)
    (work / "plain").mkdir()
    (work / "skill" / "nested" / TRACKER).write_text('{"posts": [1]}')
    (work / "plain" / "notes.txt").write_text("n")
    (work / "file.txt").write_text("f")
    tmp.mkdir()
    got = result_of(run_script(work, """
        guard.install(policy="skill")
        out = {"os_rename": attempt(lambda: os.rename("skill", "skill_moved")),
               "shutil_move": attempt(lambda: shutil.move("skill", "skill2")),
               "plain_dir": attempt(lambda: os.rename("plain", "plain2")),
               "plain_file": attempt(lambda: os.rename("file.txt", "file2.txt"))}
        os.makedirs("made/here")
        with guard.suspended():
            shutil.copy("skill/nested/threads_daily_tracker.json", "made/here/threads_daily_tracker.json")
        out["made_check"] = attempt(lambda: os.rename("made/here/threads_daily_tracker.json", "made/x"))
        out["made_here"] = attempt(lambda: os.rename("made", "made2"))
        out["left"] = sorted(os.listdir("."))
        print(json.dumps(out))
    """, env={"TMPDIR": str(tmp)}))
    assert got == {"os_rename": "refused", "shutil_move": "refused", "plain_dir": "passed",
                   "plain_file": "passed", "made_check": "refused", "made_here": "passed",
                   "left": ["file2.txt", "made2", "plain2", "skill"]}
    assert (work / "skill" / "nested" / TRACKER).read_text() == '{"posts": [1]}'


# --- going further: hand-rolled helpers that back up first ----------------------------------

def test_a_hand_rolled_write_that_backs_up_first_may_replace_the_file(skill):
    got = result_of(run_script(skill, """
        T = "threads_daily_tracker.json"
        def fresh(text):
            with open("draft.tmp", "w") as f:
                f.write(text)
            return "draft.tmp"
        def helper(backup_with, stamp, text):
            backup_with(T, f"{T}.bak-{stamp}")
            os.replace(fresh(text), T)
        guard.install()
        out = {
            "copy2_then_replace": attempt(lambda: helper(shutil.copy2, "20260101T000001Z", "v2")),
            "link_then_replace": attempt(lambda: helper(os.link, "20260101T000002Z", "v3")),
            "second_replace_needs_a_new_backup": attempt(lambda: os.replace(fresh("v4"), T)),
            "open_w_after_backup": attempt(lambda: (shutil.copy2(T, T + ".bak-20260101T000003Z"),
                                                    open(T, "w"))),
        }
        shutil.copy(T, T + ".bak-20260101T000004Z")
        statesafe.write(T, {"posts": ["changed since the backup"]})
        out["changed_since_backup"] = attempt(lambda: os.replace(fresh("v5"), T))
        out["backup_of_another_file"] = attempt(lambda: shutil.copy("other.txt", T + ".bak-20260101T000005Z"))
        out["onto_an_existing_backup"] = attempt(lambda: shutil.copy(T, T + ".bak-20260101T000001Z"))
        out["content"] = open(T).read()
        out["first_backup"] = open(T + ".bak-20260101T000001Z").read()
        print(json.dumps(out))
    """))
    assert got == {
        "copy2_then_replace": "passed", "link_then_replace": "passed",
        "second_replace_needs_a_new_backup": "refused", "open_w_after_backup": "refused",
        "changed_since_backup": "refused", "backup_of_another_file": "refused",
        "onto_an_existing_backup": "refused",
        "content": '{\n  "posts": [\n    "changed since the backup"\n  ]\n}\n',
        "first_backup": '{"posts": [1]}\n',
    }


def test_pruning_only_the_backups_beyond_the_keep_count(skill):
    stamps = [f"20260101T00000{i}Z" for i in range(7)]
    for stamp in stamps:
        (skill / f"{TRACKER}.bak-{stamp}").write_text(stamp)
    (skill / f"{TRACKER}.bak-{stamps[0]}-corrupted").write_text("snapshot")
    got = result_of(run_script(skill, f"""
        T = "threads_daily_tracker.json"
        stamps = {stamps!r}
        guard.install()
        print(json.dumps([attempt(lambda: os.remove(f"{{T}}.bak-{{stamps[0]}}")),
                          attempt(lambda: os.remove(f"{{T}}.bak-{{stamps[1]}}")),
                          attempt(lambda: os.remove(f"{{T}}.bak-{{stamps[2]}}")),
                          attempt(lambda: os.remove(f"{{T}}.bak-{{stamps[6]}}")),
                          attempt(lambda: os.remove(f"{{T}}.bak-{{stamps[0]}}-corrupted"))]))
    """))
    assert got == ["passed", "passed", "refused", "refused", "refused"]


def test_beyond_keep_is_one_rule_per_file_with_snapshots_counted_apart():
    from statesafe.names import beyond_keep
    names = [f"t.json.bak-2026010{i}T000000Z" for i in range(1, 5)] + [
        "t.json.bak-20260104T000000Z-1", "t.json.bak-20260101T000000Z-corrupted",
        "t.json.bak-20260102T000000Z-corrupted", "u.json.bak-20260101T000000Z", "t.json", "x.bak-old"]
    assert beyond_keep(names, 2) == {"t.json.bak-20260101T000000Z", "t.json.bak-20260102T000000Z",
                                     "t.json.bak-20260103T000000Z"}
    assert beyond_keep(names, 1) >= {"t.json.bak-20260101T000000Z-corrupted", "t.json.bak-20260104T000000Z"}
    assert "u.json.bak-20260101T000000Z" not in beyond_keep(names, 1)
    assert beyond_keep(names, 0) == {n for n in names if ".bak-2026" in n}
