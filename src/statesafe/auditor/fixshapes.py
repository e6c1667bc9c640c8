"""The raw writes ``--fix`` can rewrite into ``statesafe.write`` without changing a byte.

Plain libcst node matching (no codemod, no matchers: those cost ~0.2 s to
import, and the engine calls this on every parsed file to say whether a
finding has a fix; only ``--fix`` loads :mod:`statesafe.auditor.fix`).

``statesafe.write`` writes a str as UTF-8 and bytes as given, so every rewrite
hands it exactly the text the original wrote:

    with open(T, "w", encoding="utf-8") as f: json.dump(D, f, **kw)[; f.write(S2)]
        -> statesafe.write(T, json.dumps(D, **kw)[ + S2])
    with open(T, "w", encoding="utf-8") as f: f.write(S)[; f.write(S2)]   -> statesafe.write(T, S[ + S2])
    with open(T, "wb") as f: f.write(B)                                   -> statesafe.write(T, B)
    json.dump(D, open(T, "w", ...), **kw)                                 -> statesafe.write(T, json.dumps(D, **kw))
    open(T, "w", ...).write(S)                                            -> statesafe.write(T, S)
    Path(T).write_text(S, encoding="utf-8")  /  P.write_bytes(B)          -> statesafe.write(T, S)

``json.dumps`` takes the same keyword arguments as ``json.dump`` and returns
what it would have written (``cls=`` excepted: not fixed). A text handle needs ``encoding="utf-8"`` unless
what it writes is ASCII whatever the locale: ``json.dump`` without
``ensure_ascii=False`` and ASCII string literals. Text mode's newline
translation is the identity on POSIX (``os.linesep == "\\n"``), the platforms
statesafe supports. Appends are never rewritten: ``statesafe.append`` adds
``run_id`` and ``timestamp`` to the record, so the log's lines would change.
Left alone as well: other ``open`` arguments (``newline=``, ``errors=``,
buffering), modes ``x``/``+``/``a``, a ``with`` whose handle the written data
mentions or that is read after the block. One difference is not checked: inside a
``with`` the data is computed after ``open`` truncated T, so data that reads T
itself saw an empty file before the fix and sees the old content after it.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

_EMPTY = cst.Module(body=[])
_UTF8 = {"utf-8", "utf8", "UTF-8", "UTF8"}
_TEXT_WRITE, _BINARY_WRITE = ("w", "wt", "tw"), ("wb", "bw")


@dataclass(frozen=True)
class Match:
    sink: cst.Call  # the node the finding is reported at
    replacement: cst.BaseExpression  # the statesafe call replacing the statement's expression

    @property
    def description(self) -> str:
        return _EMPTY.code_for_node(self.replacement)


@dataclass(frozen=True)
class _Opened:
    call: cst.Call
    target: cst.BaseExpression
    mode: str
    utf8: bool  # an explicit UTF-8 encoding (text mode); otherwise the locale's


@dataclass(frozen=True)
class _Text:
    """What a write hands the file, as an expression statesafe.write accepts, and whether it is ASCII."""

    expression: cst.BaseExpression
    ascii: bool


def _string(node) -> str | None:
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _ascii_literal(node) -> bool:
    value = _string(node)
    return value is not None and value.isascii()


def _dotted(node) -> str | None:
    """The name as spelled (``json.dump``), over libcst nodes. guard/pycode.py has the same walk over
    stdlib ``ast`` nodes (``Name.id``, ``attr`` a str): the guard must not import libcst, and the
    fix works on libcst's tree, so the two cannot share one."""
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


def _encoding(call: cst.Call, allowed: set[str]) -> bool | None:
    """None if the call has arguments beyond ``allowed``; else whether it names UTF-8 (None for another)."""
    kwargs = _kwargs(call)
    if set(kwargs) - allowed:
        return None
    encoding = kwargs.get("encoding")
    if encoding is None:
        return False
    return True if _string(encoding) in _UTF8 else None


def _opened(node) -> _Opened | None:
    """``open(T, mode)``, ``io.open(...)`` or ``P.open(mode)`` with only mode and encoding."""
    if not isinstance(node, cst.Call):
        return None
    args = _positional(node)
    if args is None:
        return None
    utf8 = _encoding(node, {"mode", "encoding"})
    if utf8 is None:
        return None
    mode_node = _kwargs(node).get("mode")
    if _dotted(node.func) in ("open", "io.open") and 1 <= len(args) <= 2:
        target = args[0]
        rest = args[1:]
    elif (isinstance(node.func, cst.Attribute) and node.func.attr.value == "open" and len(args) <= 1
          and _path_target(node.func.value)):
        target = _path_target(node.func.value)
        rest = args
    else:
        return None
    if rest and mode_node is not None:
        return None
    mode = _string(rest[0] if rest else mode_node) if (rest or mode_node is not None) else "r"
    return _Opened(node, target, mode, utf8) if mode else None


def _path_target(node) -> cst.BaseExpression | None:
    """What to hand statesafe for a path receiver: ``Path(x)`` gives x, anything else itself."""
    if isinstance(node, cst.Call) and _dotted(node.func) in ("Path", "pathlib.Path"):
        args = _positional(node)
        return args[0] if args and len(args) == 1 and not _kwargs(node) else None
    if isinstance(node, (cst.Name, cst.Attribute, cst.BinaryOperation, cst.Call)):
        return node
    return None


