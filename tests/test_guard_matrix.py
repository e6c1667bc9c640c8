"""The guard's matrix: every write technique, through every alias, for every policy class.

All cases run in one subprocess (the guard arms a process-wide audit hook), each in
a fresh copy of a skill directory. A refused case must raise PolicyViolation, warn,
and leave the whole directory byte-identical; an allowed one must pass untouched.
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

TARGETS = {
    "destructive": "threads_daily_tracker.json",
    "companion": "posts_by_date.md",
    "compiled": "compiled/account_wiki.md",
    "log": "threads_freshness.log",
    "backup": "threads_daily_tracker.json.bak-20260101T000000Z",
}
#: a policy file of each class that does not exist yet (new policy files are born through statesafe.write)
NEW = {
    "destructive": "style_guide.md",
    "companion": "comments.md",
    "compiled": "compiled/recent_window.md",
    "log": "threads_refresh.log",
    "backup": "threads_daily_tracker.json.bak-20260102T000000Z",
}

# (name, kind, setup run unguarded, operation run guarded). P is the target's path.
# kind: write (refused for all), append (passes for logs), onto (a fresh temp renamed onto it:
# passes for companion and compiled files), meta and read (pass for all).
TECHNIQUES = [
    ("open-w", "write", "", "open(P, 'w').close()"),
    ("open-a", "append", "", "open(P, 'a').close()"),
    ("open-r+", "write", "", "open(P, 'r+').close()"),
    ("open-a-trunc-via-w+", "write", "", "open(P, 'w+').close()"),
    ("io.open-wb", "write", "", "io.open(P, 'wb').close()"),
    ("codecs.open-w", "write", "", "codecs.open(P, 'w').close()"),
    ("os.open-wronly", "write", "", "os.close(os.open(P, os.O_WRONLY))"),
    ("os.open-rdwr-trunc", "write", "", "os.close(os.open(P, os.O_RDWR | os.O_TRUNC))"),
    ("os.open-append", "append", "", "os.close(os.open(P, os.O_WRONLY | os.O_APPEND))"),
    ("os.open-append-trunc", "write", "", "os.close(os.open(P, os.O_WRONLY | os.O_APPEND | os.O_TRUNC))"),
    ("os.fdopen-w", "write", "FD = os.open(P, os.O_RDWR)", "os.fdopen(FD, 'w', closefd=False).write('x')"),
    ("path.write_text", "write", "", "pathlib.Path(P).write_text('x')"),
    ("path.write_bytes", "write", "", "pathlib.Path(P).write_bytes(b'x')"),
    ("path.open-w", "write", "", "pathlib.Path(P).open('w').close()"),
    ("path.rename-away", "write", "", "pathlib.Path(P).rename('moved')"),
    ("path.replace-away", "write", "", "pathlib.Path(P).replace('moved')"),
    ("path.replace-onto", "onto", "open('fresh.tmp', 'w').write('new')", "pathlib.Path('fresh.tmp').replace(P)"),
    ("path.unlink", "write", "", "pathlib.Path(P).unlink()"),
    ("path.touch-existing", "meta", "", "pathlib.Path(P).touch()"),
    ("os.rename-away", "write", "", "os.rename(P, 'moved')"),
    ("os.replace-away", "write", "", "os.replace(P, 'moved')"),
    ("os.rename-onto", "onto", "open('fresh.tmp', 'w').write('new')", "os.rename('fresh.tmp', P)"),
    ("os.replace-onto", "onto", "open('fresh.tmp', 'w').write('new')", "os.replace('fresh.tmp', P)"),
    ("os.replace-onto-from-linked-temp", "write", "open('fresh.tmp', 'w').write('new'); os.link('fresh.tmp', 'keep')",
     "os.replace('fresh.tmp', P)"),
    ("os.replace-policy-file-onto", "write", "", "os.replace('other_policy', P)"),
    ("os.remove", "write", "", "os.remove(P)"),
    ("os.unlink", "write", "", "os.unlink(P)"),
    ("os.truncate", "write", "", "os.truncate(P, 0)"),
    ("os.ftruncate", "write", "FD = os.open(P, os.O_RDWR)", "os.ftruncate(FD, 0)"),
    ("shutil.copy-onto", "write", "", "shutil.copy('other.json', P)"),
    ("shutil.copyfile-onto", "write", "", "shutil.copyfile('other.json', P)"),
    ("shutil.copy2-onto", "write", "", "shutil.copy2('other.json', P)"),
    ("shutil.move-away", "write", "", "shutil.move(P, 'moved')"),
    ("shutil.move-onto", "onto", "open('fresh.tmp', 'w').write('new')", "shutil.move('fresh.tmp', P)"),
    ("shutil.rmtree-parent", "write", "", "shutil.rmtree(os.path.dirname(os.path.abspath(P)))"),
    ("fileinput-inplace", "write", "",
     "for line in fileinput.input(P, inplace=True): print(line, end='')"),
    ("os.utime", "meta", "", "os.utime(P)"),
    ("os.chmod", "meta", "", "os.chmod(P, 0o644)"),
    ("read-open", "read", "", "open(P).read()"),
    ("read-path", "read", "", "pathlib.Path(P).read_bytes()"),
    ("read-os.open", "read", "", "os.close(os.open(P, os.O_RDONLY))"),
    ("copy-from", "read", "", "shutil.copy(P, 'copied_out')"),
]

# Ways to name the target. (name, setup run unguarded, expression for P run guarded).
NAME_ALIASES = [
    ("absolute", "", "os.path.abspath(P)"),
    ("dotdot", "", "'sub/../' + P"),
    ("changed-cwd", "", "(os.chdir('sub'), '../' + P)[1]"),
    ("bytes", "", "os.fsencode(P)"),
    ("pathlib", "", "pathlib.Path(P)"),
    ("symlinked-dir", "os.symlink(os.path.abspath(os.path.dirname(P) or '.'), 'dirlink')",
     "os.path.join('dirlink', os.path.basename(P))"),
]
NAME_OPS = [("open-w", "open(Q, 'w').close()"), ("os.remove", "os.remove(Q)"),
            ("os.rename-away", "os.rename(Q, 'moved')"), ("os.truncate", "os.truncate(Q, 0)"),
            ("os.open-wronly", "os.close(os.open(Q, os.O_WRONLY))")]

# Other names for the same file: writes through them are writes to it.
LINK_ALIASES = [
    ("symlink", "os.symlink(os.path.abspath(P), 'alias_link')", "'alias_link'"),
    ("hardlink", "os.link(P, 'alias_hard')", "'alias_hard'"),
    ("hardlink-elsewhere", "os.mkdir('elsewhere'); os.link(P, 'elsewhere/alias_hard')", "'elsewhere/alias_hard'"),
    ("hardlink-made-while-guarded", "", "(os.link(P, 'later_hard'), 'later_hard')[1]"),
]
LINK_OPS = [("open-w", "open(Q, 'w').close()"), ("os.open-rdwr", "os.close(os.open(Q, os.O_RDWR))"),
            ("os.truncate", "os.truncate(Q, 0)"), ("shutil.copy-onto", "shutil.copy('other.json', Q)"),
            ("path.write_text", "pathlib.Path(Q).write_text('x')")]

DIR_FD_OPS = [
    ("os.open", "os.close(os.open(N, os.O_WRONLY, dir_fd=D))"),
    ("os.remove", "os.remove(N, dir_fd=D)"),
    ("os.rename-away", "os.rename(N, 'moved', src_dir_fd=D, dst_dir_fd=D)"),
    ("os.replace-onto", "os.replace(os.path.abspath('fresh.tmp'), N, dst_dir_fd=D)"),
]

CREATE_OPS = [
    ("open-w", "open(P, 'w').close()"),
    ("os.open-excl", "os.close(os.open(P, os.O_WRONLY | os.O_CREAT | os.O_EXCL))"),
    ("path.touch", "pathlib.Path(P).touch()"),
    ("os.link", "os.link('other.json', P)"),
    ("shutil.copy", "shutil.copy('other.json', P)"),
]


def _expect(cls: str, kind: str) -> str:
    if kind in ("meta", "read"):
        return "passed"
    if kind == "append":
        return "passed" if cls == "log" else "refused"
    if kind == "onto":
        return "passed" if cls in ("companion", "compiled") else "refused"
    return "refused"


def _cases() -> list[dict]:
    cases = []
    for cls, target in TARGETS.items():
        for name, kind, setup, op in TECHNIQUES:
            if name == "os.replace-policy-file-onto":  # the source is a policy file too: never fresh
                op = f"os.replace({TARGETS['companion'] if cls != 'companion' else TARGETS['destructive']!r}, P)"
            cases.append({"id": f"{cls}-{name}", "target": target, "setup": setup, "op": op,
                          "expect": _expect(cls, kind)})
        for alias, setup, expr in NAME_ALIASES:
            for name, op in NAME_OPS:
                cases.append({"id": f"{cls}-{alias}-{name}", "target": target, "setup": setup,
                              "op": f"Q = {expr}\n{op}", "expect": "refused"})
        for alias, setup, expr in LINK_ALIASES:
            for name, op in LINK_OPS:
                cases.append({"id": f"{cls}-{alias}-{name}", "target": target, "setup": setup,
                              "op": f"Q = {expr}\n{op}", "expect": "refused",
                              "made": ["later_hard"] if alias == "hardlink-made-while-guarded" else []})
        for name, op in DIR_FD_OPS:
            cases.append({"id": f"{cls}-dir_fd-{name}", "target": target,
                          "setup": "open('fresh.tmp', 'w').write('new')",
                          "op": f"D = os.open(os.path.dirname(os.path.abspath(P)), os.O_RDONLY)\n"
                                f"N = os.path.basename(P)\n{op}",
                          "expect": _expect(cls, "onto" if name.endswith("onto") else "write")})
        for name, op in CREATE_OPS:
            expect = "refused"
            cases.append({"id": f"{cls}-create-new-{name}", "target": NEW[cls], "setup": "", "op": op,
                          "expect": expect, "absent": True})
        cases.append({"id": f"{cls}-create-new-open-a", "target": NEW[cls], "setup": "",
                      "op": "open(P, 'a').close()", "expect": "passed" if cls == "log" else "refused",
                      "absent": True})
        # deleting another name for the file leaves the file as it was: not a violation
        cases.append({"id": f"{cls}-symlink-alias-removed", "target": target,
                      "setup": "os.symlink(os.path.abspath(P), 'alias_link')", "op": "os.remove('alias_link')",
                      "expect": "passed"})
    return cases


ALLOWED = [
    ("unrelated-open-w", "open('notes.json', 'w').write('{}')"),
    ("unrelated-path-write_text", "pathlib.Path('sub/out.txt').write_text('x')"),
    ("unrelated-overwrite-existing", "open('other.json', 'w').write('[1]')"),
    ("unrelated-os.open", "os.close(os.open('x.bin', os.O_WRONLY | os.O_CREAT | os.O_TRUNC))"),
    ("unrelated-replace", "open('a.tmp', 'w').write('1'); os.replace('a.tmp', 'other.json')"),
    ("unrelated-remove", "os.remove('other.json')"),
    ("unrelated-rmtree", "shutil.rmtree('sub')"),
    ("unrelated-similar-name", "open('threads_daily_tracker.json.txt', 'w').write('x'); "
                               "open('my_threads_daily_tracker.json', 'w').write('x')"),
    ("bak-not-a-statesafe-backup", "open('threads_daily_tracker.json.bak-old', 'w').write('x')"),
    ("tempfile", "import tempfile; fd, name = tempfile.mkstemp(dir='.'); os.close(fd); os.remove(name)"),
    ("log-append-open", "open('threads_freshness.log', 'a').write('{\"b\": 2}\\n')"),
    ("log-append-os.open", "fd = os.open('threads_freshness.log', os.O_WRONLY | os.O_APPEND); "
                           "os.write(fd, b'{}\\n'); os.close(fd)"),
    ("log-append-fdopen", "os.fdopen(os.open('threads_freshness.log', os.O_WRONLY | os.O_APPEND), 'a').close()"),
    ("statesafe.write-tracker", "for i in range(8): statesafe.write('threads_daily_tracker.json', {'posts': [i]})\n"
                                "assert len(statesafe.backups('threads_daily_tracker.json')) == 5"),
    ("statesafe.write-new-tracker", "statesafe.write('style_guide.md', '# style\\n')"),
    ("statesafe.write-companion", "statesafe.write('posts_by_date.md', '# new\\n')"),
    ("statesafe.write-compiled",
     "from statesafe.compiled import compiled_metadata, front_matter\n"
     "meta = compiled_metadata('threads_daily_tracker.json', confidence_level='low', coverage_notes='t')\n"
     "statesafe.write('compiled/account_wiki.md', front_matter(meta) + 'wiki\\n')"),
    ("statesafe.append", "statesafe.append('threads_freshness.log', {'b': 2})"),
    ("statesafe.transaction",
     "with statesafe.transaction() as tx:\n"
     "    tx.write('threads_daily_tracker.json', {'posts': [9]})\n"
     "    tx.write('posts_by_date.md', '# tx\\n')"),
    ("statesafe.restore", "statesafe.write('threads_daily_tracker.json', {'posts': [2]})\n"
                          "statesafe.restore('threads_daily_tracker.json', statesafe.backups('threads_daily_tracker.json')[0])"),
]

RUNNER = textwrap.dedent(r'''
    import codecs, fileinput, hashlib, io, json, os, pathlib, shutil, sys, warnings
    import statesafe
    from statesafe import guard
    from statesafe.errors import PolicyViolation, PolicyWarning

    FILES = {
        "threads_daily_tracker.json": b'{"posts": [1]}\n',
        "posts_by_date.md": b"# by date\n",
        "compiled/account_wiki.md": b"---\ngenerated_at: x\n---\nwiki\n",
        "threads_freshness.log": b'{"a": 1}\n',
        "threads_daily_tracker.json.bak-20260101T000000Z": b'{"old": 1}\n',
        "other.json": b"{}\n",
        "sub/keep.txt": b"keep\n",
    }

    def snapshot(root):
        seen = {}
        for d, dirs, files in os.walk(root):
            for n in files + [x for x in dirs if os.path.islink(os.path.join(d, x))]:
                full = os.path.join(d, n)
                rel = os.path.relpath(full, root)
                seen[rel] = "link" if os.path.islink(full) else hashlib.sha256(open(full, "rb").read()).hexdigest()
        return seen

    cases = json.load(open(sys.argv[1]))
    work = sys.argv[2]
    results = {}
    for i, case in enumerate(cases):
        root = os.path.join(work, str(i))
        for rel, data in FILES.items():
            os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
            with open(os.path.join(root, rel), "wb") as f:
                f.write(data)
        os.chdir(root)
        ns = {"os": os, "io": io, "codecs": codecs, "shutil": shutil, "pathlib": pathlib,
              "fileinput": fileinput, "statesafe": statesafe, "P": case["target"]}
        exec(case["setup"], ns)
        before = snapshot(root)
        guard.install()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                exec(case["op"], ns)
                outcome = "passed"
            except PolicyViolation as exc:
                outcome = "refused"
                message = str(exc)
            except Exception as exc:
                outcome = f"error: {type(exc).__name__}: {exc}"
            finally:
                guard.uninstall()
                fileinput.close()
        os.chdir(root)
        after = snapshot(root)
        for made in case.get("made", []):
            after.pop(made, None)
        results[case["id"]] = {
            "outcome": outcome,
            "unchanged": before == after,
            "warned": any(issubclass(w.category, PolicyWarning) for w in caught),
            "message": message if outcome == "refused" else None,
            "absent": not os.path.lexists(case["target"]),
        }
    print(json.dumps(results))
''')

CASES = _cases()


def run_cases(tmp_path_factory, cases) -> dict:
    base = tmp_path_factory.mktemp("matrix")
    (base / "cases.json").write_text(json.dumps(cases))
    (base / "runner.py").write_text(RUNNER)
    (base / "work").mkdir()
    (base / "tmp").mkdir()
    # The work tree is not in the temp dir the guard sees, so rmtree there is not cleanup.
    env = dict(os.environ, TMPDIR=str(base / "tmp"))
    proc = subprocess.run([sys.executable, str(base / "runner.py"), str(base / "cases.json"), str(base / "work")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    allowed = [{"id": f"allowed-{name}", "target": "other.json", "setup": "", "op": op, "expect": "passed"}
               for name, op in ALLOWED]
    return run_cases(tmp_path_factory, CASES + allowed)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_matrix(results, case):
    got = results[case["id"]]
    assert got["outcome"] == case["expect"], got
    if case["expect"] == "refused":
        assert got["unchanged"], "a refused operation changed the skill directory"
        assert got["warned"], "a refusal must warn before it raises"
        assert "use statesafe." in got["message"]
    if case.get("absent"):
        assert got["absent"] == (case["expect"] == "refused")


@pytest.mark.parametrize("name", [name for name, _ in ALLOWED])
def test_allowed_operations_pass(results, name):
    got = results[f"allowed-{name}"]
    assert got["outcome"] == "passed", got
    assert not got["warned"]


def test_refusal_names_file_class_attempt_and_compliant_call(results):
    message = results["destructive-open-w"]["message"]
    assert "threads_daily_tracker.json" in message and "destructive" in message
    assert "open with mode 'w'" in message and "statesafe.write(" in message
    assert "statesafe.append(" in results["log-os.truncate"]["message"]
    assert "companion" in results["companion-os.remove"]["message"]
    assert "backup" in results["backup-open-w"]["message"]
