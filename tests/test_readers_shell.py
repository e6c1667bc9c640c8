"""The Bash command reader behind the agent hook: which files a command line would change, and how.

The hook's decision table (tests/test_claude_hook.py) covers each form against each
policy class; these pin down the parser itself: tokens, operators, quoting,
heredocs, wrappers, working directory, and the python reader.
"""

from __future__ import annotations

import os

import pytest

from statesafe.effects import Kind
from statesafe.readers.shell import ShellSyntaxError, effects

WRITE, APPEND, DELETE, CREATE = Kind.WRITE, Kind.APPEND, Kind.DELETE, Kind.CREATE
MOVE, TRUNCATE, REMOVE_TREE = Kind.RENAME_FROM, Kind.TRUNCATE, Kind.REMOVE_TREE
COPY_ONTO, MOVE_ONTO, RENAME_ONTO = Kind.COPY_ONTO, Kind.MOVE_ONTO, Kind.RENAME_ONTO


@pytest.fixture
def here(tmp_path):
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "inner.txt").write_text("x")
    (tmp_path / "a.json").write_text("{}")
    (tmp_path / "b.json").write_text("{}")
    (tmp_path / "old.log").write_text("")
    return tmp_path


def seen(command: str, cwd) -> list[tuple[str, str]]:
    """(path, relative to cwd when inside it, kind) for each effect."""
    found = []
    for effect in effects(command, str(cwd)):
        rel = os.path.relpath(effect.target, cwd)
        found.append((effect.target if rel.startswith("..") else rel, effect.kind))
    return found


@pytest.mark.parametrize("command, expected", [
    # redirections, every spelling
    ("echo x > out", [("out", WRITE)]),
    ("echo x >out", [("out", WRITE)]),
    ("echo x>out", [("out", WRITE)]),
    ("echo x >| out", [("out", WRITE)]),
    ("echo x >> out", [("out", APPEND)]),
    ("echo x>>out", [("out", APPEND)]),
    ("ls nothing 2> out", [("out", WRITE)]),
    ("ls nothing 2>out", [("out", WRITE)]),
    ("ls nothing 2>> out", [("out", APPEND)]),
    ("make &> out", [("out", WRITE)]),
    ("make &>> out", [("out", APPEND)]),
    ("make >& out", [("out", WRITE)]),
    ("exec 3<> out", [("out", WRITE)]),
    ("> out", [("out", WRITE)]),
    ("echo x 2>&1 >&2 >&-", []),
    ("cat < out", []),
    ("diff <(sort a) <(sort b) > out", [("out", WRITE)]),
    ("echo 2 > out", [("out", WRITE)]),  # a spaced 2 is an argument; the redirect is still seen
    # quoting: operators and names inside quotes are text
    ("echo '>' out", []),
    ('echo "a > out"', []),
    ("echo \\> out", []),
    ("echo x > 'my file'", [("my file", WRITE)]),
    ('echo x > "out"', [("out", WRITE)]),
    # separators and grouping
    ("ls; echo x > a", [("a", WRITE)]),
    ("true && echo x > a || echo y > b", [("a", WRITE), ("b", WRITE)]),
    ("cat a | tee b | tee -a c", [("b", WRITE), ("c", APPEND)]),
    ("ls\necho x > a", [("a", WRITE)]),
    ("(cd /; echo x > a) &", [("/a", WRITE)]),
    ("{ echo x; } > a", [("a", WRITE)]),
    ("x=$(echo y > a)", [("a", WRITE)]),
    ("echo `rm a`", [("a", DELETE)]),
    ("if true; then rm a; fi", [("a", DELETE)]),
    ("for f in 1; do truncate -s0 a; done", [("a", TRUNCATE)]),
    ("ls # it's only a comment > a\nrm b", [("b", DELETE)]),
    ("echo a#b > c", [("c", WRITE)]),
    ("cp x \\\n  a", [("a", COPY_ONTO)]),
])
def test_operators_and_quoting(here, command, expected):
    assert seen(command, here) == expected


