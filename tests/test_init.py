"""`statesafe init`: adopt, merge, never clobber, idempotent."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from statesafe.cli import main
from statesafe.commands.init import merge_precommit
from statesafe.errors import ConfigError
from statesafe.policy import default_policy, load_file, load_policy

EXISTING = """\
# my hooks
repos:
  - repo: https://github.com/pre-commit/pre-commit-hooks
    rev: v6.0.0
    hooks:
      - id: check-json
"""


@pytest.fixture(autouse=True)
def fresh_cache():
    load_policy.cache_clear()
    yield
    load_policy.cache_clear()


def hook_ids(text: str) -> list[str]:
    return [hook["id"] for repo in yaml.safe_load(text)["repos"] for hook in repo["hooks"]]


@pytest.mark.parametrize("existing", [EXISTING, EXISTING.replace("\n  ", "\n")])
def test_merge_keeps_existing_hooks_and_indentation(existing):
    merged = merge_precommit(existing, Path(".pre-commit-config.yaml"))
    assert hook_ids(merged) == ["statesafe-audit", "check-json"]
    assert merged.startswith("# my hooks\nrepos:\n")
    assert merge_precommit(merged, Path(".pre-commit-config.yaml")) is None


def test_merge_refuses_what_it_cannot_read():
    with pytest.raises(ConfigError, match="no top-level block 'repos:'"):
        merge_precommit("repos: []\n", Path("x.yaml"))


def run_init(directory: Path, *args: str):
    return CliRunner().invoke(main, ["init", str(directory), *args])


def test_init_in_a_bare_folder_then_again(tmp_path):
    first = run_init(tmp_path)
    assert first.exit_code == 0, first.output
    assert load_file(tmp_path / "statesafe.toml") == default_policy()
    assert hook_ids((tmp_path / ".pre-commit-config.yaml").read_text()) == ["statesafe-audit"]
    assert "wrote statesafe.toml" in first.output and "statesafe audit ." in first.output
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    second = run_init(tmp_path)
    assert second.exit_code == 0, second.output
    assert "kept statesafe.toml" in second.output and "already there" in second.output
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_init_adopts_failsafe_and_merges_with_backup(tmp_path):
    (tmp_path / "FAILSAFE.md").write_text(
        "## Files under this policy\n\nDestructive writes:\n\n- `ledger.json`\n", encoding="utf-8")
    (tmp_path / ".pre-commit-config.yaml").write_text(EXISTING)
    result = run_init(tmp_path)
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "statesafe.toml").exists()
    assert "kept FAILSAFE.md" in result.output
    assert hook_ids((tmp_path / ".pre-commit-config.yaml").read_text()) == ["statesafe-audit", "check-json"]
    backups = list(tmp_path.glob(".pre-commit-config.yaml.bak-*"))
    assert [b.read_text() for b in backups] == [EXISTING]


def test_init_reports_a_broken_policy_and_writes_nothing(tmp_path):
    (tmp_path / "statesafe.toml").write_text("keep-backups = -1\n")
    result = run_init(tmp_path)
    assert result.exit_code == 2
    assert "statesafe.toml: 'keep-backups'" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["statesafe.toml"]


def test_init_with_claude_hook_installs_it_once(tmp_path):
    import json

    assert run_init(tmp_path, "--claude-hook").exit_code == 0
    settings = json.loads((tmp_path / ".claude" / "settings.json").read_text())
    commands = [h["command"] for entry in settings["hooks"]["PreToolUse"] for h in entry["hooks"]]
    assert commands and all("hook claude" in c for c in commands)
    again = run_init(tmp_path, "--claude-hook")
    assert again.exit_code == 0, again.output
    settings_again = json.loads((tmp_path / ".claude" / "settings.json").read_text())
    assert settings_again == settings
