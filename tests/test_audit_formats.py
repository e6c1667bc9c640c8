"""Output formats of ``statesafe audit``: shapes, 1-based columns, escaping, SARIF schema validity."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from statesafe.auditor.formats import FORMATS, GITHUB_STEP_LIMIT, escape_data, escape_property, one_based
from statesafe.auditor.types import Finding

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-2.1.0.json").read_text())


def finding(path="skill/save.py", line=3, column=4, code="FS101", **extra) -> Finding:
    fields = dict(end_line=line, end_column=column + 10, name="raw-write-to-destructive-file",
                  message="open(..., 'w') on threads_daily_tracker.json bypasses backup and atomic rename",
                  target="data/threads_daily_tracker.json", file_class="destructive")
    fields.update(extra)
    return Finding(path, line, column, code=code, **fields)


def open_call_position() -> tuple[int, int]:
    """Where libcst puts ``open(`` in ``x = open(...)``: its own (0-based) column."""
    wrapper = MetadataWrapper(cst.parse_module('x = open("threads_daily_tracker.json", "w")\n'))
    positions = wrapper.resolve(PositionProvider)
    call = next(node for node in positions if isinstance(node, cst.Call))
    start = positions[call].start
    return start.line, start.column


def test_columns_become_one_based_in_every_format():
    line, column = open_call_position()
    assert (line, column) == (1, 4)  # libcst: 0-based; ruff / editors / SARIF say column 5
    f = finding(line=line, column=column, end_column=42)
    assert one_based(f) == (1, 5, 1, 43)
    assert FORMATS["text"]().render([f]).startswith("skill/save.py:1:5: FS101 ")
    assert json.loads(FORMATS["json"]().render([f]))[0]["column"] == 5
    assert ",col=5," in FORMATS["github"]().render([f])
    region = json.loads(FORMATS["sarif"]().render([f]))["runs"][0]["results"][0]["locations"][0][
        "physicalLocation"]["region"]
    assert region == {"startLine": 1, "startColumn": 5, "endLine": 1, "endColumn": 43}


def test_text_lines_summary_and_colour():
    findings = [finding(), finding(path="b.py", line=9, via="cli.py:12", fix="statesafe.write(path, data)")]
    plain = FORMATS["text"](checked=7).render(findings)
    lines = plain.splitlines()
    assert lines[0] == ("skill/save.py:3:5: FS101 open(..., 'w') on threads_daily_tracker.json bypasses "
                        "backup and atomic rename")
    assert lines[1].endswith("(via cli.py:12)")
    assert lines[2] == "Found 2 findings in 2 files (7 files checked; 1 fixable with --fix)."
    assert "\x1b[" not in plain
    coloured = FORMATS["text"](checked=7, color=True).render(findings)
    assert "\x1b[" in coloured
    assert FORMATS["text"](checked=1).render([]) == "No findings (1 file checked).\n"


def test_json_objects_carry_positions_target_class_and_fix():
    row = json.loads(FORMATS["json"]().render([finding(fix="statesafe.write", via="a.py:2")]))[0]
    assert row == {"path": "skill/save.py", "line": 3, "column": 5, "end_line": 3, "end_column": 15,
                   "code": "FS101", "name": "raw-write-to-destructive-file", "message": finding().message,
                   "target": "data/threads_daily_tracker.json", "file_class": "destructive",
                   "fix": "statesafe.write", "via": "a.py:2", "related": []}
    assert json.loads(FORMATS["json"]().render([])) == []


def test_github_escapes_properties_and_message():
    assert escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    f = finding(path="odd, dir:x/save.py", message="line one\nline two: 100%")
    annotation = FORMATS["github"]().render([f]).splitlines()[0]
    assert annotation == ("::error title=statesafe (FS101),file=odd%2C dir%3Ax/save.py,line=3,endLine=3,"
                          "col=5,endColumn=15::line one%0Aline two: 100%25")


def test_github_warns_when_annotations_would_be_dropped():
    at_limit = [finding(line=n) for n in range(1, GITHUB_STEP_LIMIT + 1)]
    assert "::warning" not in FORMATS["github"]().render(at_limit)
    over = at_limit + [finding(line=50), finding(line=51)]
    out = FORMATS["github"]().render(over).splitlines()
    assert out[0].startswith("::warning title=statesafe::12 error findings")
    assert "2 are not annotated" in out[0]
    assert sum(line.startswith("::error ") for line in out) == 12
    # the full list also stays readable in the step's log
    assert sum(line.startswith("skill/save.py:") for line in out) == 12


def sarif(findings, **kwargs) -> dict:
    return json.loads(FORMATS["sarif"](**kwargs).render(findings))


def test_sarif_validates_against_the_oasis_schema():
    lines = {"skill/save.py": ["", "", "    with open(TRACKER, 'w') as f:"]}
    document = sarif([finding(), finding(path="/abs/elsewhere.py", line=1, column=0, code="FS701",
                                         name="unused-suppression", message="unused")],
                     lines=lambda p: lines.get(p, []))
    jsonschema.Draft4Validator(SCHEMA).validate(document)
    empty = sarif([])
    jsonschema.Draft4Validator(SCHEMA).validate(empty)
    assert empty["runs"][0]["results"] == []


def test_sarif_rejects_what_the_schema_rejects():
    """The validator is live: a zero start line (a raw 0-based value) fails."""
    document = sarif([finding()])
    document["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(SCHEMA).validate(document)


def test_sarif_rules_come_from_the_rules_docs():
    from statesafe.auditor.formats import rule_classes

    rules = rule_classes()
    run = sarif([finding()])["runs"][0]
    descriptors = {d["id"]: d for d in run["tool"]["driver"]["rules"]}
    assert set(descriptors) == set(rules)
    for code, rule in rules.items():
        assert descriptors[code]["name"] == rule.NAME
        assert descriptors[code]["help"]["markdown"] == rule.doc()
        assert len(descriptors[code]["fullDescription"]["text"]) <= 1024
        assert descriptors[code]["shortDescription"]["text"] == rule.summary()[:1024]
    result = run["results"][0]
    assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "FS101"
    location = result["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "skill/save.py", "uriBaseId": "%SRCROOT%"}
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"].endswith("/")


def test_sarif_fingerprint_survives_a_line_shift():
    before = {"skill/save.py": ["", "", "open(TRACKER, 'w')"]}
    after = {"skill/save.py": ["", "", "", "", "open(TRACKER, 'w')"]}
    first = sarif([finding(line=3)], lines=lambda p: before[p])["runs"][0]["results"][0]
    moved = sarif([finding(line=5)], lines=lambda p: after[p])["runs"][0]["results"][0]
    assert first["partialFingerprints"] == moved["partialFingerprints"]
    other = sarif([finding(line=3, code="FS102")], lines=lambda p: before[p])["runs"][0]["results"][0]
    assert other["partialFingerprints"] != first["partialFingerprints"]


def test_real_audit_output_in_every_format(tmp_path, monkeypatch):
    """The legacy example skill, audited for real: SARIF valid, all formats agree on the findings."""
    import shutil

    from click.testing import CliRunner

    from statesafe.cli import main

    shutil.copytree(Path(__file__).resolve().parents[1] / "examples" / "legacy-skill", tmp_path / "skill")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STATESAFE_CACHE_DIR", str(tmp_path / ".cache"))
    out = {fmt: CliRunner().invoke(main, ["audit", "--format", fmt, "skill"]) for fmt in FORMATS}
    assert {fmt: r.exit_code for fmt, r in out.items()} == dict.fromkeys(FORMATS, 1)
    rows = json.loads(out["json"].stdout)
    document = json.loads(out["sarif"].stdout)
    jsonschema.Draft4Validator(SCHEMA).validate(document)
    results = document["runs"][0]["results"]
    assert [(r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in results] == [
        (row["code"], row["line"]) for row in rows]
    assert len(out["text"].stdout.splitlines()) == len(rows) + 1
    assert sum(line.startswith("::error ") for line in out["github"].stdout.splitlines()) == len(rows)
    assert out["github"].stdout.startswith("::warning title=statesafe::")  # more than GitHub shows


def test_related_locations_in_every_format():
    """A call site's finding names the helper's replace it reaches: json `related`, SARIF `relatedLocations`."""
    f = finding(related=(("skill/lib/io.py", 12, "the helper's os.replace, with no backup before it"),))
    assert "\n    skill/lib/io.py:12: the helper's os.replace" in FORMATS["text"]().render([f])
    assert json.loads(FORMATS["json"]().render([f]))[0]["related"] == [
        {"path": "skill/lib/io.py", "line": 12, "message": "the helper's os.replace, with no backup before it"}]
    document = sarif([f])
    jsonschema.Draft4Validator(SCHEMA).validate(document)
    related = document["runs"][0]["results"][0]["relatedLocations"]
    assert related[0]["physicalLocation"]["region"] == {"startLine": 12}
    assert related[0]["physicalLocation"]["artifactLocation"]["uri"] == "skill/lib/io.py"
    assert json.loads(FORMATS["json"]().render([finding()]))[0]["related"] == []
