"""Compiled memory: where each format carries the required fields, the metadata helper,
and `statesafe check` finding stale and malformed files."""

from __future__ import annotations

import hashlib
import json

import pytest
from click.testing import CliRunner

import statesafe
from statesafe.cli import main
from statesafe.sanction import sanctioned
from statesafe.compiled import compiled_metadata, find_tracker, front_matter, validate
from statesafe.errors import StaleError
from statesafe.policy import default_policy

TRACKER = "threads_daily_tracker.json"
POLICY = default_policy()


@pytest.fixture
def skill(tmp_path, monkeypatch):
    """A skill folder with a tracker of three posts and an empty compiled/ folder."""
    monkeypatch.chdir(tmp_path)
    statesafe.write(TRACKER, {"posts": [{"id": 1}, {"id": 2}, {"id": 3}]})
    (tmp_path / "compiled").mkdir()
    return tmp_path


def meta_for(skill) -> dict:
    return compiled_metadata(skill / TRACKER, confidence_level="low", coverage_notes="3 posts; none reviewed")


def test_metadata_hashes_the_tracker_bytes_and_counts_its_posts(skill, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1776000000")
    meta = meta_for(skill)
    digest = hashlib.sha256((skill / TRACKER).read_bytes()).hexdigest()
    assert meta == {"generated_at": "2026-04-12T13:20:00Z", "source_tracker_hash": f"sha256:{digest}",
                    "posts_count": 3, "confidence_level": "low", "coverage_notes": "3 posts; none reviewed"}


def test_metadata_from_bytes_already_read_and_an_explicit_count(skill):
    meta = compiled_metadata(skill / "missing.json", tracker_bytes=b"[1, 2]", posts_count=7,
                             confidence_level="high", coverage_notes="")
    assert meta["source_tracker_hash"] == "sha256:" + hashlib.sha256(b"[1, 2]").hexdigest()
    assert meta["posts_count"] == 7


def test_metadata_refuses_to_guess_a_count_it_cannot_read(skill):
    statesafe.write(TRACKER, {"items": []})
    with pytest.raises(StaleError, match="cannot count posts"):
        meta_for(skill)


def test_metadata_of_a_missing_tracker_is_a_one_line_refusal_naming_it(skill):
    missing = skill / "no_such_tracker.json"
    with pytest.raises(StaleError) as caught:
        compiled_metadata(missing, confidence_level="high", coverage_notes="")
    assert str(caught.value) == f"{missing}: cannot read the tracker: No such file or directory (errno 2)"


@pytest.mark.parametrize("name, content", [
    ("compiled/account_wiki.md", lambda m: front_matter(m) + "# Wiki\n"),
    ("compiled/cluster_wiki.json", lambda m: json.dumps({"_meta": m, "clusters": []})),
    ("compiled/cluster_wiki.json", lambda m: json.dumps({**m, "clusters": []})),
    ("compiled/post_feature_index.jsonl", lambda m: json.dumps({"_meta": m}) + '\n{"id": 1}\n'),
    ("compiled/post_feature_index.jsonl", lambda m: json.dumps(m) + "\n"),
])
def test_each_format_carries_the_fields_where_decided(skill, name, content):
    assert validate(skill / name, content(meta_for(skill)).encode(), POLICY) == []


def test_yaml_style_front_matter_is_read(skill):
    text = ("---\ngenerated_at: 2026-04-12T13:20:00Z\nsource_tracker_hash: 'sha256:" + "a" * 64 + "'\n"
            "posts_count: 3\nconfidence_level: low\ncoverage_notes: |\n  line one\n  line two\n---\nbody\n")
    assert validate(skill / "compiled/recent_window.md", text.encode(), POLICY) == []


@pytest.mark.parametrize("name, content, problem", [
    ("compiled/account_wiki.md", "# Wiki\n", "no front matter"),
    ("compiled/account_wiki.md", "---\nposts_count: 1\n", "not closed"),
    ("compiled/account_wiki.md", "---\nposts_count: 1\n---\n",
     "missing required fields: generated_at, source_tracker_hash, confidence_level, coverage_notes"),
    ("compiled/cluster_wiki.json", "[1, 2]", "not a JSON object"),
    ("compiled/cluster_wiki.json", "{", "not valid JSON"),
    ("compiled/post_feature_index.jsonl", '{"id": 1}\n{"_meta": {}}\n', "missing required fields"),
    ("compiled/exemplar_bank.md", b"\xff\xfe", "not UTF-8"),
])
def test_content_without_the_fields_is_named_for_what_it_lacks(skill, name, content, problem):
    data = content if isinstance(content, bytes) else content.encode()
    [found] = validate(skill / name, data, POLICY)
    assert problem in found


@pytest.mark.parametrize("field, value, problem", [
    ("posts_count", "many", "posts_count is not a whole number"),
    ("posts_count", -1, "posts_count is not a whole number"),
    ("source_tracker_hash", "md5:abc", "source_tracker_hash is not"),
    ("generated_at", "yesterday", "generated_at is not an ISO 8601 time"),
    ("coverage_notes", None, "missing required field: coverage_notes"),
])
def test_field_values_that_cannot_be_right_are_refused(skill, field, value, problem):
    meta = dict(meta_for(skill), **{field: value})
    [found] = validate(skill / "compiled/cluster_wiki.json", json.dumps({"_meta": meta}).encode(), POLICY)
    assert problem in found


def test_the_writers_refuse_compiled_content_without_the_fields(skill):
    with pytest.raises(StaleError, match="missing required field"):
        statesafe.write("compiled/cluster_wiki.json", {"_meta": {"posts_count": 3}})
    with pytest.raises(StaleError, match="no front matter"):
        with statesafe.transaction() as tx:
            tx.write("compiled/account_wiki.md", "# Wiki\n")
    assert list((skill / "compiled").iterdir()) == []


def test_the_tracker_is_the_nearest_one_at_or_above_the_compiled_folder(skill):
    assert find_tracker(skill / "compiled/account_wiki.md", POLICY) == skill / TRACKER
    statesafe.write(skill / "compiled" / TRACKER, [])
    assert find_tracker(skill / "compiled/account_wiki.md", POLICY) == skill / "compiled" / TRACKER


def build(skill) -> None:
    meta = meta_for(skill)
    statesafe.write("compiled/account_wiki.md", front_matter(meta) + "# Wiki\n")
    statesafe.write("compiled/cluster_wiki.json", {"_meta": meta, "clusters": []})
    statesafe.write("compiled/post_feature_index.jsonl", json.dumps({"_meta": meta}) + "\n")


def test_check_is_clean_right_after_a_build(skill):
    build(skill)
    assert statesafe.check_compiled(skill) == []
    result = CliRunner().invoke(main, ["check", str(skill)])
    assert result.exit_code == 0, result.output


def test_check_lists_stale_and_malformed_files_and_exits_1(skill):
    build(skill)
    statesafe.write(TRACKER, {"posts": [{"id": 1}]})  # the tracker changed after the build
    with sanctioned():  # a hand-made file without the fields, past the guard on purpose
        (skill / "compiled/exemplar_bank.md").write_text("# Exemplars\n")
    found = {path.name: problem for path, problem in statesafe.check_compiled(skill)}
    assert set(found) == {"account_wiki.md", "cluster_wiki.json", "post_feature_index.jsonl", "exemplar_bank.md"}
    assert found["account_wiki.md"].startswith("stale: built from tracker sha256:")
    assert found["exemplar_bank.md"] == "malformed: no front matter: the file must start with a '---' line"
    result = CliRunner().invoke(main, ["check", str(skill)])
    assert result.exit_code == 1
    assert f"{skill / 'compiled' / 'exemplar_bank.md'}: malformed" in result.output
    assert f"{skill / 'compiled' / 'cluster_wiki.json'}: stale" in result.output


def test_check_ignores_files_outside_the_compiled_patterns_and_their_backups(skill):
    build(skill)
    (skill / "notes.md").write_text("# not compiled\n")
    (skill / "compiled" / "scratch.md").write_text("# not listed in the policy\n")
    statesafe.write("compiled/cluster_wiki.json", {"_meta": meta_for(skill), "clusters": [1]})
    assert statesafe.check_compiled(skill) == []


def test_check_says_when_there_is_no_tracker_to_compare_with(skill):
    build(skill)
    with sanctioned():
        (skill / TRACKER).unlink()
    problems = {problem for _, problem in statesafe.check_compiled(skill)}
    assert problems == {f"stale: cannot tell, no tracker {TRACKER} in its folder or above"}


def test_check_of_one_named_file(skill):
    with sanctioned():
        (skill / "compiled" / "account_wiki.md").write_text("no front matter\n")
    [(path, problem)] = statesafe.check_compiled(skill / "compiled" / "account_wiki.md")
    assert path.name == "account_wiki.md" and problem.startswith("malformed:")
