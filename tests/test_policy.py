"""The policy model: sources, discovery, matching, and config errors."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from statesafe.cli import main
from statesafe.errors import ConfigError
from statesafe.policy import DEFAULTS, FileClass, default_policy, load_file, load_policy

SHARED_FAILSAFE = Path(__file__).resolve().parents[2] / "shared" / "FAILSAFE.md"


@pytest.fixture(autouse=True)
def fresh_cache():
    load_policy.cache_clear()
    yield
    load_policy.cache_clear()


@pytest.fixture
def failsafe_text() -> str:
    if SHARED_FAILSAFE.is_file():
        return SHARED_FAILSAFE.read_text(encoding="utf-8")
    pytest.skip("../shared/FAILSAFE.md not beside the checkout")


def test_failsafe_document_yields_the_built_in_default(tmp_path, failsafe_text):
    doc = tmp_path / "FAILSAFE.md"
    doc.write_text(failsafe_text, encoding="utf-8")
    adopted = load_file(doc)
    assert adopted == default_policy()
    assert set(adopted.sources) == {"destructive", "append-only", "companion", "compiled",
                                    "keep-backups", "compiled-fields", "tracker"}


def test_document_lists_are_read_not_assumed(tmp_path):
    doc = tmp_path / "FAILSAFE.md"
    doc.write_text(
        "# Policy\n\n## Files under this policy\n\nDestructive writes — backup:\n\n- `ledger.json`\n\n"
        "Append-only logs — append:\n\n- `audit.log`\n\n---\n\n## Policy — destructive writes\n"
        "4. **Prune.** Keep at most the **3 most recent** `.bak-*` files.\n",
        encoding="utf-8",
    )
    policy = load_file(doc)
    assert policy.destructive == ("ledger.json",)
    assert policy.logs == ("audit.log",)
    assert policy.companion == DEFAULTS["companion"]  # not stated: default
    assert policy.keep_backups == 3
    assert policy.classify_name("/x/ledger.json") is FileClass.DESTRUCTIVE
    assert policy.classify_name("/x/threads_daily_tracker.json") is None


@pytest.mark.parametrize("path, expected", [
    ("/any/dir/threads_daily_tracker.json", FileClass.DESTRUCTIVE),
    ("threads_daily_tracker.json", FileClass.DESTRUCTIVE),
    ("./style_guide.md", FileClass.DESTRUCTIVE),
    ("/any/dir/compiled/account_wiki.md", FileClass.COMPILED),
    ("compiled/post_feature_index.jsonl", FileClass.COMPILED),
    ("/any/dir/account_wiki.md", None),  # trailing components must match, not just the name
    ("/w/threads_refresh.log", FileClass.LOG),
    ("/w/posts_by_date.md", FileClass.COMPANION),
    ("/w/style_guide.md.example", None),
    ("/w/my_style_guide.md", None),
    ("/w/style_guide.md.bak-20260422T143012Z", FileClass.BACKUP),
    ("/w/style_guide.md.bak-20260422T143012Z-2-corrupted", FileClass.BACKUP),
    ("/w/style_guide.md.bak-old", None),
    ("/w/notes.md.bak-20260422T143012Z", None),
    ("/w/style_guide.md.tmp-20260422T143012Z-12-ab12", None),
    (b"/w/threads_daily_tracker.json", FileClass.DESTRUCTIVE),
    ("C:\\skill\\compiled\\cluster_wiki.json", FileClass.COMPILED),
])
def test_classify_name(path, expected):
    assert default_policy().classify_name(path) is expected


def test_glob_patterns_and_cheap_name_check(tmp_path):
    (tmp_path / "statesafe.toml").write_text(
        'destructive = ["state/*.json"]\ncompanion = ["reports/*.md"]\n', encoding="utf-8")
    policy = load_policy(tmp_path)
    assert policy.classify_name("/a/state/users.json") is FileClass.DESTRUCTIVE
    assert policy.classify_name("/a/other/users.json") is None
    assert policy.classify_name("/a/reports/weekly.md") is FileClass.COMPANION
    assert policy.may_match_name("users.json")
    assert not policy.may_match_name("users.csv")
    assert not default_policy().may_match_name("unrelated.txt")


def test_classify_resolves_symlinks(tmp_path):
    tracker = tmp_path / "threads_daily_tracker.json"
    tracker.write_text("{}")
    alias = tmp_path / "current.json"
    alias.symlink_to(tracker)
    linked_dir = tmp_path / "cache"
    (tmp_path / "compiled").mkdir()
    linked_dir.symlink_to(tmp_path / "compiled")
    policy = default_policy()
    assert policy.classify_name(alias) is None
    assert policy.classify(alias) is FileClass.DESTRUCTIVE
    assert policy.classify(linked_dir / "account_wiki.md") is FileClass.COMPILED
    assert policy.classify(tmp_path / "sub" / ".." / "style_guide.md") is FileClass.DESTRUCTIVE


def test_nearest_source_wins_walking_up(tmp_path, failsafe_text):
    (tmp_path / "FAILSAFE.md").write_text(failsafe_text, encoding="utf-8")
    skill = tmp_path / "skills" / "review"
    skill.mkdir(parents=True)
    assert load_policy(skill).sources["destructive"] == str(tmp_path / "FAILSAFE.md")
    (tmp_path / "skills" / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.statesafe]\nkeep-backups = 7\n', encoding="utf-8")
    load_policy.cache_clear()
    nearer = load_policy(skill)
    assert nearer.keep_backups == 7
    assert nearer.sources["keep-backups"].endswith("pyproject.toml")
    assert "destructive" not in nearer.sources  # default, not the farther FAILSAFE.md
    (skill / "statesafe.toml").write_text('policy-document = "../../FAILSAFE.md"\nkeep-backups = 2\n')
    load_policy.cache_clear()
    nearest = load_policy(skill)
    assert nearest.keep_backups == 2
    assert nearest.sources["destructive"].endswith("FAILSAFE.md")


def test_pyproject_without_our_table_is_not_a_source(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert load_policy(tmp_path) == default_policy()


@pytest.mark.parametrize("content, problem", [
    ("keep-backups = 0", "'keep-backups' must be a whole number >= 1, got 0"),
    ('destructive = "tracker.json"', "'destructive' must be a list of non-empty strings"),
    ("destructiv = []", "unknown key 'destructiv'"),
    ("destructive = [", "invalid TOML"),
    ('policy-document = "NOPE.md"', "'policy-document' names 'NOPE.md', which is not a file"),
    ("[audit]\nx = 1", "unknown key 'audit'"),
])
def test_bad_config_is_one_line_naming_file_and_problem(tmp_path, content, problem):
    config = tmp_path / "statesafe.toml"
    config.write_text(content + "\n")
    with pytest.raises(ConfigError) as caught:
        load_policy(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{config}: ")
    assert problem in message
    assert "\n" not in message


def test_document_without_file_lists_is_rejected(tmp_path):
    (tmp_path / "FAILSAFE.md").write_text("# Something else\n\nNo lists here.\n")
    with pytest.raises(ConfigError, match="not a policy document"):
        load_policy(tmp_path)


def test_policy_command_prints_sources(tmp_path, failsafe_text, monkeypatch):
    (tmp_path / "FAILSAFE.md").write_text(failsafe_text, encoding="utf-8")
    (tmp_path / "statesafe.toml").write_text('policy-document = "FAILSAFE.md"\nkeep-backups = 4\n')
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["policy", "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["source"] == str(tmp_path / "statesafe.toml")
    assert shown["policy"]["keep-backups"] == {"value": 4, "from": str(tmp_path / "statesafe.toml")}
    assert shown["policy"]["destructive"]["from"] == str(tmp_path / "FAILSAFE.md")
    text = CliRunner().invoke(main, ["policy"]).output
    assert "keep-backups  (from" in text and "- threads_daily_tracker.json" in text


def test_policy_command_bad_config_exits_2_with_one_line(tmp_path):
    (tmp_path / "statesafe.toml").write_text("keep-backups = 'many'\n")
    result = CliRunner().invoke(main, ["policy", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"statesafe: error: {tmp_path / 'statesafe.toml'}: 'keep-backups' must be a whole number >= 1, got 'many'"]
