"""Suppression comments and --baseline: unit level, then through ``statesafe audit``."""

from __future__ import annotations

import json
import textwrap

import pytest
from click.testing import CliRunner

from statesafe.auditor import baseline, suppress
from statesafe.auditor.types import Finding
from statesafe.cli import main
from statesafe.errors import ConfigError

KNOWN = frozenset({"FS101", "FS102", "FS701"})


def src(text: str) -> bytes:
    return textwrap.dedent(text).encode()


def hit(line: int, code: str = "FS101", path: str = "s.py", end_line: int | None = None) -> Finding:
    return Finding(path, line, 4, end_line or line, 20, code, "raw-write", "raw write", target="t.json")


def test_trailing_and_own_line_comments():
    found, errors = suppress.parse("s.py", src("""\
        import os
        open(A, "w")  # statesafe: ignore[FS101] intentional
        # statesafe: ignore[FS102, FS101]

        os.remove(B)
        x = 1  # noqa: E501, FS102
    """), KNOWN)
    assert errors == []
    assert [(s.line, s.applies_to, s.codes) for s in found] == [
        (2, 2, ("FS101",)), (3, 5, ("FS102", "FS101")), (6, 6, ("FS102",))]


def test_markers_inside_strings_are_not_comments():
    found, errors = suppress.parse("s.py", src('''\
        HELP = """
        # statesafe: ignore[FS999]
        """
        print("# noqa: FS999")
    '''), KNOWN)
    assert (found, errors) == ([], [])


def test_unknown_codes_and_blanket_ignores_are_errors():
    found, errors = suppress.parse("s.py", src("""\
        a = 1  # statesafe: ignore[FS999]
        b = 2  # statesafe: ignore
        c = 3  # noqa: FS12x, FS101
    """), KNOWN)
    assert errors == ["s.py:1: unknown rule code 'FS999' in suppression comment",
                      "s.py:2: '# statesafe: ignore' needs the codes it silences, e.g. '# statesafe: ignore[FS101]'",
                      "s.py:3: unknown rule code 'FS12X' in suppression comment"]
    assert [(s.line, s.codes) for s in found] == [(3, ("FS101",))]


def test_apply_silences_matching_code_and_reports_unused():
    source = src("""\
        open(A, "w")  # statesafe: ignore[FS101]
        open(B, "w")  # statesafe: ignore[FS102]
        open(C,
             "w")  # noqa: FS101
        x = 1  # statesafe: ignore[FS101]
    """)
    findings = [hit(1), hit(2), hit(3, end_line=4)]
    kept, errors = suppress.apply(findings, {"s.py": source}, KNOWN)
    assert errors == []
    codes = sorted((f.line, f.code) for f in kept)
    # line 2's FS101 stays (its comment names FS102, which silenced nothing); line 5's comment is unused
    assert codes == [(2, "FS101"), (2, "FS701"), (5, "FS701")]
    unused = [f for f in kept if f.code == "FS701"]
    assert unused[0].message == "suppression of FS102 silences nothing on this line; remove it"
    assert unused[0].column == source.decode().splitlines()[1].index("#")


def test_apply_leaves_other_files_alone():
    kept, _ = suppress.apply([hit(1, path="other.py")], {"s.py": src("open(A, 'w')  # statesafe: ignore[FS101]\n")},
                             KNOWN)
    assert sorted((f.path, f.code) for f in kept) == [("other.py", "FS101"), ("s.py", "FS701")]


# --- baseline ------------------------------------------------------------------------------------

def lines_of(mapping):
    return lambda path: mapping.get(path, [])


def test_baseline_matches_by_line_text_not_number(tmp_path):
    path = str(tmp_path / "baseline.json")
    before = {"s.py": ["import json", 'open(T, "w").write(x)']}
    baseline.save([hit(2)], lines_of(before), path)
    known = baseline.load(path)
    after = {"s.py": ["import json", "", "# moved down", 'open(T,   "w").write(x)']}
    assert baseline.new_findings([hit(4)], known, lines_of(after), path) == []
    # a second copy of the same raw write is new; so is another code on the known line
    after["s.py"].append('open(T, "w").write(x)')
    assert baseline.new_findings([hit(4), hit(5)], known, lines_of(after), path) == [hit(5)]
    assert baseline.new_findings([hit(4, code="FS102")], known, lines_of(after), path) == [hit(4, code="FS102")]


