"""``statesafe audit --fix``: apply the byte-preserving rewrites of :mod:`statesafe.auditor.fixshapes`.

Kept apart from the matcher because libcst's codemod machinery (for adding
``import statesafe``) costs ~0.2 s to import: only ``--fix`` pays it.
"""

from __future__ import annotations

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import MetadataWrapper, PositionProvider

from statesafe.auditor.fixshapes import Match, handles_read_later, match_statement


class _Fixer(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, wanted: set[tuple[int, int]]):
        super().__init__()
        self.wanted = wanted
        self.done: set[tuple[int, int]] = set()
        self.replace: dict[int, Match] = {}
        self.unsafe: set[int] = set()  # with statements whose handle is read after them

    def _wanted(self, match: Match | None) -> bool:
        if match is None:
            return False
        start = self.get_metadata(PositionProvider, match.sink).start
        key = (start.line, start.column)
        if key in self.wanted:
            self.done.add(key)
            return True
        return False

    def visit_Module(self, node: cst.Module) -> None:
        self.unsafe |= handles_read_later(node.body)

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self.unsafe |= handles_read_later(node.body)

    def visit_With(self, node: cst.With) -> None:
        match = match_statement(node) if id(node) not in self.unsafe else None
        if self._wanted(match):
            self.replace[id(node)] = match

    def visit_Expr(self, node: cst.Expr) -> None:
        match = match_statement(node)
        if self._wanted(match):
            self.replace[id(node)] = match

    def leave_With(self, original: cst.With, updated: cst.With):
        match = self.replace.get(id(original))
        if match is None:
            return updated
        return cst.SimpleStatementLine(body=[cst.Expr(match.replacement)], leading_lines=updated.leading_lines)

    def leave_Expr(self, original: cst.Expr, updated: cst.Expr):
        match = self.replace.get(id(original))
        return updated.with_changes(value=match.replacement) if match else updated


def fix_source(path: str, source: bytes, findings: list) -> bytes | None:
    """``source`` with every fixable finding rewritten, or None when nothing was fixed.

    Only findings that carry a fix (the engine sets ``Finding.fix`` where the
    rewrite keeps behaviour for that file's class) and sit exactly on a matched
    shape are touched; ``import statesafe`` is added when needed.
    """
    wanted = {(f.line, f.column) for f in findings if f.fix}
    if not wanted:
        return None
    try:
        module = cst.parse_module(source)
    except (cst.ParserSyntaxError, RecursionError, UnicodeDecodeError):
        return None
    fixer = _Fixer(wanted)
    updated = MetadataWrapper(module, unsafe_skip_copy=True).visit(fixer)
    if not fixer.done:
        return None
    context = CodemodContext(filename=path)
    AddImportsVisitor.add_needed_import(context, "statesafe")
    updated = AddImportsVisitor(context).transform_module(updated)
    return updated.bytes
