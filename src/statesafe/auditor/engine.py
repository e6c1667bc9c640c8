"""The auditor's analysis: a per-file phase, a cross-module phase, and the rules' dispatch.

    summarize(path, source, policy) -> ModuleSummary   # one libcst parse, one walk
    resolve(summaries, policy, strict=False) -> list[Finding]

``summarize`` never raises on bad input: a file that cannot be decoded, parsed
or walked yields a summary carrying the finding of the rule that claims the
failure (the rules' ``check_unanalyzable`` hooks, FS9xx); a SKILL.md goes to
manifest.py (``check_manifest`` hooks, FS6xx). A Python file becomes a
ModuleSummary (summary.py): every operation on a path it makes (a *sink*),
every call that may reach a function of the audited tree, and what names hold,
as symbolic values (values.py). It is picklable and holds no libcst nodes, so
the runner can cache it by content hash and compute it in a process pool.

``resolve`` builds a Resolver (resolve.py) over the summaries, which follows
paths through constants, imports, argparse defaults and visible call sites, and
then, for each function of each module:

* for each sink, resolves its targets (a shell command expands into the
  operations it runs), classifies each under the policy, and reports it for
  every declarative rule whose FILE_CLASSES x ACTIONS table holds it (unless
  the rule's ``exempt`` hook lets it pass), then calls every ``check_sink``
  hook with the sink and its targets;
* calls every ``check_function`` hook.

The engine names no rule: it knows them by their tables and hooks (rule.py).
Findings carry the call site (``via``) that makes a target a policy file.

Actions, the vocabulary of the tables (extract.py and shell.py produce them):
``write``, ``append``, ``append-chunked`` (a log record written in pieces),
``touch``, ``truncate``, ``delete``, ``rename-onto``, ``rename-away``,
``copy-onto``, ``remove-tree`` (a folder and all in it), ``statesafe-write``,
``statesafe-append``, ``tx-write`` (in a transaction), and for shell commands
run from Python ``shell-write``, ``shell-append``, ``shell-touch``,
``shell-delete``, ``shell-copy-onto``, ``shell-move-onto``, ``shell-move-away``,
``shell-remove-tree``.

The runner's prefilter (runner.py) decides which files reach ``summarize``; the
engine resolves targets only from literals of the summaries it is given.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator, Sequence
from dataclasses import replace

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from statesafe.auditor import manifest
from statesafe.auditor.extract import Extractor
from statesafe.auditor.resolve import Resolver, display, is_resolved, sink_texts
from statesafe.auditor.rule import ParseFailure, Rule, Run, SinkSite, Target
from statesafe.auditor.rules import RULES
from statesafe.auditor.summary import ModuleSummary, Sink
from statesafe.auditor.types import Finding
from statesafe.policy import FileClass, Policy

__all__ = ["RULES", "ModuleSummary", "resolve", "summarize"]

#: (file class, action) -> the declarative rules reporting it, from their own tables
DISPATCH: dict[tuple[FileClass, str], list[type[Rule]]] = {}
for _rule in RULES.values():
    for _cls in _rule.FILE_CLASSES:
        for _action in _rule.ACTIONS:
            DISPATCH.setdefault((_cls, _action), []).append(_rule)

#: hook name -> the rules defining it, in code order
HOOKED: dict[str, list[type[Rule]]] = {
    hook: [rule for rule in RULES.values() if getattr(rule, hook) is not None]
    for hook in ("check_unanalyzable", "check_manifest", "check_sink", "check_function")}

#: actions whose target is a folder removed with everything in it: classified by the policy files it
#: holds (Policy.classify_tree), and named "folder/* (the whole folder)" in messages
TREE_ACTIONS = frozenset({"remove-tree", "shell-remove-tree"})


def reported(file_class: FileClass, action: str) -> bool:
    """Whether a declarative rule reports ``action`` on a file of ``file_class``."""
    return bool(DISPATCH.get((file_class, action)))


# --- the per-file phase ---------------------------------------------------------------------

def summarize(path: str, source: bytes, policy: Policy) -> ModuleSummary:
    """Everything the cross-module phase needs from one ``.py`` file or ``SKILL.md``."""
    if manifest.is_manifest(path):
        return manifest.summarize(path, source, policy, reported)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
        text = source.decode(encoding)
    except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
        return _unanalyzable(ParseFailure(path, source, "decode", exc))
    # CPython's parser first: it refuses deep nesting with an exception, where libcst's native
    # parser would overflow the C stack and kill the process. It also words syntax errors better.
    python_error = tree = None
    try:
        tree = compile(text, path, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:  # ValueError: null bytes
        skipped = _unanalyzable(ParseFailure(path, source, "compile", exc), required=not isinstance(exc, SyntaxError))
        if skipped is not None:
            return skipped
        python_error = exc  # unclaimed, maybe only newer syntax than this interpreter's: libcst decides
    try:
        module = cst.parse_module(text)
    except (cst.ParserSyntaxError, RecursionError) as exc:
        return _unanalyzable(ParseFailure(path, source, "parse", exc, python_error))
    extractor = Extractor(path)
    try:
        module.visit(extractor)
        positions = _call_positions(text, tree, extractor.call_nodes)
        if positions is None:
            found = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
            positions = [_range(found[node]) for node in extractor.call_nodes]
    except RecursionError as exc:
        return _unanalyzable(ParseFailure(path, source, "walk", exc))
    summary = extractor.result
    for function in summary.functions.values():
        function.sinks = [replace(s, position=positions[s.position[0]]) for s in function.sinks]
        function.calls = [replace(c, position=positions[c.position[0]]) for c in function.calls]
    summary.module = ".".join(p for p in re.sub(r"(/__init__)?\.py$", "", path).split("/") if p not in ("", ".", ".."))
    return summary


def _range(r) -> tuple:
    return (r.start.line, r.start.column, r.end.line, r.end.column)


def _call_positions(text: str, tree: ast.Module | None, calls: list[cst.Call]) -> list[tuple] | None:
    """libcst positions of ``calls`` (in walk order) read off CPython's AST, parsed anyway.

    Both trees hold the same calls; sorted by start (outer call first on a tie) the AST's
    are in libcst's walk order. Each mapping is checked against the callee's first name;
    on any doubt (newer syntax, a mismatch) the caller falls back to libcst's
    PositionProvider, which costs a walk of its own.
    """
    if tree is None:
        return None
    nodes = sorted((n for n in ast.walk(tree) if isinstance(n, ast.Call)),
                   key=lambda n: (n.lineno, n.col_offset, -n.end_lineno, -n.end_col_offset))
    if len(nodes) != len(calls):
        return None
    lines = text.splitlines()
    out = []
    for node, call in zip(nodes, calls):
        start_line, end_line = node.lineno, node.end_lineno
        if start_line > len(lines) or end_line > len(lines):
            return None
        start = _column(lines[start_line - 1], node.col_offset)
        head = call.func
        while isinstance(head, (cst.Attribute, cst.Call, cst.Subscript)):
            head = head.value if not isinstance(head, cst.Call) else head.func
        if (isinstance(head, cst.Name) and not call.lpar and not head.lpar
                and not lines[start_line - 1].startswith(head.value, start)):
            return None
        out.append((start_line, start, end_line, _column(lines[end_line - 1], node.end_col_offset)))
    return out


def _column(line: str, utf8_offset: int) -> int:
    """CPython counts columns in UTF-8 bytes, libcst in characters."""
    return utf8_offset if line.isascii() else len(line.encode("utf-8")[:utf8_offset].decode("utf-8", "replace"))


def _unanalyzable(failure: ParseFailure, required: bool = True) -> ModuleSummary | None:
    """The summary of a file that cannot be analysed: the finding of the rule that claims the failure.

    None when no rule claims it and it is not ``required`` (a syntax error CPython's parser
    reports may be syntax newer than this interpreter's, left for libcst to judge).
    """
    for rule in HOOKED["check_unanalyzable"]:
        finding = rule.check_unanalyzable(failure)
        if finding is not None:
            return ModuleSummary(path=failure.path, kind="skipped", findings=[finding])
    if required:
        raise failure.error
    return None


# --- the cross-module phase --------------------------------------------------------------------

def resolve(summaries: Sequence[ModuleSummary], policy: Policy, *, strict: bool = False) -> list[Finding]:
    """Findings for the audited tree: the summaries' own (FS6xx, FS9xx), then the rules' over every
    sink and function of the tree's modules."""
    resolver = Resolver(summaries, policy)
    run = Run(resolver, strict)
    sink_rules = [rule for rule in HOOKED["check_sink"] if strict or not rule.STRICT_ONLY]
    function_rules = [rule for rule in HOOKED["check_function"] if strict or not rule.STRICT_ONLY]
    findings: set[Finding] = set()
    for summary in summaries:
        findings.update(summary.findings)
    for mod in resolver.modules:
        for fq, func in mod.functions.items():
            for sink in func.sinks:
                site = SinkSite(run, mod, fq, func, sink, targets(resolver, mod, fq, sink))
                findings.update(_table_findings(site))
                for rule in sink_rules:
                    findings.update(rule.check_sink(site))
            for rule in function_rules:
                findings.update(rule.check_function(run, mod, func))
    return sorted(findings, key=Finding.order)


def targets(resolver: Resolver, mod: ModuleSummary, fq: str, sink: Sink) -> list[Target]:
    """What a sink of function ``fq`` acts on, resolved and classified."""
    out = []
    for action, text, via, how in sink_texts(resolver, mod, fq, sink):
        tree = action in TREE_ACTIONS
        file_class = resolver.classify(text, tree=tree)
        shown = None
        if file_class is not None:
            shown = f"{display(text).rstrip('/')}/* (the whole folder)" if tree else display(text)
        elif not tree and not is_resolved(text):  # logs/<date>.md: reported when every value is a policy file
            partial = resolver.partial(text)
            if partial is not None and partial[1]:
                file_class, shown = partial[0], f"{display(text)} (any name {partial[2]})"
        out.append(Target(action, text, via, how, file_class, shown))
    return out


def _table_findings(site: SinkSite) -> Iterator[Finding]:
    """The declarative rules' findings on one sink: each rule at most once per sink."""
    done: set[type[Rule]] = set()
    for target in site.targets:
        if target.file_class is None:
            continue
        for rule in DISPATCH.get((target.file_class, target.action), ()):
            if rule in done or (rule.STRICT_ONLY and not site.run.strict):
                continue
            if rule.exempt is not None and rule.exempt(site, target):
                continue
            done.add(rule)
            yield site.finding(rule, api=site.api(target), target=target.shown, file_class=target.file_class.value,
                               fix=site.sink.fix if rule.AUTOFIX else None, via=target.via)