def _json_dump(node, handle_ok) -> _Text | None:
    """``json.dumps(D, **kw)`` for ``json.dump(D, <handle>, **kw)``: the same text, in one string."""
    if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
            and node.func.attr.value == "dump" and _dotted(node.func) == "json.dump"):
        return None
    args = _positional(node)
    if args is None or len(args) != 2 or "cls" in _kwargs(node) or not handle_ok(args[1]):
        return None  # cls: an encoder class may override encode() (dumps) but not iterencode() (dump)
    keywords = [a for a in node.args if a.keyword is not None]
    ensure_ascii = _kwargs(node).get("ensure_ascii")
    ascii_only = ensure_ascii is None or (isinstance(ensure_ascii, cst.Name) and ensure_ascii.value == "True")
    dumps = cst.Call(func=node.func.with_changes(attr=cst.Name("dumps")),
                     args=[cst.Arg(args[0].deep_clone())] + [a.deep_clone() for a in keywords])
    return _Text(_strip_trailing_comma(dumps), ascii_only)


def _strip_trailing_comma(call: cst.Call) -> cst.Call:
    if call.args and call.args[-1].comma is not cst.MaybeSentinel.DEFAULT:
        return call.with_changes(args=[*call.args[:-1], call.args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)])
    return call


def _write_of(node, handle: str) -> cst.BaseExpression | None:
    """S for ``<handle>.write(S)``."""
    if (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "write"
            and isinstance(node.func.value, cst.Name) and node.func.value.value == handle):
        args = _positional(node)
        if args is not None and len(args) == 1 and not _kwargs(node):
            return args[0]
    return None


def _write_call(target, data: cst.BaseExpression) -> cst.Call:
    return cst.Call(func=cst.Attribute(cst.Name("statesafe"), cst.Name("write")),
                    args=[cst.Arg(target.deep_clone()), cst.Arg(data.deep_clone())])


_ATOMS = (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.SimpleString, cst.ConcatenatedString,
          cst.FormattedString)


def _concat(text: cst.BaseExpression, tail: cst.BaseExpression) -> cst.BaseExpression:
    """``text + tail``, parenthesising ``text`` unless ``+`` cannot bind into it."""
    if not isinstance(text, _ATOMS) and not text.lpar:
        text = text.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return cst.BinaryOperation(left=text, operator=cst.Add(), right=tail.deep_clone())


def _expressions(block) -> list[cst.BaseExpression] | None:
    """The expressions of a block made only of expression statements."""
    if isinstance(block, cst.SimpleStatementSuite):
        small = list(block.body)
    elif isinstance(block, cst.IndentedBlock):
        small = []
        for statement in block.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                return None
            small.extend(statement.body)
    else:
        return None
    if not all(isinstance(s, cst.Expr) for s in small):
        return None
    return [s.value for s in small]


def match_statement(node: cst.CSTNode) -> Match | None:
    """The byte-preserving rewrite for a ``with`` or expression statement, or None.

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


def _fits(opened: _Opened, text: _Text) -> bool:
    """Whether statesafe.write's UTF-8 gives the bytes the handle would have written."""
    return opened.utf8 or text.ascii


def _match_with(node: cst.With) -> Match | None:
    if len(node.items) != 1 or node.asynchronous:
        return None
    item = node.items[0]
    opened = _opened(item.item)
    if not opened or not item.asname or not isinstance(item.asname.name, cst.Name):
        return None
    handle = item.asname.name.value
    body = _expressions(node.body)
    if not body or len(body) > 2:
        return None
    is_handle = lambda n: isinstance(n, cst.Name) and n.value == handle  # noqa: E731
    if opened.mode in _BINARY_WRITE:
        data = _write_of(body[0], handle) if len(body) == 1 else None
        if data is None or handle in _names(data):
            return None
        return Match(opened.call, _write_call(opened.target, data))
    if opened.mode not in _TEXT_WRITE:
        return None
    text = _json_dump(body[0], is_handle)
    if text is None:
        written = _write_of(body[0], handle)
        text = _Text(written, _ascii_literal(written)) if written is not None else None
    if text is None:
        return None
    if len(body) == 2:
        tail = _write_of(body[1], handle)
        if tail is None or _string(tail) is None:
            return None
        text = _Text(_concat(text.expression, tail), text.ascii and _ascii_literal(tail))
    if handle in _names(text.expression) or not _fits(opened, text):
        return None
    return Match(opened.call, _write_call(opened.target, text.expression))


def _match_expr(value) -> Match | None:
    if not isinstance(value, cst.Call):
        return None
    func = value.func
    if isinstance(func, cst.Attribute) and func.attr.value in ("write_text", "write_bytes"):
        target = _path_target(func.value)
        args = _positional(value)
        if target is None or args is None or len(args) != 1:
            return None
        if func.attr.value == "write_bytes":
            return None if _kwargs(value) else Match(value, _write_call(target, args[0]))
        utf8 = _encoding(value, {"encoding"})
        if utf8 is None or not (utf8 or _ascii_literal(args[0])):
            return None
        return Match(value, _write_call(target, args[0]))
    if isinstance(func, cst.Attribute) and func.attr.value == "write":
        opened = _opened(func.value)
        args = _positional(value)
        if not opened or args is None or len(args) != 1 or _kwargs(value):
            return None
        if opened.mode in _BINARY_WRITE or (opened.mode in _TEXT_WRITE and (opened.utf8 or _ascii_literal(args[0]))):
            return Match(opened.call, _write_call(opened.target, args[0]))
        return None
    inline: list[_Opened] = []
    text = _json_dump(value, lambda n: bool(_opened(n)) and inline.append(_opened(n)) is None)
    if text is not None and inline and inline[0].mode in _TEXT_WRITE and _fits(inline[0], text):
        return Match(inline[0].call, _write_call(inline[0].target, text.expression))
    return None