def test_baseline_paths_are_relative_to_the_baseline(tmp_path, monkeypatch):
    (tmp_path / "pkg").mkdir()
    monkeypatch.chdir(tmp_path)
    path = "ci/baseline.json"
    (tmp_path / "ci").mkdir()
    baseline.save([hit(1, path="pkg/s.py")], lines_of({"pkg/s.py": ["open(T, 'w')"]}), path)
    entry = json.loads((tmp_path / path).read_text())["findings"][0]
    assert entry["path"] == "../pkg/s.py"
    monkeypatch.chdir(tmp_path / "pkg")  # the same finding, named from another working directory
    known = baseline.load(str(tmp_path / path))
    assert baseline.new_findings([hit(1, path="s.py")], known, lines_of({"s.py": ["open(T, 'w')"]}),
                                 str(tmp_path / path)) == []


@pytest.mark.parametrize("content, problem", [
    ("{not json", "not valid JSON"),
    ('{"findings": []}', "not a statesafe baseline"),
    ('{"statesafe-baseline": 1, "findings": [{"path": "a"}]}', "malformed baseline entry"),
])
def test_bad_baselines_are_config_errors(tmp_path, content, problem):
    path = tmp_path / "b.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=problem) as info:
        baseline.load(str(path))
    assert str(path) in str(info.value)


# --- through the command line (real engine) --------------------------------------------------------

RAW = """\
import json

TRACKER = "threads_daily_tracker.json"


def save(data):
    with open(TRACKER, "w") as f:{comment}
        json.dump(data, f)
"""


@pytest.fixture
def skill(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STATESAFE_CACHE_DIR", str(tmp_path / ".cache"))
    return tmp_path


def run(*args):
    return CliRunner().invoke(main, ["audit", "--format", "json", *args])


def codes_of(result):
    return sorted((row["line"], row["code"]) for row in json.loads(result.stdout))


def test_cli_suppression_silences_a_real_finding(skill):
    (skill / "save.py").write_text(RAW.format(comment=""))
    raw = run("save.py")
    assert raw.exit_code == 1
    [(line, code)] = [c for c in codes_of(raw) if c[0] == 7]
    (skill / "save.py").write_text(RAW.format(comment=f"  # statesafe: ignore[{code}] migrating in #12"))
    quiet = run("save.py")
    assert (quiet.exit_code, codes_of(quiet)) == (0, [])
    (skill / "save.py").write_text(RAW.format(comment="  # noqa: FS999"))
    bad = run("save.py")
    assert bad.exit_code == 1 | 2
    assert "save.py:7: unknown rule code 'FS999'" in bad.stderr


def test_cli_baseline_adopts_then_fails_only_on_new(skill):
    (skill / "save.py").write_text(RAW.format(comment=""))
    first = run("--baseline", "audit-baseline.json", ".")
    assert first.exit_code == 0
    assert "baseline audit-baseline.json written" in first.stderr
    assert json.loads((skill / "audit-baseline.json").read_text())["findings"]
    # shift everything down: still known
    (skill / "save.py").write_text("# header\n\n" + RAW.format(comment=""))
    assert run("--baseline", "audit-baseline.json", ".").exit_code == 0
    # a new raw write fails the run, and only it is reported
    (skill / "more.py").write_text('open("style_guide.md", "w").write("x")\n')
    new = run("--baseline", "audit-baseline.json", ".")
    assert new.exit_code == 1
    assert {row["path"] for row in json.loads(new.stdout)} == {"more.py"}
    (skill / "bad.json").write_text("[]")
    broken = run("--baseline", "bad.json", ".")
    assert broken.exit_code == 2
    assert "statesafe: error: bad.json: not a statesafe baseline" in broken.stderr
