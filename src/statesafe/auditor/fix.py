"""``statesafe audit --fix``: rewrite the common raw writes into statesafe calls.

Only shapes whose behaviour the rewrite keeps are matched (the engine uses the
same matcher to say, per finding, whether a fix exists):

    with open(T, "w") as f: json.dump(D, f[, indent=..., ensure_ascii=...])   -> statesafe.write(T, D)
        (optionally followed by f.write("\\n"): statesafe.write ends JSON with a newline)
    with open(T, "w") as f: f.write(S)                                         -> statesafe.write(T, S)
    json.dump(D, open(T, "w"))  /  open(T, "w").write(S)                       -> statesafe.write(T, ...)
    Path(T).write_text(S[, encoding="utf-8"])  /  P.write_bytes(B)            -> statesafe.write(T, S)
    with open(L, "a") as f: json.dump(R, f); f.write("\\n")                     -> statesafe.append(L, R)
    with open(L, "a") as f: f.write(json.dumps(R)); f.write("\\n")              -> statesafe.append(L, R)

``statesafe.write`` serialises a dict or list as JSON with indent 2, non-ASCII
kept and a trailing newline: the file holds the same JSON value, its layout may
change. Anything with other arguments (``sort_keys``, ``default=``, ``newline=``,
an encoding other than UTF-8, mode ``x`` or ``+``) is left alone, and so is a
``with`` block whose handle is read after it.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import MetadataWrapper, PositionProvider

_EMPTY = cst.Module(body=[])
_UTF8 = {"utf-8", "utf8", "UTF-8", "UTF8"}


@dataclass(frozen=True)
class Match:
    sink: cst.Call  # the node the finding is reported at
    replacement: cst.BaseExpression  # the statesafe call replacing the statement's expression

    @property
    def description(self) -> str:
        return _EMPTY.code_for_node(self.replacement)


def _string(node) -> str | None:
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _dotted(node) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


def _kwargs(call: cst.Call) -> dict[str, cst.BaseExpression]:
    return {a.keyword.value: a.value for a in call.args if a.keyword is not None}


def _positional(call: cst.Call) -> list[cst.BaseExpression] | None:
    if any(a.star for a in call.args):
        return None
    return [a.value for a in call.args if a.keyword is None]


def _encoding_ok(call: cst.Call, allowed: set[str]) -> bool:
    extra = set(_kwargs(call)) - allowed
    encoding = _kwargs(call).get("encoding")
    return not extra and (encoding is None or _string(encoding) in _UTF8)


def _opened(node) -> tuple[cst.Call, cst.BaseExpression, str] | None:
    """(open call, target, mode) for ``open(T, mode)`` or ``P.open(mode)``."""
    if not isinstance(node, cst.Call):
        return None
    args = _positional(node)
    if args is None:
        return None
    mode_node = _kwargs(node).get("mode")
    if _dotted(node.func) in ("open", "io.open"):
        if not args or not _encoding_ok(node, {"mode", "encoding"}):
            return None
        mode_node = mode_node if mode_node is not None else (args[1] if len(args) > 1 else None)
        target = args[0]
    elif isinstance(node.func, cst.Attribute) and node.func.attr.value == "open" and _path_target(node.func.value):
        if not _encoding_ok(node, {"mode", "encoding"}):
            return None
        mode_node = mode_node if mode_node is not None else (args[0] if args else None)
        target = _path_target(node.func.value)
    else:
        return None
    mode = _string(mode_node) if mode_node is not None else "r"
    return (node, target, mode) if mode else None


def _path_target(node) -> cst.BaseExpression | None:
    """What to hand statesafe for a path receiver: ``Path(x)`` gives x, anything else itself."""
    if isinstance(node, cst.Call) and _dotted(node.func) in ("Path", "pathlib.Path"):
        args = _positional(node)
        return args[0] if args and len(args) == 1 and not _kwargs(node) else None
    if isinstance(node, (cst.Name, cst.Attribute, cst.BinaryOperation, cst.Call)):
        return node
    return None


def _json_dump(node, handle_ok) -> cst.BaseExpression | None:
    """D for ``json.dump(D, <handle>)`` with only layout arguments."""
    if not (isinstance(node, cst.Call) and _dotted(node.func) == "json.dump"):
        return None
    args = _positional(node)
    if args is None or len(args) != 2 or set(_kwargs(node)) - {"indent", "ensure_ascii"}:
        return None
    return args[0] if handle_ok(args[1]) else None


def _json_dumps(node) -> cst.BaseExpression | None:
    if isinstance(node, cst.Call) and _dotted(node.func) == "json.dumps":
        args = _positional(node)
        if args is not None and len(args) == 1 and not set(_kwargs(node)) - {"indent", "ensure_ascii"}:
            return args[0]
    return None


def _write_of(node, handle: str) -> cst.BaseExpression | None:
    """S for ``<handle>.write(S)``."""
    if (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "write"
            and isinstance(node.func.value, cst.Name) and node.func.value.value == handle):
        args = _positional(node)
        if args is not None and len(args) == 1 and not _kwargs(node):
            return args[0]
    return None


def _call(name: str, target, data) -> cst.Call:
    return cst.Call(func=cst.Attribute(cst.Name("statesafe"), cst.Name(name)),
                    args=[cst.Arg(target.deep_clone()), cst.Arg(data.deep_clone())])


def _expressions(block) -> list[cst.BaseExpression] | None:
    """The expressions of a block made only of expression statements."""
    if not isinstance(block, cst.IndentedBlock):
        if isinstance(block, cst.SimpleStatementSuite):
            small = block.body
        else:
            return None
    else:
        small = []
        for statement in block.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                return None
            small.extend(statement.body)
    if not all(isinstance(s, cst.Expr) for s in small):
        return None
    return [s.value for s in small]


def match_statement(node: cst.CSTNode) -> Match | None:
    """The safe rewrite for a ``with`` or expression statement, or None.

    A ``with`` block is only safe to rewrite when its handle is not read after
    it: callers check that with :func:`handles_read_later` on the enclosing block.
    """
    if isinstance(node, cst.With):
        return _match_with(node)
    if isinstance(node, cst.Expr):
        return _match_expr(node.value)
    return None


class _Names(cst.CSTVisitor):
    def __init__(self):
        self.names: set[str] = set()

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)


def _names(node: cst.CSTNode) -> set[str]:
    finder = _Names()
    node.visit(finder)
    return finder.names


def _rebinds(statement: cst.CSTNode, handle: str) -> bool:
    if isinstance(statement, cst.With):
        return any(item.asname and isinstance(item.asname.name, cst.Name) and item.asname.name.value == handle
                   and handle not in _names(item.item) for item in statement.items)
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
        small = statement.body[0]
        return (isinstance(small, cst.Assign) and handle not in _names(small.value)
                and any(isinstance(t.target, cst.Name) and t.target.value == handle for t in small.targets))
    return False


def handles_read_later(body) -> set[int]:
    """ids of the fixable ``with`` statements of a block whose handle the block reads afterwards."""
    unsafe = set()
    for index, statement in enumerate(body):
        if isinstance(statement, cst.With) and _match_with(statement):
            handle = statement.items[0].asname.name.value
            for later in body[index + 1:]:
                if _rebinds(later, handle):
                    break
                if handle in _names(later):
                    unsafe.add(id(statement))
                    break
    return unsafe


def _match_with(node: cst.With) -> Match | None:
    if len(node.items) != 1 or node.asynchronous:
        return None
    item = node.items[0]
    opened = _opened(item.item)
    if not opened or not item.asname or not isinstance(item.asname.name, cst.Name):
        return None
    call, target, mode = opened
    handle = item.asname.name.value
    body = _expressions(node.body)
    if not body:
        return None
    is_handle = lambda n: isinstance(n, cst.Name) and n.value == handle  # noqa: E731
    if mode in ("w", "wt", "wb") and 1 <= len(body) <= 2:
        newline = len(body) == 2 and _string(_write_of(body[1], handle)) == "\n"
        data = _json_dump(body[0], is_handle) if mode != "wb" and (len(body) == 1 or newline) else None
        if data is None and len(body) == 1:
            data = _write_of(body[0], handle)
        if data is not None:
            return Match(call, _call("write", target, data))
    if mode in ("a", "at") and 1 <= len(body) <= 2:
        newline = len(body) == 2 and _string(_write_of(body[1], handle)) == "\n"
        if len(body) == 2 and not newline:
            return None
        record = _json_dump(body[0], is_handle)
        if record is None:
            record = _json_dumps(_write_of(body[0], handle))
            if record is not None and not newline:
                return None
        if record is None and len(body) == 1:
            record = _line_record(_write_of(body[0], handle))
        if record is not None:
            return Match(call, _call("append", target, record))
    return None


def _line_record(node) -> cst.BaseExpression | None:
    """R for ``json.dumps(R) + "\\n"``."""
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add) and _string(node.right) == "\n":
        return _json_dumps(node.left)
    return None


def _match_expr(value) -> Match | None:
    if not isinstance(value, cst.Call):
        return None
    func = value.func
    if isinstance(func, cst.Attribute) and func.attr.value in ("write_text", "write_bytes"):
        target = _path_target(func.value)
        args = _positional(value)
        if target is None or args is None or len(args) != 1 or not _encoding_ok(value, {"encoding"}):
            return None
        return Match(value, _call("write", target, args[0]))
    if isinstance(func, cst.Attribute) and func.attr.value == "write":
        opened = _opened(func.value)
        args = _positional(value)
        if opened and args is not None and len(args) == 1 and not _kwargs(value):
            call, target, mode = opened
            if mode in ("w", "wt", "wb"):
                return Match(call, _call("write", target, args[0]))
            record = _line_record(args[0])
            if mode in ("a", "at") and record is not None:
                return Match(call, _call("append", target, record))
        return None
    inline: list[tuple] = []
    data = _json_dump(value, lambda n: bool(_opened(n)) and inline.append(_opened(n)) is None)
    if data is not None and inline and inline[0][2] in ("w", "wt"):
        call, target, _ = inline[0]
        return Match(call, _call("write", target, data))
    return None


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
        match = _match_with(node) if id(node) not in self.unsafe else None
        if self._wanted(match):
            self.replace[id(node)] = match

    def visit_Expr(self, node: cst.Expr) -> None:
        match = _match_expr(node.value)
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