@pytest.mark.parametrize("command, expected", [
    ("tee a b", [("a", WRITE), ("b", WRITE)]),
    ("tee -a a", [("a", APPEND)]),
    ("tee --append a", [("a", APPEND)]),
    ("tee -ia a", [("a", APPEND)]),
    ("sed -i 's/x/y/' a", [("a", WRITE)]),
    ("sed -i.bak 's/x/y/' a b", [("a", WRITE), ("b", WRITE)]),
    ("sed --in-place=.orig -e 's/x/y/' a", [("a", WRITE)]),
    ("sed -Ei 's/x/y/' a", [("a", WRITE)]),
    ("sed -i -e s/x/y/ -e s/y/z/ a", [("a", WRITE)]),
    ("sed -n 's/x/y/p' a", []),
    ("sed -e 's/x/y/' -i a", [("a", WRITE)]),
    ("perl -pi -e 's/x/y/' a", [("a", WRITE)]),
    ("perl -ne 'print' a", []),
    ("cp a.json out", [("out", COPY_ONTO)]),
    ("cp -f a.json b.json dir", [("dir/a.json", COPY_ONTO), ("dir/b.json", COPY_ONTO)]),
    ("cp a.json dir/", [("dir/a.json", COPY_ONTO)]),
    ("cp -t dir a.json b.json", [("dir/a.json", COPY_ONTO), ("dir/b.json", COPY_ONTO)]),
    ("cp --target-directory=dir a.json", [("dir/a.json", COPY_ONTO)]),
    ("cp -T a.json dir", [("dir", COPY_ONTO)]),
    ("mv a.json out", [("out", MOVE_ONTO), ("a.json", MOVE)]),
    ("mv a.json dir", [("dir/a.json", MOVE_ONTO), ("a.json", MOVE)]),
    ("install -m 644 a.json out", [("out", COPY_ONTO)]),
    ("install -d dir/new", []),
    ("ln -sf a.json out", [("out", COPY_ONTO)]),
    ("rm a.json", [("a.json", DELETE)]),
    ("rm -f -- -weird", [("-weird", DELETE)]),
    ("unlink a.json", [("a.json", DELETE)]),
    ("shred -n 3 a.json", [("a.json", WRITE)]),
    ("truncate -s 0 a.json", [("a.json", TRUNCATE)]),
    ("truncate --size=0 a.json", [("a.json", TRUNCATE)]),
    ("touch a.json", []),  # an existing file's times only
    ("touch new.json", [("new.json", CREATE)]),
    ("dd if=/dev/zero of=a.json bs=1 count=1", [("a.json", WRITE)]),
    ("curl -o a.json https://example.org", [("a.json", WRITE)]),
    ("wget -O a.json https://example.org", [("a.json", WRITE)]),
    ("sponge a.json", [("a.json", WRITE)]),
    ("cat a.json; grep -n x a.json; jq . a.json; head a.json", []),
    ("cp a.json /tmp/copy", [("/tmp/copy", COPY_ONTO)]),
    ("git checkout -- a.json b.json", [("a.json", WRITE), ("b.json", WRITE)]),
    ("git checkout HEAD~1 -- a.json", [("a.json", WRITE)]),
    ("git checkout HEAD a.json", [("a.json", WRITE)]),
    ("git checkout a.json", [("a.json", WRITE)]),  # no such branch: git restores the file
    ("git checkout main", []),  # a branch switch: not read (documented)
    ("git checkout -b topic a.json", []),  # a new branch starting at a.json
    ("git -C dir checkout -- inner.txt", [("dir/inner.txt", WRITE)]),
    ("git restore a.json", [("a.json", WRITE)]),
    ("git restore --source=HEAD~2 --worktree a.json", [("a.json", WRITE)]),
    ("git restore --staged a.json", []),  # the index only
    ("git restore -SW a.json", [("a.json", WRITE)]),
    ("git rm a.json", [("a.json", DELETE)]),
    ("git rm --cached a.json", []),
    ("git mv a.json out", [("out", MOVE_ONTO), ("a.json", MOVE)]),
    ("rsync a.json out", [("out", COPY_ONTO)]),
    ("rsync -av --exclude '*.tmp' a.json b.json dir", [("dir/a.json", COPY_ONTO), ("dir/b.json", COPY_ONTO)]),
    ("rsync -a x/ dir", [("dir", COPY_ONTO)]),
    ("rsync -a --delete x/ dir/", [("dir", COPY_ONTO), ("dir", DELETE)]),
    ("rsync -e ssh a.json host:backup/", []),
    ("rsync --remove-source-files a.json out", [("out", COPY_ONTO), ("a.json", MOVE)]),
    ("patch a.json < fix.diff", [("a.json", WRITE)]),
    ("patch -i fix.diff a.json", [("a.json", WRITE)]),
    ("patch -d dir inner.txt fix.diff", [("dir/inner.txt", WRITE)]),
    ("patch -o out a.json fix.diff", [("out", WRITE)]),
    ("patch --dry-run a.json fix.diff", []),
    ("awk -i inplace '{print}' a.json b.json", [("a.json", WRITE), ("b.json", WRITE)]),
    ("gawk -v n=1 -iinplace -f prog.awk a.json", [("a.json", WRITE)]),
    ("awk --include=inplace '{print}' a.json n=1", [("a.json", WRITE)]),
    ("awk -F, '{print $1}' a.json > out", [("out", WRITE)]),
])
def test_commands(here, command, expected):
    assert seen(command, here) == expected


