"""The auditor's analysis: a per-file phase and a cross-module phase.

    summarize(path, source, policy) -> ModuleSummary   # one libcst parse, one metadata wrapper, one walk
    resolve(summaries, policy, strict=False) -> list[Finding]

``summarize`` never raises on bad input: a file that cannot be analyzed yields
a summary carrying an FS9xx finding. Its result is picklable and holds no
libcst nodes, so the runner can cache it by content hash and compute it in a
process pool. ``resolve`` follows paths through constants, imports, argparse
defaults and visible call sites across the summaries, and reports each raw
write with the call site (``via``) that makes it reach a policy file.

The runner's prefilter (runner.py) decides which files reach ``summarize``; the
engine resolves targets only from literals of the summaries it is given.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Sequence
from dataclasses import replace

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from statesafe.auditor import manifest
from statesafe.auditor.extract import Extractor
from statesafe.auditor.resolve import Resolver, could_be_policy_name, display, is_resolved, sink_texts
from statesafe.auditor.rules import RULES
from statesafe.auditor.summary import ModuleSummary, Sink
from statesafe.auditor.types import Finding
from statesafe.names import BACKUP_MARK
from statesafe.policy import FileClass, Policy

__all__ = ["RULES", "ModuleSummary", "resolve", "summarize"]

#: (file class, action) -> the rules reporting it; built from the rules' own declarations
DISPATCH: dict[tuple[FileClass, str], list] = {}
for _rule in RULES.values():
    for _cls in _rule.FILE_CLASSES:
        for _action in _rule.ACTIONS:
            DISPATCH.setdefault((_cls, _action), []).append(_rule)

#: actions that change a file without statesafe (FS801 reports them when unresolved)
RAW_ACTIONS = frozenset({"write", "append", "append-chunked", "touch", "rename-onto", "copy-onto", "delete",
                         "truncate", "shell-write", "shell-append", "shell-copy-onto", "shell-move-onto",
                         "shell-move-away", "shell-delete", "shell-touch", "remove-tree", "shell-remove-tree"})
#: actions whose target is a folder removed with everything in it
TREE_ACTIONS = frozenset({"remove-tree", "shell-remove-tree"})
#: actions that rewrite a file as a whole, counted by the multi-file rule (FS501); shell commands too
#: (`sed -i`, `>`, `cp`/`mv` onto it): a write run through a subprocess fails half-way all the same
REWRITE_ACTIONS = frozenset({"write", "rename-onto", "copy-onto", "statesafe-write", "truncate", "shell-write",
                             "shell-copy-onto", "shell-move-onto"})
#: which fix applies to which class: statesafe.write never to logs (it refuses them), nor to compiled
#: files (it checks their metadata, so moving a write there changes behaviour)
FIXABLE = {FileClass.DESTRUCTIVE: "statesafe.write(", FileClass.COMPANION: "statesafe.write("}


_TOO_DEEP = re.compile(r"too many nested|too many levels|too complex|recursion", re.I)


def reported(file_class: FileClass, action: str) -> bool:
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
        return _unanalyzable(path, "FS902", _reason(exc), _error_line(source, exc))
    # CPython's parser first: it refuses deep nesting with an exception, where libcst's native
    # parser would overflow the C stack and kill the process. It also words syntax errors better.
    python_error = tree = None
    try:
        tree = compile(text, path, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except (RecursionError, MemoryError):
        return _unanalyzable(path, "FS903", "too deep", 1)
    except SyntaxError as exc:
        if _TOO_DEEP.search(exc.msg or ""):
            return _unanalyzable(path, "FS903", exc.msg, exc.lineno or 1)
        python_error = exc  # maybe only newer syntax than this interpreter's: libcst decides
    except ValueError as exc:  # null bytes
        return _unanalyzable(path, "FS901", str(exc), 1)
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        if python_error is not None:
            return _unanalyzable(path, "FS901", f"{python_error.msg} (line {python_error.lineno})",
                                 python_error.lineno or 1)
        return _unanalyzable(path, "FS901", f"{exc.message} (line {exc.raw_line})", exc.raw_line)
    except RecursionError:
        return _unanalyzable(path, "FS903", "too deep", 1)
    extractor = Extractor(path)
    try:
        module.visit(extractor)
        positions = _call_positions(text, tree, extractor.call_nodes)
        if positions is None:
            found = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
            positions = [_range(found[node]) for node in extractor.call_nodes]
    except RecursionError:
        return _unanalyzable(path, "FS903", "too deep", 1)
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


def _reason(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"{exc.encoding} cannot decode byte {exc.object[exc.start]:#04x} at offset {exc.start}"
    return str(exc)


def _error_line(source: bytes, exc: Exception) -> int:
    if isinstance(exc, UnicodeDecodeError):
        return source.count(b"\n", 0, exc.start) + 1
    return 1


def _unanalyzable(path: str, code: str, reason: str, line: int) -> ModuleSummary:
    rule = RULES[code]
    finding = Finding(path, max(line, 1), 0, max(line, 1), 0, code, rule.NAME, rule.message(api=reason))
    return ModuleSummary(path=path, kind="skipped", findings=[finding])


# --- the cross-module phase --------------------------------------------------------------------

def resolve(summaries: Sequence[ModuleSummary], policy: Policy, *, strict: bool = False) -> list[Finding]:
    """Findings for the audited tree: direct ones (FS6xx, FS9xx) and every write that reaches a policy file."""
    resolver = Resolver(summaries, policy)
    findings: set[Finding] = set()
    for summary in summaries:
        findings.update(summary.findings)
    multi = _MultiFile(resolver)
    for mod in resolver.modules:
        for fq, func in mod.functions.items():
            for sink in func.sinks:
                findings.update(_sink_findings(resolver, mod, fq, func, sink, strict))
            finding = multi.finding(mod, func)
            if finding:
                findings.add(finding)
    return sorted(findings)


def _finding(mod: ModuleSummary, position: tuple, rule, *, fix=None, via=None, **fields) -> Finding:
    line, column, end_line, end_column = position
    return Finding(mod.path, line, column, end_line, end_column, rule.CODE, rule.NAME, rule.message(**fields),
                   target=fields.get("target"), file_class=fields.get("file_class"), fix=fix, via=via)


def _sink_findings(resolver: Resolver, mod, fq, func, sink: Sink, strict: bool):
    reported_codes: set[str] = set()
    unresolved = None
    classified = False
    for action, text, via, how in sink_texts(resolver, mod, fq, sink):
        file_class = resolver.classify(text, tree=action in TREE_ACTIONS)
        if file_class is None:
            if (unresolved is None and action in RAW_ACTIONS and action != "rename-away" and not is_resolved(text)
                    and could_be_policy_name(text, resolver.policy)):
                unresolved = text
            continue
        classified = True
        target = display(text) if action not in TREE_ACTIONS else f"{display(text).rstrip('/')}/* (the whole folder)"
        for rule in DISPATCH.get((file_class, action), ()):
            if rule.CODE in reported_codes:
                continue
            if action == "rename-onto" and _backed_up(resolver, mod, fq, func, sink, text):
                continue
            reported_codes.add(rule.CODE)
            fix = sink.fix if sink.fix and sink.fix.startswith(FIXABLE.get(file_class, "\0")) else None
            api = sink.api if how is None else f"{sink.api}: {how}"
            yield _finding(mod, sink.position, rule, api=api, target=target, file_class=file_class.value,
                           fix=fix, via=via)
        if (file_class is FileClass.COMPILED and sink.data is not None and "FS403" not in reported_codes
                and action in ("statesafe-write", "tx-write", "write")):
            missing = _missing_fields(resolver, mod, fq, sink, text)
            if missing:
                reported_codes.add("FS403")
                yield _finding(mod, sink.position, RULES["FS403"], target=target, missing=", ".join(missing),
                               file_class=file_class.value, via=via)
    if strict and not classified and unresolved is not None:
        yield _finding(mod, sink.position, RULES["FS801"], api=sink.api, target=display(unresolved))


def _backed_up(resolver: Resolver, mod, fq, func, sink: Sink, text: str) -> bool:
    """Whether the target is copied to a ``.bak-`` sibling on every path before this rename.

    The copy may sit in the same function, in a helper it calls first, or, when the
    target is a parameter, in every caller that passes this file, before the call.
    """
    return _backs_up_before(resolver, mod, fq, func, sink.target, text, sink.order, depth=0)


def _backs_up_before(resolver: Resolver, mod, fq, func, target, text: str, order: int, depth: int) -> bool:
    def same(value) -> bool:
        return value == target or text in {t for t, _ in resolver.texts(value, mod, fq, None)}

    for other in func.sinks:
        if (other.action == "copy-onto" and other.order < order and resolver.always(other.conditional, mod)
                and _is_backup_name(resolver.texts(other.target, mod, fq, None)) and same(other.other)):
            return True
    for call in func.calls:
        if call.order >= order or not resolver.always(call.conditional, mod):
            continue
        for name in call.callees:
            for gmod, g, bound in resolver.callees(name, mod, call.method):
                for param in _backup_params(resolver, gmod, g):
                    value = resolver.argument(call, g, param, bound)
                    if value is not None and same(value):
                        return True
    if target[0] != "param" or target[1] != fq or depth >= 3:
        return False
    sites = []
    for cmod, cq, call, bound in resolver.callers.get((mod.path, fq), []):
        value = resolver.argument(call, func, target[2], bound)
        if value is not None and text in {t for t, _ in resolver.texts(value, cmod, cq, None)}:
            sites.append((cmod, cq, call, value))
    return bool(sites) and all(
        _backs_up_before(resolver, cmod, cq, cmod.functions[cq], value, text, call.order, depth + 1)
        for cmod, cq, call, value in sites)


def _is_backup_name(texts) -> bool:
    return any(BACKUP_MARK in t.rstrip("/").rsplit("/", 1)[-1] for t, _ in texts)


def _backup_params(resolver: Resolver, gmod, g) -> list[str]:
    """Parameters a helper always copies to a ``.bak-`` sibling (``def backup(path): shutil.copy2(path, ...)``)."""
    env = _symbolic_env(g)
    return [other.other[2] for other in g.sinks
            if other.action == "copy-onto" and other.other and other.other[0] == "param"
            and other.other[1] == g.qualname and resolver.always(other.conditional, gmod)
            and _is_backup_name(resolver.texts(other.target, gmod, g.qualname, env))]


def _symbolic_env(g) -> dict:
    return {p: ((f"\x01{p}\x01", None),) for p in g.params}


def _missing_fields(resolver: Resolver, mod, fq, sink: Sink, text: str) -> list[str] | None:
    """Required fields the written content visibly lacks; None when the content cannot be seen."""
    required = resolver.policy.compiled_fields
    structures = resolver.structures(sink.data, mod, fq, None, 0)
    if structures:
        missing_per_candidate = []
        for value, m, f, e in structures:
            if value[0] != "dict":
                return None
            keys = {k for k, _ in value[1]}
            if None in keys:
                return None
            for k, meta in value[1]:
                if k == "_meta":
                    metas = resolver.structures(meta, m, f, e, 0)
                    if not metas or any(s[0][0] != "dict" or None in {mk for mk, _ in s[0][1]} for s in metas):
                        return None
                    keys |= {mk for s in metas for mk, _ in s[0][1]}
            missing_per_candidate.append([field for field in required if field not in keys])
        return missing_per_candidate[0] if all(missing_per_candidate) else None
    if not text.endswith(".md"):
        return None
    for content, _ in resolver.texts(sink.data, mod, fq, None):
        if content.startswith("\x00"):
            return None
        if not content.startswith("---"):
            return list(required)
        end = content.find("\n---", 3)
        front = content[3:end] if end != -1 else content
        missing = [field for field in required if field not in front]
        if missing and "\x00" not in front:
            return missing
    return None


class _MultiFile:
    """FS501: the destructive files a function rewrites, itself or through helpers, outside a transaction."""

    def __init__(self, resolver: Resolver):
        self.resolver = resolver
        self.memo: dict = {}
        self.reports_memo: dict = {}

    def writes(self, mod, g, env, depth: int = 0) -> list[str]:
        """Destructive texts written (outside a transaction) by calling ``g`` with ``env``."""
        key = (mod.path, g.qualname, tuple(sorted(env.items())))
        if key in self.memo:
            return self.memo[key]
        self.memo[key] = []
        found = [t for _, texts, _ in self.sites(mod, g, env, depth) for t in texts]
        self.memo[key] = found
        return found

    def sites(self, mod, g, env, depth) -> list[tuple]:
        """(position, destructive texts, the call or None) for each write or call in ``g``."""
        resolver = self.resolver
        out = []
        for sink in g.sinks:
            if (sink.action in REWRITE_ACTIONS or sink.action == "shell") and not sink.in_transaction:
                texts = [(text, via) for action, text, via, _ in sink_texts(resolver, mod, g.qualname, sink, env)
                         if action in REWRITE_ACTIONS]
                out.append((sink.position, self.destructive(texts), None))
        if depth < 4:
            for call in g.calls:
                if call.in_transaction:
                    continue
                texts = []
                for name in call.callees:
                    for gmod, callee, bound in resolver.callees(name, mod, call.method):
                        genv = resolver.bind(call, mod, g.qualname, env, gmod, callee, bound)
                        texts.extend(self.writes(gmod, callee, genv, depth + 1))
                out.append((call.position, list(dict.fromkeys(texts)), call))
        return out

    def destructive(self, texts) -> list[str]:
        return [t for t, _ in texts if self.resolver.classify(t) is FileClass.DESTRUCTIVE]

    def reports(self, mod, g) -> tuple | None:
        key = (mod.path, g.qualname)
        if key in self.reports_memo:
            return self.reports_memo[key]
        self.reports_memo[key] = None
        sites = sorted(self.sites(mod, g, _symbolic_env(g), 0), key=lambda s: s[0])
        seen: list[str] = []
        second_at = None
        for site in sites:
            for text in site[1]:
                if text not in seen:
                    seen.append(text)
                    if len(seen) == 2:
                        second_at = site[0]
        result = None
        if len(seen) >= 2:
            covered_by_callee = any(
                site[2] is not None and set(seen) <= set(site[1]) and any(
                    self.reports(gmod, callee) for name in site[2].callees
                    for gmod, callee, _ in self.resolver.callees(name, mod, site[2].method))
                for site in sites)
            if not covered_by_callee:
                result = (tuple(seen), second_at)
        self.reports_memo[key] = result
        return result

    def finding(self, mod, g) -> Finding | None:
        result = self.reports(mod, g)
        if result is None:
            return None
        written, position = result
        shown = [display(text) for text in written]
        files = ", ".join(shown[:-1]) + " and " + shown[-1]
        return _finding(mod, position, RULES["FS501"], files=files, target=shown[1],
                        file_class=FileClass.DESTRUCTIVE.value)
