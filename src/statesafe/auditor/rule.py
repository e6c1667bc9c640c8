"""The Rule base class and the example cases every rule carries (Fixit's model).

A rule does not walk the tree itself: the engine parses each file once and
extracts every path operation into a summary; a rule states which operations on
which class of policy file it reports (``FILE_CLASSES`` x ``ACTIONS``). Rules
with a wider view (multi-file writes, compiled fields, manifests, unanalyzable
files) are invoked by the engine by name. The docstring is the rule's
documentation (ruff's sections), and the cases are both its tests and its docs.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import ClassVar

from statesafe.policy import FileClass

#: where a case's code lives in the tree the test builds (beside a FAILSAFE.md-default policy)
CASE_PATH = "skill/scripts/case.py"


@dataclass(frozen=True)
class Valid:
    """Code the rule must not report."""

    code: str | bytes
    path: str = CASE_PATH
    #: other files of the audited tree, by path (helpers, constants modules)
    files: dict[str, str] = field(default_factory=dict)
    strict: bool = False


@dataclass(frozen=True)
class Invalid(Valid):
    """Code the rule must report, on ``line`` when given; ``via`` names the call site ("path:line")."""

    line: int | None = None
    via: str | None = None
    #: what ``--fix`` makes of ``code``; giving it declares the rule fixable
    expected_replacement: str | None = None


class Rule:
    """Base of every rule. Subclasses set the class attributes below and a docstring."""

    CODE: ClassVar[str]
    NAME: ClassVar[str]  # kebab-case, names the bad pattern ("allow raw-write-to-destructive-file")
    MESSAGE: ClassVar[str]  # str.format'ed with api, target, file_class
    FILE_CLASSES: ClassVar[frozenset[FileClass]] = frozenset()
    ACTIONS: ClassVar[frozenset[str]] = frozenset()
    VALID: ClassVar[list[Valid]] = []
    INVALID: ClassVar[list[Invalid]] = []
    AUTOFIX: ClassVar[bool] = False
    #: reported only under ``statesafe audit --strict``
    STRICT_ONLY: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.AUTOFIX = any(case.expected_replacement is not None for case in cls.INVALID)

    @classmethod
    def doc(cls) -> str:
        """The rule's documentation in markdown (ruff's sections), from its docstring."""
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def summary(cls) -> str:
        """One sentence: the first paragraph under "What it does"."""
        match = re.search(r"## What it does\s*\n(.+?)(?:\n\s*\n|\Z)", cls.doc(), re.S)
        return " ".join(match.group(1).split()) if match else cls.MESSAGE

    @classmethod
    def message(cls, **fields) -> str:
        return cls.MESSAGE.format(**fields)