def test_wrappers_assignments_and_paths(here, monkeypatch):
    monkeypatch.setenv("SKILL", str(here / "dir"))
    monkeypatch.setenv("HOME", str(here))
    assert seen("FOO=1 sudo -u me env -i A=b nice -n 5 timeout 5 nohup tee a", here) == [("a", WRITE)]
    assert seen("uv run --with x python -c \"open('a', 'w')\"", here) == [("a", WRITE)]
    assert seen("command rm a; exec > b", here) == [("a", DELETE), ("b", WRITE)]
    assert seen("echo x > $SKILL/a", here) == [("dir/a", WRITE)]
    assert seen("echo x > ~/a", here) == [("a", WRITE)]
    assert seen("echo x > '~/a'", here) == [("~/a", WRITE)]  # quoted: no tilde expansion
    assert seen("echo x > $UNSET_VARIABLE_X/a", here) == [("$UNSET_VARIABLE_X/a", WRITE)]
    assert seen("/usr/bin/rm a; ./venv/bin/python3.11 -c \"open('b','w')\"", here) == [("a", DELETE), ("b", WRITE)]


def test_globs_expand_like_the_shell(here):
    assert sorted(seen("rm *.json", here)) == [("a.json", DELETE), ("b.json", DELETE)]
    assert seen("rm '*.json'", here) == [("*.json", DELETE)]  # quoted: literal
    assert seen("rm *.nothing", here) == [("*.nothing", DELETE)]  # no match: bash passes it as is


def test_directories_are_trees(here):
    tree = effects("rm -rf dir; mv dir /tmp/elsewhere; rm dir", str(here))
    assert [(os.path.basename(e.target), e.kind, e.tree) for e in tree] == [
        ("dir", REMOVE_TREE, True), ("elsewhere", MOVE_ONTO, False), ("dir", MOVE, True), ("dir", DELETE, False)]
    found = effects("find . -name '*.bak-*' -delete; find dir -exec rm {} \\;; find . -name x -print", str(here))
    assert [(e.target, e.kind, e.tree, e.name) for e in found] == [
        (str(here), DELETE, True, "*.bak-*"), (str(here / "dir"), DELETE, True, None)]


