"""Every rule's own VALID / INVALID cases, one test each (Fixit's model)."""

from __future__ import annotations

import pickle
import re

import pytest

from statesafe.auditor.engine import summarize
from statesafe.auditor.rule import Rule
from statesafe.auditor.rules import RULES
from statesafe.auditor.testing import case_findings, case_fix
from statesafe.policy import default_policy

VALID = [pytest.param(rule, case, id=f"{code}-valid-{i}")
         for code, rule in RULES.items() for i, case in enumerate(rule.VALID)]
INVALID = [pytest.param(rule, case, id=f"{code}-invalid-{i}")
           for code, rule in RULES.items() for i, case in enumerate(rule.INVALID)]


@pytest.mark.parametrize("rule, case", VALID)
def test_valid_case_is_not_reported(rule, case):
    assert [f for f in case_findings(case) if f.code == rule.CODE] == []


@pytest.mark.parametrize("rule, case", INVALID)
def test_invalid_case_is_reported(rule, case):
    findings = case_findings(case)
    mine = [f for f in findings if f.code == rule.CODE]
    assert mine, f"{rule.CODE} not reported; got {findings}"
    first = mine[0]
    assert first.name == rule.NAME and first.path == case.path
    if case.line is not None:
        assert first.line == case.line
    if case.via is not None:
        assert first.via == case.via
    if case.expected_replacement is not None:
        assert first.fix, "a fixable case must carry its fix in the finding"
        assert case_fix(case, findings) == case.expected_replacement


def test_rules_are_well_formed():
    names = set()
    for code, rule in RULES.items():
        assert issubclass(rule, Rule) and rule.CODE == code
        assert re.fullmatch(r"FS\d{3}", code)
        assert re.fullmatch(r"[a-z]+(-[a-z]+)+", rule.NAME) and rule.NAME not in names
        names.add(rule.NAME)
        doc = rule.doc()
        for section in ("## What it does", "## Why is this bad?", "## Example", "Use instead", "## Fix safety"):
            assert section in doc, (code, section)
        assert rule.VALID and rule.INVALID, code
        assert rule.AUTOFIX == any(c.expected_replacement is not None for c in rule.INVALID)


def test_summaries_pickle_and_hold_no_libcst_nodes():
    source = RULES["FS102"].INVALID[1].code.encode()
    summary = summarize("skill/scripts/case.py", source, default_policy())
    data = pickle.dumps(summary)
    assert b"libcst" not in data
    assert pickle.loads(data) == summary
