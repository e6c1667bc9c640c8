"""``statesafe audit`` / ``statesafe rule``: discovery, prefilter, cache, pool, exit codes, --fix."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from statesafe.auditor import cache, files, runner
from statesafe.cli import main
from statesafe.policy import default_policy, load_policy

REPO = Path(__file__).resolve().parents[1]
LEGACY = REPO / "examples" / "legacy-skill"


def write(root: Path, rel: str, text: str = "") -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STATESAFE_CACHE_DIR", str(tmp_path / ".cache"))
    return tmp_path


def audit(*args):
    return CliRunner().invoke(main, ["audit", *args])


def rows(result):
    return json.loads(result.stdout)


# --- discovery -------------------------------------------------------------------------------------

def test_discovery_honours_gitignore_and_skips_tool_folders(here):
    (here / ".git").mkdir()
    write(here, ".gitignore", """\
        # generated
        out/
        /top_only.py
        *.gen.py
        !keep.gen.py
        docs/**/draft_*.py
    """)
    for rel in ["a.py", "top_only.py", "sub/top_only.py", "x.gen.py", "keep.gen.py", "out/o.py",
                "docs/a/b/draft_1.py", "docs/final.py", ".claude/skills/s/SKILL.md", "skill/README.md",
                "notes.txt", "venv/lib/v.py", "myenv/lib/e.py", "lib/site-packages/p.py",
                "pkg/__pycache__/c.py", "build/b.py", ".statesafe_cache/x.py", "x.egg-info/e.py",
                "pkg/inner/.gitignore", "pkg/inner/ok.py", "pkg/inner/local.py"]:
        write(here, rel)
    write(here, "myenv/pyvenv.cfg")  # a virtualenv under any name
    (here / "pkg/inner/.gitignore").write_text("local.py\n")
    found, explicit, _ = files.discover(["."])
    assert explicit == []
    assert found == [".claude/skills/s/SKILL.md", "a.py", "docs/final.py", "keep.gen.py", "pkg/inner/ok.py",
                     "sub/top_only.py"]


def test_gitignore_above_the_walk_up_to_the_repository(here):
    (here / ".git").mkdir()
    write(here, ".gitignore", "generated_*.py\n")
    write(here, "proj/generated_a.py")
    write(here, "proj/real.py")
    assert files.discover(["proj"])[0] == ["proj/real.py"]
    (here / "proj" / ".git").mkdir()  # proj is a repository of its own: the outer .gitignore stops applying
    assert files.discover(["proj"])[0] == ["proj/generated_a.py", "proj/real.py"]


def test_exclude_globs_and_explicit_files(here):
    for rel in ["src/a.py", "src/gen/g.py", "tests/t.py", "build/b.py"]:
        write(here, rel)
    assert files.discover(["."], excludes=["tests", "src/gen"])[0] == ["src/a.py"]
    assert files.discover(["."], excludes=["*.py"])[0] == []
    # a file named explicitly is checked whatever the filters say (pre-commit passes shebang scripts too)
    write(here, "build/tool", "#!/usr/bin/env python3\nprint('x')\n")
    write(here, "README.md", "# a skill\n")
    write(here, "run.sh", "#!/bin/sh\necho x\n")
    found, explicit, skipped = files.discover(["build/b.py", "build/tool", str(here / "src/a.py"), "README.md",
                                               "run.sh"], excludes=["*"])
    assert found == explicit == ["build/b.py", "build/tool", "src/a.py"]
    assert skipped == ["README.md", "run.sh"]  # neither Python nor a manifest: never parsed as Python


# --- the prefilter ---------------------------------------------------------------------------------

def test_seed_needles_cover_names_stems_and_globs():
    wanted = runner.needles(default_policy())
    assert runner.mentions_policy(b'open("threads_daily_tracker.json", "w")', wanted)
    assert runner.mentions_policy(b'Path("style_guide").with_suffix(".md")', wanted)
    assert runner.mentions_policy(b'name = "comments"\nopen(name + ".md", "w")', wanted)
    assert not runner.mentions_policy(b'open("style_guide.txt", "w")', wanted)  # the stem alone is not enough
    assert not runner.mentions_policy(b"comments = parse(source)", wanted)
    assert not runner.mentions_policy(b'open("report.json", "w")', wanted)
    assert runner.mentions_policy(b'LOG = "threads_refresh"\nEXT = ".log"', wanted)
    globbed = default_policy().__class__(destructive=("state/*.tracker.json",), logs=(), companion=(),
                                         compiled=(), keep_backups=5, compiled_fields=(), tracker="x")
    assert runner.mentions_policy(b'name + ".tracker.json"', runner.needles(globbed))
    anything = globbed.__class__(destructive=("*",), logs=(), companion=(), compiled=(), keep_backups=5,
                                 compiled_fields=(), tracker="x")
    assert runner.mentions_policy(b"x = 1", runner.needles(anything))


def test_imports_read_from_bytes():
    source = textwrap.dedent("""\
        import os, json as j
        from . import storage
        from ..config import TRACKER, (
        from .paths import (
            LOG,
            data_dir as d,
        )
        if True:
            from helpers.io import save  # late import
        text = "import not_a_module"
    """).encode()
    names = set(runner.imported_names(source))
    assert {(0, "os"), (0, "json"), (1, "storage"), (2, "config"), (2, "config.TRACKER"), (1, "paths"),
            (1, "paths.LOG"), (1, "paths.data_dir"), (0, "helpers.io"), (0, "helpers.io.save")} <= names


def test_closure_goes_up_then_down():
    imports = {
        "config.py": [],                     # seed: names the tracker
        "cli.py": ["config.py", "helpers.py"],  # imports the seed, passes the name to a helper
        "helpers.py": ["lowlevel.py"],
        "lowlevel.py": [],
        "app.py": ["cli.py"],                # imports an importer of the seed
        "other.py": ["helpers.py"],          # imports a helper, never the name: cannot matter
        "island.py": [],
    }
    assert runner.closure(["config.py"], imports) == {"config.py", "cli.py", "helpers.py", "lowlevel.py", "app.py"}


def legacy_tree(root: Path) -> Path:
    """The legacy example skill plus modules that cannot matter (and would cost parsing)."""
    tree = root / "tree"
    shutil.copytree(LEGACY, tree)
    for n in range(30):
        write(tree, f"noise/mod{n}.py", f"""\
            import os
            from . import mod{(n + 1) % 30}

            def save(path, text):
                with open(path, "w") as f:
                    f.write(text)
        """)
    return tree


def test_prefilter_agrees_with_a_full_parse(here):
    tree = legacy_tree(here)
    policy = default_policy()
    fast = runner.audit(["tree"], policy, use_cache=False)
    full = runner.audit(["tree"], policy, use_cache=False, prefilter=False)
    assert fast.findings == full.findings
    assert {f.code[:3] for f in fast.findings} >= {"FS1", "FS2", "FS3", "FS4", "FS5", "FS6"}
    assert fast.analysed < full.analysed
    # the helper module names no policy file; it is analysed because refresh.py imports it
    assert any(f.path == "tree/scripts/storage.py" for f in fast.findings)
    assert b"threads_daily_tracker" not in (tree / "scripts/storage.py").read_bytes()


@pytest.mark.parametrize("tree", [LEGACY, REPO / "tests" / "fixtures" / "audit_tree"], ids=["legacy", "audit_tree"])
def test_prefilter_agrees_on_the_example_trees(here, tree):
    shutil.copytree(tree, here / "tree")
    policy = load_policy(here / "tree")
    fast = runner.audit(["tree"], policy, use_cache=False)
    full = runner.audit(["tree"], policy, use_cache=False, prefilter=False)
    assert fast.findings and fast.findings == full.findings


CLI_ARGS = """\
    import argparse

    def parser():
        p = argparse.ArgumentParser()
        p.add_argument("--tracker", default="threads_daily_tracker.json")
        return p
"""
SAVE_ARGS = """\
    def save(args, text):
        with open(args.tracker, "w", encoding="utf-8") as f:
            f.write(text)
"""


def test_args_resolve_only_through_a_parser_the_module_can_be_run_with(here):
    """``args.tracker`` in a helper means the option of a parser some program loads with the helper;
    a parser of the same name elsewhere in the tree says nothing about it (and the prefilter would
    not see it: results must not depend on the prefilter)."""
    write(here, "tree/island/cli_args.py", CLI_ARGS)
    write(here, "tree/other/helpers.py", SAVE_ARGS)  # no import path to cli_args
    write(here, "tree/skill/cli_args.py", CLI_ARGS)
    write(here, "tree/skill/helpers.py", SAVE_ARGS)
    write(here, "tree/skill/main.py", """\
        from cli_args import parser
        from helpers import save

        save(parser().parse_args(), "{}")
    """)
    policy = default_policy()
    fast = runner.audit(["tree"], policy, use_cache=False)
    full = runner.audit(["tree"], policy, use_cache=False, prefilter=False)
    assert fast.findings == full.findings
    assert [(f.path, f.code) for f in full.findings] == [("tree/skill/helpers.py", "FS101")]


def rule_cases() -> list:
    from statesafe.auditor.engine import RULES

    return [pytest.param(case, id=f"{code}-{kind}-{n}")
            for code, rule in sorted(RULES.items())
            for kind, cases in (("valid", rule.VALID), ("invalid", rule.INVALID))
            for n, case in enumerate(cases)
            if not case.strict and not code.startswith("FS9")]  # FS9xx: see the test below


@pytest.mark.parametrize("case", rule_cases())
def test_prefilter_agrees_on_every_rule_case(here, case):
    """Each case's tree, cut down by the prefilter, gives what parsing all of it gives."""
    for rel, text in {case.path: case.code, **case.files}.items():
        path = here / "tree" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
    policy = default_policy()
    fast = runner.audit(["tree"], policy, use_cache=False)
    assert fast.findings == runner.audit(["tree"], policy, use_cache=False, prefilter=False).findings


def test_unanalyzable_files_are_reported_when_they_could_matter(here):
    """FS9xx means: a file that needed analysis did not get it. A broken file that names no policy
    file and is not imported alongside one cannot hold a finding, so it is not parsed at all."""
    write(here, "tree/broken_tracker.py", 'TRACKER = "threads_daily_tracker.json"\ndef save(path:\n')
    write(here, "tree/broken_other.py", "def f(:\n")
    (here / "tree/latin.py").write_bytes(b"# style_guide.md\nname = 'caf\xe9'\n")
    found = runner.audit(["tree"], default_policy(), use_cache=False).findings
    assert sorted((f.path, f.code) for f in found) == [("tree/broken_tracker.py", "FS901"),
                                                       ("tree/latin.py", "FS902")]
    assert found[0].line == 2


def test_pool_gives_the_same_answer(here, monkeypatch):
    legacy_tree(here)
    policy = default_policy()
    serial = runner.audit(["tree"], policy, use_cache=False, jobs=1, prefilter=False)
    monkeypatch.setattr(runner, "POOL_MIN_SECONDS", 0)
    pooled = runner.audit(["tree"], policy, use_cache=False, jobs=2, prefilter=False)
    assert pooled.findings == serial.findings
    assert pooled.parsed == serial.parsed > 30


# --- the cache -------------------------------------------------------------------------------------

def test_warm_run_parses_nothing_and_edits_reparse_only_the_edited(here, monkeypatch):
    monkeypatch.setattr("statesafe.auditor.cache.RACY_NS", 0)  # files written just now count as settled
    legacy_tree(here)
    policy = default_policy()
    cold = runner.audit(["tree"], policy)
    assert cold.parsed == cold.analysed > 0
    warm = runner.audit(["tree"], policy)
    assert (warm.parsed, warm.findings) == (0, cold.findings)
    target = here / "tree/scripts/storage.py"
    target.write_bytes(target.read_bytes())  # same content, new stat: hashed again, not parsed
    assert runner.audit(["tree"], policy).parsed == 0
    target.write_text(target.read_text() + "\n# edited\n")
    assert runner.audit(["tree"], policy).parsed == 1
    cache_dir = here / ".cache"
    assert (cache_dir / ".gitignore").read_text().splitlines()[-1] == "*"
    assert (cache_dir / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")


def test_cache_key_follows_the_policy(here, monkeypatch):
    monkeypatch.setattr("statesafe.auditor.cache.RACY_NS", 0)
    write(here, "a.py", 'open("notes.txt", "w").write("x")\n')
    policy = default_policy()
    assert runner.audit(["a.py"], policy).findings == []
    other = policy.__class__(destructive=("notes.txt",), logs=(), companion=(), compiled=(), keep_backups=5,
                             compiled_fields=(), tracker="notes.txt")
    changed = runner.audit(["a.py"], other)
    assert changed.parsed == 1 and [f.target for f in changed.findings if f.code.startswith("FS1")]
    assert len([d for d in os.listdir(here / ".cache") if d.startswith(f"{cache.FORMAT}-")]) == 1


def test_a_cache_of_another_format_is_replaced_not_read(here, monkeypatch):
    """Summaries pickled by an older auditor (string-tagged tuples for values) are never unpickled
    as today's: the format is part of the folder name, and other formats' folders are removed."""
    write(here, "a.py", 'open("style_guide.md", "w")\n')
    old = here / ".cache" / "v1-0123456789abcdef0123"
    (old / "summaries").mkdir(parents=True)
    (old / "index.pickle").write_bytes(b"not a pickle of today's types")
    report = runner.audit(["a.py"], default_policy())
    assert report.parsed == 1 and [f.code for f in report.findings] == ["FS101"]
    assert not old.exists()
    assert [d for d in os.listdir(here / ".cache") if d.startswith("v")] == [
        d for d in os.listdir(here / ".cache") if d.startswith(f"{cache.FORMAT}-")]


def test_racy_files_are_rehashed_not_trusted(here):
    write(here, "a.py", 'x = 1\n')
    policy = default_policy()
    runner.audit(["a.py"], policy)
    (here / "a.py").write_text('x = 2\n')  # same size, same clock tick as the entry above
    os.utime(here / "a.py", ns=(os.stat(here / "a.py").st_atime_ns, os.stat(here / "a.py").st_mtime_ns))
    assert runner.audit(["a.py"], policy).parsed == 0  # re-read and re-hashed (no policy name: nothing to parse)
    write(here, "a.py", 'open("style_guide.md", "w")\n')
    assert runner.audit(["a.py"], policy).findings


# --- the command -----------------------------------------------------------------------------------

def test_exit_codes(here):
    write(here, "clean.py", "print('hello')\n")
    assert audit("clean.py").exit_code == 0
    write(here, "raw.py", 'open("threads_daily_tracker.json", "w").write("{}")\n')
    result = audit("raw.py")
    assert result.exit_code == 1
    assert result.stdout.startswith("raw.py:1:1: FS1")
    assert audit("missing.py").exit_code == 2
    assert audit("--format", "xml").exit_code == 2
    write(here, "statesafe.toml", "destructive = 'not a list'\n")
    load_policy.cache_clear()  # policies are cached per directory for a process's life
    broken = audit("clean.py")
    assert broken.exit_code == 2
    assert broken.stderr.startswith("statesafe: error: ") and "statesafe.toml" in broken.stderr


def test_an_internal_error_is_exit_2_not_a_finding(here, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("engine bug")

    monkeypatch.setattr(runner, "audit", broken)
    result = audit(".")
    assert result.exit_code == 2
    assert "RuntimeError: engine bug" in result.stderr
    assert "statesafe: error: internal error in the auditor" in result.stderr


def test_unreadable_file_is_an_error_and_the_run_goes_on(here, monkeypatch):
    write(here, "a.py", 'open("threads_daily_tracker.json", "w")\n')
    write(here, "b.py", "x = 1\n")
    real_open = open

    def failing_open(file, *args, **kwargs):
        if str(file).endswith("b.py"):
            raise PermissionError(13, "Permission denied")
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", failing_open)
    result = audit("--no-cache", "--format", "json", ".")
    assert result.exit_code == 1 | 2
    assert "statesafe: error: b.py: cannot read: Permission denied" in result.stderr
    assert {row["path"] for row in rows(result)} == {"a.py"}


def test_named_files_are_resolved_with_their_neighbours(here):
    write(here, "skill/helpers.py", """\
        import json

        def save_tracker(path, data):
            with open(path, "w") as f:
                json.dump(data, f)
    """)
    write(here, "skill/run.py", """\
        from helpers import save_tracker

        save_tracker("threads_daily_tracker.json", {})
    """)
    write(here, "skill/other.py", 'open("style_guide.md", "w")\n')
    result = audit("--format", "json", "skill/helpers.py")  # what pre-commit passes when only it changed
    assert result.exit_code == 1
    found = rows(result)
    assert {row["path"] for row in found} == {"skill/helpers.py"}
    assert any(row["via"] and row["via"].startswith("skill/run.py:") for row in found)


def test_fix_saves_atomically_and_reaudits(here):
    script = write(here, "save.py", """\
        import json

        def save(data):
            with open("threads_daily_tracker.json", "w") as f:
                json.dump(data, f)

        def log(line):
            with open("threads_refresh.log", "w") as f:
                f.write(line)
    """)
    before = script.read_bytes()
    findings = rows(audit("--format", "json", "save.py"))
    assert [row["code"] for row in findings if row["fix"]]  # the tracker write at least has a safe fix
    preview = audit("--fix", "--diff", "save.py")
    assert preview.exit_code == 1
    assert "--- a/save.py" in preview.stdout and "+++ b/save.py" in preview.stdout
    assert script.read_bytes() == before
    inode = script.stat().st_ino
    fixed = audit("--fix", "--format", "json", "save.py")
    assert script.read_bytes() != before
    assert script.stat().st_ino != inode  # replaced by rename, never rewritten in place
    assert "fixed save.py" in fixed.stderr
    remaining = rows(fixed)
    assert fixed.exit_code == (1 if remaining else 0)
    assert all(not row["fix"] for row in remaining)
    subprocess.run([sys.executable, "-c", "import ast, sys; ast.parse(open('save.py').read())"], check=True)
    # a script is not a policy file: saved atomically, with nothing left beside it (no lock, no temp)
    assert sorted(p.name for p in here.iterdir() if p.name != ".cache") == ["save.py"]


def test_rule_prints_docs(here):
    from statesafe.auditor.formats import rule_classes

    rules = rule_classes()
    code = sorted(rules)[0]
    result = CliRunner().invoke(main, ["rule", code.lower()])
    assert result.exit_code == 0
    assert rules[code].NAME in result.stdout and "## What it does" in result.stdout
    listing = CliRunner().invoke(main, ["rule"])
    assert [line.split()[0] for line in listing.stdout.splitlines()] == sorted(rules)
    unknown = CliRunner().invoke(main, ["rule", "FS000"])
    assert unknown.exit_code == 2 and "unknown rule 'FS000'" in unknown.stderr


def probe_libcst(*paths: str) -> str:
    """Exit status of an audit in a fresh interpreter, and whether it loaded libcst."""
    probe = ("import sys; from statesafe.cli import main\n"
             f"try:\n    main(['audit', *{list(paths)!r}])\n"
             "except SystemExit as e:\n    print(e.code, 'libcst' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return out.stdout.splitlines()[-1]


def test_libcst_is_loaded_only_when_something_must_be_parsed(here):
    for n in range(10):
        write(here, f"f{n}.py", f"import os\nprint(os.getcwd(), {n})\n")
    files_ = [f"f{n}.py" for n in range(10)]
    assert probe_libcst(*files_) == "0 False"  # nothing names a policy file: nothing to parse
    write(here, "f0.py", 'open("threads_daily_tracker.json", "w").write("{}")\n')
    os.utime(here / "f0.py", (1, 1))  # settled, so the cache may trust its stat
    assert probe_libcst(*files_) == "1 True"  # cold: parsed
    assert probe_libcst(*files_) == "1 False"  # warm: the cached result, no engine