@pytest.mark.parametrize("patch_command", ["patch -p1 < fix.diff", "patch -p1 -i fix.diff", "patch < fix.diff",
                                           "cat fix.diff | patch -p1"])
def test_patch_reads_the_diff_for_the_files_it_edits(here, patch_command):
    (here / "fix.diff").write_text(
        "diff --git a/a.json b/a.json\n--- a/a.json\t2026-01-01\n+++ b/a.json\n@@ -1 +1 @@\n-{}\n+[]\n"
        "--- a/dir/inner.txt\n+++ b/dir/inner.txt\n@@ -1 +1 @@\n-x\n--- y\n"  # '--- y': a removed line
        "--- /dev/null\n+++ b/dir/new.txt\n@@ -0,0 +1 @@\n+z\n")
    expected = [("a.json", WRITE), ("dir/inner.txt", WRITE), ("dir/new.txt", WRITE)]
    if "-p1" not in patch_command:  # no -p: patch takes the base name
        expected = [("a.json", WRITE), ("inner.txt", WRITE), ("new.txt", WRITE)]
    if patch_command.startswith("cat"):  # a pipe: the diff is not read (documented)
        expected = []
    assert seen(patch_command, here) == expected


def test_patch_never_blocks_on_a_diff_that_is_not_a_file(here):
    os.mkfifo(here / "pipe")
    assert seen("patch -p1 < pipe; patch -i /dev/zero", here) == []


def test_cd_moves_the_working_directory(here):
    assert seen("cd dir && echo x > a", here) == [("dir/a", WRITE)]
    assert seen("cd dir; cd ..; rm a", here) == [("a", DELETE)]
    assert seen("pushd /etc && rm a", here) == [("/etc/a", DELETE)]


def test_heredocs(here):
    # the body is data: an apostrophe or a '>' in it does not confuse the parser
    assert seen("cat > a <<'EOF'\nit's > b\nEOF\nrm c", here) == [("a", WRITE), ("c", DELETE)]
    assert seen("cat <<-EOF > a\n\tx > y\n\tEOF\n", here) == [("a", WRITE)]
    assert seen("cat <<-'EOF' > a\n\tx > y\n\tEOF\nrm b", here) == [("a", WRITE), ("b", DELETE)]
    assert seen("tee a <<EOF\nx\nEOF", here) == [("a", WRITE)]
    # a python or shell body is code, and is read as such
    assert seen("python3 - <<'PY'\nfrom pathlib import Path\nPath('a').write_text('x')\nPY", here) == [("a", WRITE)]
    assert seen("python3 <<PY\nprint(open('a').read())\nPY", here) == []
    assert seen("bash <<'SH'\nsed -i s/x/y/ a\nSH\n", here) == [("a", WRITE)]
    assert seen("python3 <<< \"open('a', 'w')\"", here) == [("a", WRITE)]
    assert seen("cat > a <<EOF\nno end marker", here) == [("a", WRITE)]


def test_nested_shells_and_eval(here):
    assert seen("bash -c 'echo x > a'", here) == [("a", WRITE)]
    assert seen("bash -lc 'rm a'", here) == [("a", DELETE)]
    assert seen("sh -c \"bash -c 'sed -i s/x/y/ a'\"", here) == [("a", WRITE)]
    assert seen("eval 'rm a'", here) == [("a", DELETE)]
    assert seen("bash script.sh", here) == []  # a script file is not read (documented)
    with pytest.raises(ShellSyntaxError):
        effects("bash -c " + "'bash -c \"" * 12, str(here))


