"""docs/rules.md is generated from the rules and must stay in sync with them."""

from __future__ import annotations

from pathlib import Path

from statesafe.auditor import docs
from statesafe.auditor.rules import RULES

ROOT = Path(__file__).resolve().parent.parent


def test_committed_rules_doc_is_up_to_date():
    committed = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert committed == docs.render(), "docs/rules.md is stale: run python -m statesafe.auditor.docs --write"


def test_every_rule_is_documented_with_its_sections():
    text = docs.render()
    for code, rule in RULES.items():
        section = docs.rule_section(rule)
        assert f"## {code} {rule.NAME}" in text
        for heading in ("### What it does", "### Why is this bad?", "### Example", "Use instead", "### Fix safety"):
            assert heading in section, (code, heading)
        if rule.AUTOFIX:
            assert "With `--fix`:" in section


def test_write_goes_to_the_named_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert docs.main(["--write", "out.md"]) == 0
    assert (tmp_path / "out.md").read_text(encoding="utf-8") == docs.render()
    assert docs.main(["--bogus"]) == 2


def test_unused_suppression_is_a_rule_like_the_others():
    """FS701 comes from the suppression pass (its hook), yet docs, SARIF descriptors and `statesafe rule` list it."""
    from statesafe.auditor import suppress
    from statesafe.auditor.formats import rule_classes

    assert RULES["FS701"].hooks() == ("check_suppressions",) and rule_classes()["FS701"] is RULES["FS701"]
    assert "# FS7xx: Suppression comments" in docs.render()
    assert "## FS701 unused-suppression" in (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert "FS701" in suppress.known_codes()
