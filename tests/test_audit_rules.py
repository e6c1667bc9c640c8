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


def _rule_modules():
    import importlib
    import pkgutil

    import statesafe.auditor.rules as package

    for info in pkgutil.iter_modules(package.__path__):
        yield importlib.import_module(f"{package.__name__}.{info.name}")


def test_every_rule_module_is_one_whole_rule():
    """A rule file is the whole rule: one Rule class per module under auditor/rules/, listed in RULES,
    whose detection is its own: a FILE_CLASSES x ACTIONS table, or a check hook defined in that module."""
    seen = set()
    for module in _rule_modules():
        classes = [v for v in vars(module).values()
                   if isinstance(v, type) and issubclass(v, Rule) and v.__module__ == module.__name__]
        assert len(classes) == 1, (module.__name__, classes)
        rule = classes[0]
        assert RULES[rule.CODE] is rule
        seen.add(rule.CODE)
        assert rule.declarative() or rule.hooks(), f"{rule.CODE} has no detection of its own"
        assert not (rule.FILE_CLASSES and not rule.ACTIONS) and not (rule.ACTIONS and not rule.FILE_CLASSES)
        for hook in rule.hooks():
            assert getattr(rule, hook).__func__.__module__ == module.__name__, (rule.CODE, hook)
    assert seen == set(RULES)


def test_the_engine_names_no_rule():
    """The engine, manifest and suppression passes dispatch over rule classes: no rule is looked up by
    its code, nor a code compared against (messages and docs may show one as an example)."""
    import ast
    from pathlib import Path

    import statesafe.auditor as auditor

    folder = Path(auditor.__file__).parent
    for name in ("engine.py", "manifest.py", "suppress.py", "resolve.py", "extract.py", "runner.py", "formats.py"):
        source = (folder / name).read_text(encoding="utf-8")
        assert 'RULES["FS' not in source and "RULES['FS" not in source, name
        tree = ast.parse(source)
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body
                      and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
        spelled = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)
                   and isinstance(node.value, str) and id(node) not in docstrings
                   and re.fullmatch(r"FS\d{3}", node.value)]
        assert not spelled, (name, spelled)


def test_each_unanalyzable_file_is_claimed_by_one_rule():
    """The FS9xx hooks split the failures between them: never two findings for one file."""
    from statesafe.auditor.testing import audit_files

    for rule in RULES.values():
        if rule.check_unanalyzable is None:
            continue
        for case in rule.INVALID:
            findings = audit_files({case.path: case.code})
            assert [f.code for f in findings] == [rule.CODE], (rule.CODE, findings)
