"""How the engine knows a write's target: each resolution kind, across modules, and its limits."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from statesafe.auditor.engine import resolve, summarize
from statesafe.auditor.testing import audit_files
from statesafe.auditor.values import Record
from statesafe.policy import default_policy

TREE = Path(__file__).parent / "fixtures" / "audit_tree"
_EXPECT = re.compile(r"#\s*expect:\s*(FS\d{3})(?:\s+via\s+(\S+))?")


def _tree_files() -> dict[str, bytes]:
    return {p.relative_to(TREE).as_posix(): p.read_bytes() for p in sorted(TREE.rglob("*"))
            if p.suffix == ".py" or p.name == "SKILL.md"}


def _expected(files: dict[str, bytes]) -> set[tuple]:
    out = set()
    for path, source in files.items():
        for number, line in enumerate(source.decode().splitlines(), 1):
            match = _EXPECT.search(line)
            if match:
                out.add((path, number, match.group(1), match.group(2)))
    return out


def test_fixture_tree_reports_exactly_the_marked_lines():
    files = _tree_files()
    expected = _expected(files)
    assert len(expected) >= 12
    found = audit_files(files)
    got = {(f.path, f.line, f.code, f.via.split(":")[0].rsplit("/", 1)[-1] if f.via else None) for f in found}
    # a marked via names the file of the call site; unmarked ones must have none or any
    got_loose = {(p, n, c) for p, n, c, _ in got}
    assert got_loose == {(p, n, c) for p, n, c, _ in expected}
    for path, number, code, via in expected:
        if via:
            assert (path, number, code, via) in got, (path, number, code, via)


def test_fixture_tree_strict_adds_only_unresolved_writes():
    files = _tree_files()
    plain = set(audit_files(files))
    strict = set(audit_files(files, strict=True))
    extra = strict - plain
    assert plain <= strict
    assert extra and {f.code for f in extra} == {"FS801"}
    lines = {(f.path, f.line) for f in extra}
    dump_line = next(n for n, line in enumerate(files["skill/scripts/io_helpers.py"].decode().splitlines(), 1)
                     if 'open(path, "w").write(text)' in line)
    assert ("skill/scripts/io_helpers.py", dump_line) in lines
    # a temp named after the tracker cannot be a policy file, whatever its pid: not "unresolved"
    assert all("tmp" not in (f.target or "") for f in extra)


def _one(files: dict[str, str], code: str, **kw):
    found = [f for f in audit_files(files, **kw) if f.code == code]
    assert len(found) == 1, audit_files(files, **kw)
    return found[0]


def _none(files: dict[str, str], **kw):
    assert audit_files(files, **kw) == []


def test_string_literal():
    assert _one({"a.py": 'open("threads_daily_tracker.json", "w")\n'}, "FS101").target == \
        "threads_daily_tracker.json"


def test_module_constant_is_read_at_the_point_of_the_write():
    before = 'T = "threads_daily_tracker.json"\nopen(T, "w")\nT = "other.json"\n'
    after = 'T = "other.json"\nopen(T, "w")\nT = "threads_daily_tracker.json"\n'
    assert _one({"a.py": before}, "FS101").line == 2
    _none({"a.py": after})


def test_functions_see_the_final_value_of_a_global():
    source = 'T = "other.json"\ndef save():\n    open(T, "w")\nT = "threads_daily_tracker.json"\n'
    assert _one({"a.py": source}, "FS101").line == 3


def test_function_scope_constant_with_reassignment_and_branches():
    reassigned = 'def f():\n    p = "style_guide.md"\n    p = "notes.md"\n    open(p, "w")\n'
    _none({"a.py": reassigned})
    branch = 'def f(x):\n    p = "notes.md"\n    if x:\n        p = "style_guide.md"\n    open(p, "w")\n'
    assert _one({"a.py": branch}, "FS101").line == 5


def test_constants_imported_three_ways():
    files = {
        "s/paths.py": 'TRACKER = "threads_daily_tracker.json"\n',
        "s/a.py": 'from paths import TRACKER as T\nopen(T, "w")\n',
        "s/b.py": 'import paths\nopen(paths.TRACKER, "w")\n',
        "s/pkg/__init__.py": "",
        "s/pkg/names.py": 'LOG = "threads_refresh.log"\n',
        "s/pkg/c.py": 'from .names import LOG\nopen(LOG, "w")\n',
    }
    found = {(f.path, f.code) for f in audit_files(files)}
    assert found == {("s/a.py", "FS101"), ("s/b.py", "FS101"), ("s/pkg/c.py", "FS201")}


def test_argparse_default_and_its_flow_into_a_helper_of_another_module():
    files = {
        "s/cli.py": 'import argparse\nfrom store import save\n'
                    'p = argparse.ArgumentParser()\np.add_argument("--tracker", default="threads_daily_tracker.json")\n'
                    'args = p.parse_args()\nsave(args.tracker, {})\n',
        "s/store.py": 'import json\ndef save(path, data):\n    with open(path, "w") as f:\n        json.dump(data, f)\n',
    }
    finding = _one(files, "FS101")
    assert (finding.path, finding.line, finding.via) == ("s/store.py", 3, "s/cli.py:6")


def test_parameter_default_and_call_site_arguments():
    default = 'def save(path="style_guide.md"):\n    open(path, "w")\n'
    assert _one({"a.py": default}, "FS101").line == 2
    overridden = default + 'save("notes.md")\n'
    _none({"a.py": overridden})
    keyword = 'def save(text, path="x"):\n    open(path, "w")\nsave("t", path="brand_voice.md")\n'
    assert _one({"a.py": keyword}, "FS101").via == "a.py:3"


@pytest.mark.parametrize("expression", [
    'os.path.join(base, "threads_daily_tracker.json")',
    'Path(base) / "threads_daily_tracker.json"',
    'Path(base, "threads_daily_tracker.json")',
    'Path(base).joinpath("data", "threads_daily_tracker.json")',
    'Path(base, "old.json").with_name("threads_daily_tracker.json")',
    'Path(base, "threads_daily_tracker.txt").with_suffix(".json")',
    'f"{base}/threads_daily_tracker.json"',
    'base + "/threads_daily_" + "tracker.json"',
    '"{}/threads_daily_tracker.json".format(base)',
    'os.environ.get("TRACKER", "threads_daily_tracker.json")',
    'PATHS["tracker"]',
    'sys.argv[1] if len(sys.argv) > 1 else "threads_daily_tracker.json"',
])
def test_path_building(expression):
    source = ('import os, sys\nfrom pathlib import Path\nPATHS = {"tracker": "threads_daily_tracker.json"}\n'
              f'def run(base):\n    open({expression}, "w")\n')
    assert _one({"a.py": source}, "FS101").line == 5


def test_class_attributes_and_constant_modes():
    source = ('MODE = "w"\nclass Config:\n    TRACKER = "threads_daily_tracker.json"\n'
              'def save():\n    open(Config.TRACKER, MODE)\n')
    assert _one({"a.py": source}, "FS101").line == 5


def test_import_aliases_through_qualified_names():
    files = {"a.py": 'import os as o\nfrom shutil import copyfile as cp\n'
                     'o.remove("style_guide.md")\ncp("x", "brand_voice.md")\n'}
    assert {(f.line, f.code) for f in audit_files(files)} == {(3, "FS104"), (4, "FS103")}


def test_look_alikes_of_write_calls_are_not_writes():
    _none({"a.py": 'class Store:\n    def replace(self, a, b):\n        pass\n'
                   'os = Store()\nos.replace("x", "threads_daily_tracker.json")\n'})
    _none({"a.py": 'text = "threads_daily_tracker.json"\nname = text.replace(".json", ".md")\n'})
    _none({"a.py": 'import json\nfrom pathlib import Path\nT = "threads_daily_tracker.json"\n'
                   'json.load(open(T))\nopen(T, "rb").read()\nPath(T).read_text()\nPath(T).open().read()\n'})


def test_nested_def_keeps_the_enclosing_state():
    source = ('import statesafe\n\ndef save_all(a, b):\n    with statesafe.transaction() as tx:\n'
              '        def helper():\n            return 1\n'
              '        tx.write("threads_daily_tracker.json", a)\n        tx.write("style_guide.md", b)\n')
    _none({"a.py": source})
    source = ('def outer():\n    path = "style_guide.md"\n    def inner():\n        path = "notes.md"\n'
              '        return path\n    open(path, "w")\n')
    assert _one({"a.py": source}, "FS101").line == 6


def test_self_attributes_follow_the_constructor_arguments():
    source = ('class Store:\n    def __init__(self, path):\n        self.path = path\n'
              '    def save(self, text):\n        open(self.path, "w").write(text)\n'
              'Store("concept_library.md").save("x")\n')
    finding = _one({"a.py": source}, "FS101")
    assert (finding.line, finding.via) == (5, "a.py:6")


@pytest.mark.parametrize("option, reported", [
    ('"--backup", action="store_true"', True),  # off by default: not on every path
    ('"--no-backup", dest="backup", action="store_false"', False),  # on by default
])
def test_backup_behind_an_option(option, reported):
    source = ('import argparse, os, shutil\np = argparse.ArgumentParser()\n'
              f'p.add_argument({option})\nargs = p.parse_args()\n'
              'T = "threads_daily_tracker.json"\n'
              'if args.backup:\n    shutil.copy2(T, T + ".bak-20260101T000000Z")\n'
              'open(T + ".tmp", "w").write("{}")\nos.replace(T + ".tmp", T)\n')
    codes = [f.code for f in audit_files({"a.py": source})]
    assert ("FS102" in codes) is reported


def test_unresolved_target_is_silent_unless_strict():
    files = {"a.py": 'import sys\ndef save(p):\n    open(p, "w")\nsave(sys.argv[1])\n'}
    _none(files)
    assert _one(files, "FS801", strict=True).line == 3


def test_a_broken_file_does_not_stop_the_run():
    files = {"a.py": "def broken(:\n", "b.py": b"x = '\xff'\n", "c.py": 'open("style_guide.md", "w")\n',
             "d.py": "x = " + "(" * 300 + ")" * 300 + "\n"}
    assert {(f.path, f.code) for f in audit_files(files)} == {
        ("a.py", "FS901"), ("b.py", "FS902"), ("c.py", "FS101"), ("d.py", "FS903")}


def test_summaries_from_a_pool_give_the_same_findings():
    import concurrent.futures
    import multiprocessing

    files = _tree_files()
    policy = default_policy()
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as pool:
        summaries = list(pool.map(summarize, files, files.values(), [policy] * len(files)))
    assert resolve(summaries, policy) == audit_files(files)


TRICKY_CALLS = '''\
import functools, os
name = "café"  # non-ASCII before a call on the same line: """ f() """ ; é = len(name)
é = len(name); x = os.path.join("ü", str(é))
@functools.lru_cache(maxsize=None)
def f(a=len("x"), *, b=(lambda: print("λ"))()):
    return (open)("x").read() if a else [g(y) for y in range(int("3"))]
msg = f"{os.getcwd()} and {f'{len(name)}'} {name!r:>{len(name)}}"
r = (f)(1)(2)
s = """multi
line""".format(1), dict(a=[len(x) for x in "ab"])
'''


@pytest.mark.parametrize("source", [TRICKY_CALLS, *(_tree_files()[p].decode() for p in sorted(_tree_files())
                                                    if p.endswith(".py"))])
def test_call_positions_from_the_ast_match_libcst(source):
    import ast

    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider

    from statesafe.auditor.engine import _call_positions
    from statesafe.auditor.extract import Extractor

    module = cst.parse_module(source)
    extractor = Extractor("x.py")
    module.visit(extractor)
    ranges = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    expected = [(ranges[c].start.line, ranges[c].start.column, ranges[c].end.line, ranges[c].end.column)
                for c in extractor.call_nodes]
    got = _call_positions(source, ast.parse(source), extractor.call_nodes)
    assert got is None or got == expected
    if source is not TRICKY_CALLS:
        assert got is not None


def test_values_that_double_in_branches_stay_bounded():
    body = "".join(f"    if c{i}:\n        p = p + 'x'\n" for i in range(60))
    source = f"def f(p, {', '.join(f'c{i}' for i in range(60))}):\n{body}    open(p, 'w')\n"
    summary = summarize("a.py", source.encode(), default_policy())
    left = [10_000]  # unbounded, the target would have 2**60 parts (shared, but hashed and walked in full)

    def count(value):  # a value, or a tuple of them
        left[0] -= 1
        assert left[0] > 0, "the value grew without bound"
        for part in (value.fields() if isinstance(value, Record) else value):
            if isinstance(part, tuple):
                count(part)

    count(summary.functions["f"].sinks[0].target)
    assert resolve([summary], default_policy(), strict=True)[0].code == "FS801"


def test_multi_file_finding_names_every_file_written_through_helpers_and_shell():
    """review.py writes the concept library through a helper (temp + rename); tune.py edits the brand
    voice with `sed -i` in a subprocess: both count towards FS501, and the message names them all."""
    legacy = Path(__file__).resolve().parent.parent / "examples" / "legacy-skill"
    files = {p.relative_to(legacy).as_posix(): p.read_bytes() for p in (legacy / "scripts").glob("*.py")}
    multi = {f.path: f.message for f in audit_files(files) if f.code == "FS501"}
    assert "threads_daily_tracker.json, style_guide.md and concept_library.md" in multi["scripts/review.py"]
    assert "threads_booster_config.json, brand_voice.md and style_guide.md" in multi["scripts/tune.py"]