@pytest.mark.parametrize("code, expected", [
    ("open('a', 'w').write('x')", [("a", WRITE)]),
    ("open('a', mode='wb')", [("a", WRITE)]),
    ("open('a', 'r+')", [("a", WRITE)]),
    ("open('a', 'x')", [("a", WRITE)]),
    ("open('a', 'a').write('x')", [("a", APPEND)]),
    ("open('a')", []),
    ("open('a', 'rb')", []),
    ("import io; io.open('a', 'w')", [("a", WRITE)]),
    ("import json; json.dump({}, open('a', 'w'))", [("a", WRITE)]),
    ("import json; print(json.load(open('a')))", []),
    ("from pathlib import Path; Path('a').write_text('x')", [("a", WRITE)]),
    ("from pathlib import Path; (Path('dir') / 'a').write_bytes(b'')", [("dir/a", WRITE)]),
    ("import pathlib; pathlib.Path('a').open('w')", [("a", WRITE)]),
    ("import pathlib; pathlib.Path('a').open()", []),
    ("from pathlib import Path; Path('a').unlink()", [("a", DELETE)]),
    ("from pathlib import Path; Path('a').rename('b')", [("a", MOVE), ("b", RENAME_ONTO)]),
    ("import os; os.remove('a')", [("a", DELETE)]),
    ("import os; os.replace('t', 'a')", [("t", MOVE), ("a", RENAME_ONTO)]),
    ("import os; os.open('a', os.O_WRONLY | os.O_TRUNC)", [("a", WRITE)]),
    ("import os; os.open('a', os.O_WRONLY | os.O_APPEND)", [("a", APPEND)]),
    ("import os; os.open('a', os.O_RDONLY)", []),
    ("import os; os.truncate('a', 0)", [("a", TRUNCATE)]),
    ("import shutil; shutil.copy('x', 'a')", [("a", COPY_ONTO)]),
    ("import shutil; shutil.copy('a', '/tmp/x')", [("/tmp/x", COPY_ONTO)]),
    ("import shutil; shutil.rmtree('dir')", [("dir", REMOVE_TREE)]),
    ("from shutil import rmtree as wipe; wipe('dir')", [("dir", REMOVE_TREE)]),
    ("import logging; logging.basicConfig(filename='a', filemode='w')", [("a", WRITE)]),
    ("import logging; logging.basicConfig(filename='a')", [("a", APPEND)]),
    ("import tarfile; tarfile.open('a')", []),  # a module's open(), not a path's,
    ("import os; p = 'a'; open(p, 'w')", [("a", WRITE)]),
    ("import os; open(os.path.join('dir', 'a'), 'w')", [("dir/a", WRITE)]),
    ("import os; os.system('rm a')", [("a", DELETE)]),
    ("import subprocess; subprocess.run(['sed', '-i', 's/x/y/', 'a'])", [("a", WRITE)]),
    ("import fileinput\nfor line in fileinput.input('a', inplace=True): print(line)", [("a", WRITE)]),
    ("'a_b'.replace('_', ' ')", []),  # str.replace is not Path.replace
    ("this is not python", []),  # Python would not run it either
])
def test_python_c(here, code, expected):
    import shlex

    assert seen(f"python3 -c {shlex.quote(code)}", here) == expected


def test_python_computed_targets_make_every_literal_a_candidate(here):
    got = seen("python3 -c \"import sys, json; d = json.load(open('a.json')); open(sys.argv[1] + '', 'w')\" b.json",
               here)
    assert ("a.json", WRITE) in got and ("b.json", WRITE) in got  # literals and argv are candidates
    assert seen("python3 -c \"import sys; print(open(sys.argv[1]).read())\" a.json", here) == []
    assert seen("python3 -m json.tool a.json; python3 script.py a.json", here) == []  # not read (documented)


def test_python_flags_before_c(here):
    assert seen("python3 -I -u -c \"open('a', 'w')\"", here) == [("a", WRITE)]
    assert seen("python3 -uc \"open('a', 'w')\"", here) == [("a", WRITE)]
    assert seen("python3 -X dev -c \"open('a', 'w')\"", here) == [("a", WRITE)]


def test_unbalanced_quotes_raise(here):
    with pytest.raises(ShellSyntaxError, match="No closing quotation"):
        effects("echo 'unclosed > a", str(here))
    with pytest.raises(ShellSyntaxError):
        effects("echo x\\", str(here))
