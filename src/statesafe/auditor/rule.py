"""The Rule base class, the hooks the engine calls, and the example cases every rule carries.

A rule is one module under ``statesafe.auditor.rules`` holding one ``Rule``
subclass: its code, name and message, its documentation (the docstring, in
ruff's sections), its VALID / INVALID cases (its tests, and the examples of
docs/rules.md), and its detection. The engine parses each file once and hands
rules what it found; a rule never walks a syntax tree itself. Detection is one
of two forms:

* **Declarative**: ``FILE_CLASSES`` x ``ACTIONS``. Every operation on a path
  whose action is listed, aimed at a policy file of a listed class, is
  reported. An ``exempt`` hook may let some of them pass (a rename onto a file
  that was backed up first).
* **A check hook**, for rules that need a wider view. The engine calls each
  hook a rule defines at one point of the run:

  ==========================  ==================================================================
  ``check_sink(site)``        once per operation on a path, after its targets are resolved
                              (``SinkSite``)
  ``check_function(run, mod,  once per function (and module body) of the audited tree, in the
  func)``                     cross-module phase (``Run``)
  ``check_manifest(m)``       once per skill manifest, SKILL.md (``Manifest``)
  ``check_unanalyzable(f)``   when a file cannot be decoded, parsed or walked (``ParseFailure``);
                              at most one rule claims a failure
  ``check_suppressions(path,  once per file's suppression comments, once they have been applied
  comments, used)``
  ==========================  ==================================================================

  Each returns the findings (an iterable, or one Finding or None for
  ``check_unanalyzable``), built with ``Rule.finding``. A hook may keep state
  for the length of a run with ``Run.state``.

This module imports nothing heavy (no libcst): ``statesafe rule``, the output
formats and suppression comments load the rules without the engine.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from statesafe.auditor.types import Finding
from statesafe.policy import FileClass, Policy

if TYPE_CHECKING:
    from statesafe.auditor.resolve import Resolver
    from statesafe.auditor.summary import FunctionSummary, ModuleSummary, Sink

#: where a case's code lives in the tree the test builds (beside a FAILSAFE.md-default policy)
CASE_PATH = "skill/scripts/case.py"

#: the check hooks, in the order of a run; a rule defines its detection with one of them or
#: with FILE_CLASSES x ACTIONS
HOOKS = ("check_unanalyzable", "check_manifest", "check_sink", "check_function", "check_suppressions")


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
    """Base of every rule. Subclasses set the class attributes below, a docstring, and their detection."""

    CODE: ClassVar[str]
    NAME: ClassVar[str]  # kebab-case, names the bad pattern ("allow raw-write-to-destructive-file")
    MESSAGE: ClassVar[str]  # str.format'ed with the finding's fields (api, target, file_class, ...)
    FILE_CLASSES: ClassVar[frozenset[FileClass]] = frozenset()
    ACTIONS: ClassVar[frozenset[str]] = frozenset()
    VALID: ClassVar[list[Valid]] = []
    INVALID: ClassVar[list[Invalid]] = []
    #: whether ``--fix`` can rewrite what it reports: declared by giving an INVALID case an
    #: ``expected_replacement``; only such rules pass the extractor's fix on to their findings
    AUTOFIX: ClassVar[bool] = False
    #: reported only under ``statesafe audit --strict``
    STRICT_ONLY: ClassVar[bool] = False
    #: SARIF / GitHub annotation level
    LEVEL: ClassVar[str] = "error"

    # The hooks (see the module docstring); None where the rule does not define one.
    exempt: ClassVar[Callable[[SinkSite, Target], bool] | None] = None
    check_sink: ClassVar[Callable[[SinkSite], Iterable[Finding]] | None] = None
    check_function: ClassVar[Callable[[Run, ModuleSummary, FunctionSummary], Iterable[Finding]] | None] = None
    check_manifest: ClassVar[Callable[[Manifest], Iterable[Finding]] | None] = None
    check_unanalyzable: ClassVar[Callable[[ParseFailure], Finding | None] | None] = None
    check_suppressions: ClassVar[Callable[[str, list, set], Iterable[Finding]] | None] = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.AUTOFIX = any(case.expected_replacement is not None for case in cls.INVALID)

    @classmethod
    def hooks(cls) -> tuple[str, ...]:
        """The check hooks this rule defines."""
        return tuple(name for name in HOOKS if getattr(cls, name) is not None)

    @classmethod
    def declarative(cls) -> bool:
        """Whether the rule reports operations by its FILE_CLASSES x ACTIONS table."""
        return bool(cls.FILE_CLASSES and cls.ACTIONS)

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

    @classmethod
    def finding(cls, path: str, position: tuple, *, fix: str | None = None, via: str | None = None,
                **fields) -> Finding:
        """A finding of this rule at ``position`` (line, column, end line, end column); ``fields`` fill
        the message, and ``target`` / ``file_class`` among them are also kept on the finding."""
        line, column, end_line, end_column = position
        return Finding(path, line, column, end_line, end_column, cls.CODE, cls.NAME, cls.message(**fields),
                       target=fields.get("target"), file_class=fields.get("file_class"), fix=fix, via=via)


# --- what the hooks are given ------------------------------------------------------------------

class Run:
    """One cross-module phase (``engine.resolve``) as rules see it: the resolver over every summary
    of the audited tree, whether the run is strict, and per-rule state."""

    __slots__ = ("resolver", "strict", "_state")

    def __init__(self, resolver: Resolver, strict: bool):
        self.resolver = resolver
        self.strict = strict
        self._state: dict = {}

    def state(self, rule: type[Rule], make: Callable[[Resolver], Any]) -> Any:
        """What ``rule`` keeps for the length of the run (memos), made by ``make(resolver)`` on first use."""
        found = self._state.get(rule)
        if found is None:
            found = self._state[rule] = make(self.resolver)
        return found


@dataclass(frozen=True, slots=True)
class Target:
    """One path an operation acts on, as resolved. A shell command yields one per operation it runs."""

    action: str  # the operation on this path: see engine.py's actions
    text: str  # the candidate path (resolve.py: unknown parts "\\x00", symbolic parameters "\\x01name\\x01")
    via: str | None  # "path:line" of the call site that supplied it, when it came through a parameter
    how: str | None  # shell: the part of the command that does it ("`sed -i`"); None for Python calls
    file_class: FileClass | None  # the policy class of what it names; None: not a policy file, or unresolved
    shown: str | None  # how messages name it (a folder removed whole: "compiled/* (the whole folder)")


class SinkSite:
    """One operation on a path (a Sink of the summary) in its function, with its resolved targets."""

    __slots__ = ("run", "mod", "qualname", "func", "sink", "targets")

    def __init__(self, run: Run, mod: ModuleSummary, qualname: str, func: FunctionSummary, sink: Sink,
                 targets: list[Target]):
        self.run = run
        self.mod = mod
        self.qualname = qualname
        self.func = func
        self.sink = sink
        self.targets = targets

    @property
    def resolver(self) -> Resolver:
        return self.run.resolver

    def api(self, target: Target) -> str:
        """How messages name the call: the source's spelling, with the shell command's part."""
        return self.sink.api if target.how is None else f"{self.sink.api}: {target.how}"

    def finding(self, rule: type[Rule], *, fix: str | None = None, via: str | None = None, **fields) -> Finding:
        return rule.finding(self.mod.path, self.sink.position, fix=fix, via=via, **fields)


@dataclass(frozen=True)
class Manifest:
    """A skill manifest (SKILL.md), decoded."""

    path: str
    source: bytes
    lines: list[str]
    policy: Policy
    #: whether the rules report ``action`` on a file of a class (the declarative rules' tables)
    reported: Callable[[FileClass, str], bool]


@dataclass(frozen=True)
class ParseFailure:
    """Why a file could not be analysed, and at which stage of the per-file phase."""

    path: str
    source: bytes
    #: "decode" (its bytes), "compile" (CPython's parser, run first), "parse" (libcst), "walk" (the extractor)
    stage: str
    error: BaseException
    #: at "parse": what CPython's parser said, when it failed too (it words syntax errors better)
    earlier: BaseException | None = None

    def finding(self, rule: type[Rule], reason: str, line: int = 1) -> Finding:
        """The rule's finding for the whole file, on ``line``, giving ``reason`` as the message's api."""
        line = max(line or 1, 1)
        return rule.finding(self.path, (line, 0, line, 0), api=reason)
